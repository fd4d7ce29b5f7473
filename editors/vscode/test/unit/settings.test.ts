import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLIENT_SETTING_KEYS, SERVER_SETTING_KEYS, needsRestart, serverCommand, toServerSettings } from '../../src/settings';

const ROOT = join(__dirname, '..', '..', '..'); // out/test/unit → editors/vscode
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

test('package.json contributes exactly the server settings plus serverPath/serverArgs', () => {
  const contributed = Object.keys(pkg.contributes.configuration.properties).map((k) => k.replace(/^tandem\./, ''));
  assert.deepEqual(contributed.sort(), [...SERVER_SETTING_KEYS, ...CLIENT_SETTING_KEYS].sort());
});

test('toServerSettings keeps server keys, drops client keys, turns "" into null', () => {
  const values: Record<string, unknown> = {
    serverPath: '/usr/bin/tandem',
    serverArgs: ['lsp'],
    model: '/models/a',
    draftModel: '',
    maxTokens: 32,
    enable: { '*': true, markdown: false },
    apiKey: null,
  };
  assert.deepEqual(toServerSettings((k) => values[k]), {
    model: '/models/a',
    draftModel: null,
    maxTokens: 32,
    enable: { '*': true, markdown: false },
    apiKey: null,
  });
});

test('serverCommand defaults to `tandem lsp` and rejects malformed args', () => {
  assert.deepEqual(serverCommand(() => undefined), { command: 'tandem', args: ['lsp'] });
  const values: Record<string, unknown> = { serverPath: ' /venv/bin/python ', serverArgs: ['-m', 'lsp_server', 'lsp'] };
  assert.deepEqual(serverCommand((k) => values[k]), { command: '/venv/bin/python', args: ['-m', 'lsp_server', 'lsp'] });
  assert.deepEqual(serverCommand((k) => (k === 'serverArgs' ? [1, 2] : '')), { command: 'tandem', args: ['lsp'] });
});

test('only the server command needs a restart', () => {
  assert.equal(needsRestart('serverPath'), true);
  assert.equal(needsRestart('maxTokens'), false);
});
