import assert from 'node:assert/strict';
import { test } from 'node:test';
import { declareChatResult, isChatResult } from '../../src/protocol';

test('declareChatResult sets experimental.tandem.chatResult and keeps other experimental keys', () => {
  const empty: { experimental?: unknown } = {};
  declareChatResult(empty);
  assert.deepEqual(empty.experimental, { tandem: { chatResult: true } });
  const other = { experimental: { foo: 1, tandem: { bar: 'x' } } };
  declareChatResult(other);
  assert.deepEqual(other.experimental, { foo: 1, tandem: { bar: 'x', chatResult: true } });
});

test('isChatResult needs token and action, not just ok', () => {
  assert.equal(isChatResult({ ok: true, message: 'Explain started', pending: true, token: 't' }), false);
  assert.equal(isChatResult({ ok: true, message: 'done', token: 't', action: 'explain', uri: 'file:///a' }), true);
});
