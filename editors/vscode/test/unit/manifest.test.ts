import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CODECHAT_KINDS } from '../../src/protocol';

const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
const contributed: string[] = pkg.contributes.commands.map((c: { command: string }) => c.command);

test('a palette command per CodeChat kind, never under the server-owned tandem.<kind> ids', () => {
  for (const kind of CODECHAT_KINDS) {
    assert.ok(contributed.includes(`tandem.chat.${kind}`), kind);
    // vscode-languageclient registers the server's executeCommand ids; a clash fails activation.
    assert.ok(!contributed.includes(`tandem.${kind}`), kind);
  }
  assert.ok(!contributed.includes('tandem.status'));
});

test('menus only reference contributed commands', () => {
  for (const entry of Object.values(pkg.contributes.menus).flat() as { command: string }[]) {
    assert.ok(contributed.includes(entry.command), entry.command);
  }
});

test('context-menu entries are limited (never in every editor), and no GNOME-taken keys', () => {
  for (const entry of pkg.contributes.menus['editor/context'] as { command: string; when?: string }[]) {
    assert.ok(entry.when, `${entry.command} needs a when clause`);
  }
  const ask = pkg.contributes.menus['editor/context'].find((e: { command: string }) => e.command === 'tandem.chat.ask');
  assert.match(ask.when, /editorLangId in tandem\.languages/);
  // GNOME switches workspaces with Ctrl+Alt+arrows: VS Code never sees those keys there.
  for (const kb of pkg.contributes.keybindings as { key: string }[]) {
    assert.doesNotMatch(kb.key, /^ctrl\+alt\+(left|right|up|down)$/, kb.key);
  }
});
