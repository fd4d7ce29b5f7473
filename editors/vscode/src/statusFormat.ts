// tandem/status → status bar text and tooltip. No `vscode` import (unit-tested).
import { TandemStatus } from './protocol';

export interface StatusView {
  text: string;
  tooltip: string;
  error: boolean;
}

const ICONS: Record<string, string> = {
  loading: '$(sync~spin)',
  generating: '$(sync~spin)',
  ready: '$(sparkle)',
  error: '$(error)',
  disabled: '$(circle-slash)',
  snoozed: '$(bell-slash)',
};

function isNum(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

export function formatStatus(status: TandemStatus | undefined): StatusView {
  if (!status) {
    return { text: '$(circle-outline) Tandem', tooltip: 'Tandem: not started', error: false };
  }
  const icon = ICONS[status.state] ?? '$(question)';
  const parts = [`${icon} Tandem`];
  const tip = [`Tandem: ${status.state}${status.message ? ` — ${status.message}` : ''}`];
  if (status.engine || status.model) {
    tip.push(`engine ${status.engine ?? '?'}, model ${status.model ?? '?'}`);
  }
  const req = status.request;
  if (req && status.state === 'ready') {
    if (isNum(req.latencyMs)) {
      parts.push(`${Math.round(req.latencyMs)}ms`);
    }
    if (req.cached) {
      parts.push('cached');
    }
    const s = req.stats ?? {};
    if (isNum(s.tokens_per_second) && s.tokens_per_second > 0) {
      parts.push(`${Math.round(s.tokens_per_second)} tok/s`);
    }
    if (isNum(s.acceptance_rate) && isNum(s.drafted_tokens) && s.drafted_tokens > 0) {
      parts.push(`spec ${Math.round(s.acceptance_rate * 100)}%`);
    }
    tip.push(
      `last ${req.kind} request: ${isNum(req.latencyMs) ? req.latencyMs.toFixed(0) : '?'} ms${req.cached ? ' (typeahead cache)' : ''}`,
    );
    if (s.strategy !== undefined) {
      tip.push(`strategy ${String(s.strategy)}, time to first token ${isNum(s.ttft_ms) ? s.ttft_ms.toFixed(0) : '?'} ms`);
    }
    if (isNum(s.drafted_tokens) && s.drafted_tokens > 0) {
      tip.push(`speculative: ${s.accepted_tokens ?? 0}/${s.drafted_tokens} drafted tokens accepted`);
    }
    if (isNum(s.prefix_tokens_reused)) {
      tip.push(`prompt tokens reused from cache: ${s.prefix_tokens_reused}`);
    }
  }
  const health = status.health;
  if (health?.state === 'slow') {
    parts.push('$(watch) slow');
    tip.push(`slow: ${health.reason ?? ''}${health.hint ? `\nhint: ${health.hint}` : ''}`);
  } else if (health?.state === 'error' && status.state !== 'error') {
    tip.push(`error: ${health.reason ?? ''}`);
  }
  const session = status.session;
  if (session && session.shown > 0) {
    const rate = isNum(session.acceptanceRate) ? `${Math.round(session.acceptanceRate * 100)}%` : '-';
    const p50 = isNum(session.latencyP50Ms) ? session.latencyP50Ms.toFixed(0) : '-';
    const p90 = isNum(session.latencyP90Ms) ? session.latencyP90Ms.toFixed(0) : '-';
    tip.push(
      `this session: ${session.shown} shown, ${session.accepted} accepted (+${session.partiallyAccepted} in part), ` +
        `acceptance ${rate}, ${session.acceptedChars} chars; latency p50 ${p50} / p90 ${p90} ms`,
    );
  }
  if (status.state === 'snoozed' && isNum(status.snoozedUntil)) {
    tip.push(`snoozed until ${new Date(status.snoozedUntil * 1000).toLocaleTimeString()}`);
  }
  tip.push('Click: enable / disable / snooze');
  return { text: parts.join(' '), tooltip: tip.join('\n'), error: status.state === 'error' || health?.state === 'error' };
}
