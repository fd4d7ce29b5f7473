import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatStatus } from '../../src/statusFormat';

test('ready status with speculative stats shows latency, tok/s and acceptance', () => {
  const view = formatStatus({
    state: 'ready',
    message: '',
    engine: 'local',
    model: '/m',
    request: {
      kind: 'inline',
      latencyMs: 41.6,
      cached: false,
      stats: { strategy: 'draft', ttft_ms: 12, tokens_per_second: 120.4, acceptance_rate: 0.875, drafted_tokens: 8, accepted_tokens: 7, prefix_tokens_reused: 200 },
    },
  });
  assert.equal(view.text, '$(sparkle) Tandem 42ms 120 tok/s spec 88%');
  assert.match(view.tooltip, /7\/8 drafted tokens accepted/);
  assert.match(view.tooltip, /reused from cache: 200/);
  assert.equal(view.error, false);
});

test('no drafted tokens: no acceptance shown; cached requests say so', () => {
  const view = formatStatus({ state: 'ready', request: { kind: 'inline', latencyMs: 2, cached: true, stats: {} } });
  assert.equal(view.text, '$(sparkle) Tandem 2ms cached');
});

test('loading, error and unknown', () => {
  assert.equal(formatStatus({ state: 'loading', message: 'loading model' }).text, '$(sync~spin) Tandem');
  const err = formatStatus({ state: 'error', message: 'no such model' });
  assert.equal(err.error, true);
  assert.match(err.tooltip, /no such model/);
  assert.equal(formatStatus(undefined).text, '$(circle-outline) Tandem');
});

test('slow health, session numbers and snooze appear', () => {
  const view = formatStatus({
    state: 'ready',
    health: { state: 'slow', reason: 'median 3000 ms', hint: 'try a GGUF model with the llama.cpp engine' },
    session: { suggestions: 4, shown: 4, accepted: 1, partiallyAccepted: 1, acceptedChars: 20, acceptanceRate: 0.5, latencyP50Ms: 3000, latencyP90Ms: 4000, speculativeAcceptance: null },
  });
  assert.match(view.text, /slow/);
  assert.match(view.tooltip, /llama\.cpp/);
  assert.match(view.tooltip, /acceptance 50%/);
  assert.match(view.tooltip, /p50 3000 \/ p90 4000 ms/);
  assert.match(formatStatus({ state: 'snoozed', snoozedUntil: 1e9 }).text, /bell-slash/);
  assert.equal(formatStatus({ state: 'ready', health: { state: 'error', reason: 'x' } }).error, true);
});
