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
