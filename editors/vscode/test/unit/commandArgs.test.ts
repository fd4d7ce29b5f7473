import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCommandArgs, instructionPrompt, resultMessage } from '../../src/commandArgs';

const uri = 'file:///w/a.py';

test('a selection becomes range; the cursor is always the position', () => {
  const args = buildCommandArgs(
    { uri, selection: { start: { line: 1, character: 0 }, end: { line: 3, character: 5 } }, cursor: { line: 3, character: 5 }, version: 4 },
    '  make it faster ',
  );
  assert.deepEqual(args, {
    uri,
    position: { line: 3, character: 5 },
    range: { start: { line: 1, character: 0 }, end: { line: 3, character: 5 } },
    instruction: 'make it faster',
    version: 4,
  });
});

test('an empty selection sends no range and a blank instruction is left out', () => {
  const p = { line: 2, character: 7 };
  assert.deepEqual(buildCommandArgs({ uri, selection: { start: p, end: p }, cursor: p }, '   '), { uri, position: p });
});

test('ask requires an instruction; explain asks none', () => {
  assert.equal(instructionPrompt('ask')?.required, true);
  assert.equal(instructionPrompt('refactor')?.required, false);
  assert.equal(instructionPrompt('explain'), undefined);
});

test('result messages name the command and the reason', () => {
  assert.equal(resultMessage('tandem.refactor', { ok: false, message: 'document changed', reason: 'stale' }), 'Tandem refactor: document changed (stale)');
  assert.equal(resultMessage('tandem.docs', { ok: true, message: '' }), 'Tandem docs: done');
});
