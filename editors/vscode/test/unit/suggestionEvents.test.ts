import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LANGUAGES, documentSelector } from '../../src/languages';
import { SuggestionTracker, codePoints, itemId } from '../../src/suggestionEvents';
import { menuChoices, toggleLanguage } from '../../src/toggles';

const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));

test('activation is per language, never onStartupFinished or "*"', () => {
  assert.deepEqual(pkg.activationEvents, LANGUAGES.map((l) => `onLanguage:${l}`));
  assert.ok(!documentSelector().some((s) => !('language' in s)));
  assert.ok(documentSelector().every((s) => ['file', 'untitled'].includes(s.scheme)));
});

test('item ids come from the server command argument', () => {
  assert.equal(itemId({ command: { arguments: [{ id: 's3' }] } }), 's3');
  assert.equal(itemId({}), undefined);
  assert.equal(itemId({ command: { arguments: ['x'] } }), undefined);
});

test('tracker: shown once, partial accept cumulative in code points', () => {
  const t = new SuggestionTracker();
  t.remember('file:///a.py', 10, [{ id: 's1', text: 'foo(bar😀)' }, { id: 's2', text: 'baz' }]);
  assert.deepEqual(t.toShow(), ['s1']);
  assert.deepEqual(t.toShow(), []);
  assert.deepEqual(t.partial('file:///a.py', 10, 'foo'), {
    method: 'tandem/didPartiallyAcceptCompletion',
    params: { id: 's1', acceptedLength: 3 },
  });
  assert.equal(t.partial('file:///a.py', 10, 'foo'), undefined); // nothing new
  assert.equal(t.partial('file:///a.py', 10, 'foo(bar😀)')?.params.acceptedLength, codePoints('foo(bar😀)'));
  assert.equal(codePoints('😀'), 1);
  assert.equal(t.partial('file:///a.py', 11, 'oo'), undefined); // another position
  assert.equal(t.partial('file:///b.py', 10, 'foo'), undefined);
  assert.equal(t.partial('file:///a.py', 10, 'nope'), undefined); // typed something else
});

test('status bar menu: enable/disable, per language, snooze/unsnooze', () => {
  const on = menuChoices(true, [], 'python', { state: 'ready' }).map((c) => c.action);
  assert.deepEqual(on.slice(0, 3), ['disable', 'toggleLanguage', 'snooze']);
  const off = menuChoices(false, ['python'], 'python', { state: 'snoozed' });
  assert.equal(off[0].action, 'enable');
  assert.match(off[1].label, /Enable suggestions for python/);
  assert.equal(off[2].action, 'unsnooze');
  assert.deepEqual(toggleLanguage(['markdown'], 'python'), ['markdown', 'python']);
  assert.deepEqual(toggleLanguage(['markdown', 'python'], 'python'), ['markdown']);
});
