// Drives the real `python -m lsp_server lsp` over stdio with the protocol library VS Code's client
// is built on, the way VS Code would: inline completions, tandem/status, configuration, commands.
import assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import {
  CodeActionRequest,
  ConfigurationParams,
  ExecuteCommandRequest,
  InitializeRequest,
  InlineCompletionList,
  InlineCompletionRequest,
  InlineCompletionTriggerKind,
  ProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  createProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import {
  CHAT_PROGRESS_NOTIFICATION,
  CHAT_RESULT_NOTIFICATION,
  ChatProgress,
  ChatResult,
  CodeChatResult,
  STATUS_NOTIFICATION,
  TandemStatus,
  declareChatResult,
} from '../src/protocol';
import { SERVER_SETTING_KEYS } from '../src/settings';
import { formatStatus } from '../src/statusFormat';

const EXT = resolve(__dirname, '..', '..'); // out/test → editors/vscode
const REPO = resolve(EXT, '..', '..');
const PYTHON = process.env.TANDEM_PYTHON ?? join(REPO, '.venv', 'bin', 'python');
const ENV = { ...process.env, PYTHONPATH: REPO, HF_HUB_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false' };
// Same tiny model as tests/editors/conftest.py: its random noise is often non-empty.
const BUILD_MODEL = (dir: string) =>
  `from inference.tiny_model import build_tiny_model; build_tiny_model(${JSON.stringify(dir)}, seed=1, num_layers=4, hidden_size=128)`;

let work: string;
let server: ChildProcess;
let conn: ProtocolConnection;
let stderr = '';
const statuses: TandemStatus[] = [];
const configRequests: ConfigurationParams[] = [];
const chatResults: ChatResult[] = [];
const chatProgress: ChatProgress[] = [];
const shownMessages: string[] = [];
let exitCode: Promise<number | null>;

function waitFor<T>(pred: () => T | undefined, ms: number, what: string): Promise<T> {
  return new Promise((res, rej) => {
    const t0 = Date.now();
    const tick = () => {
      const v = pred();
      if (v !== undefined) return res(v);
      if (Date.now() - t0 > ms) return rej(new Error(`timed out waiting for ${what}\n${stderr.slice(-2000)}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

before(() => {
  assert.ok(existsSync(PYTHON), `no Python at ${PYTHON} (set TANDEM_PYTHON)`);
  work = mkdtempSync(join(tmpdir(), 'tandem-vscode-'));
  Object.assign(ENV, { XDG_STATE_HOME: join(work, 'state') }); // the events log stays in here
  execFileSync(PYTHON, ['-c', BUILD_MODEL(join(work, 'model'))], { cwd: REPO, env: ENV, stdio: 'pipe' });
  server = spawn(PYTHON, ['-m', 'lsp_server', 'lsp', '--log-level', 'WARNING'], { cwd: REPO, env: ENV });
  server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  exitCode = new Promise((res) => server.on('exit', (code) => res(code)));
  conn = createProtocolConnection(new StreamMessageReader(server.stdout!), new StreamMessageWriter(server.stdin!));
  conn.onNotification(STATUS_NOTIFICATION, (s: TandemStatus) => void statuses.push(s));
  conn.onNotification('window/logMessage', () => undefined);
  conn.onNotification('window/showMessage', (p: { message: string }) => void shownMessages.push(p.message));
  conn.onNotification(CHAT_RESULT_NOTIFICATION, (r: ChatResult) => void chatResults.push(r));
  conn.onNotification(CHAT_PROGRESS_NOTIFICATION, (p: ChatProgress) => void chatProgress.push(p));
  conn.onRequest('workspace/configuration', (params: ConfigurationParams) => {
    configRequests.push(params);
    // What the extension answers: the `tandem` section without serverPath/serverArgs.
    return params.items.map(() => ({ model: join(work, 'model'), maxTokens: 12, chatMaxTokens: 16 }));
  });
  conn.onRequest('window/workDoneProgress/create', () => null);
  conn.onRequest('client/registerCapability', () => null);
  conn.onRequest('window/showDocument', () => ({ success: true }));
  conn.onRequest('workspace/applyEdit', () => ({ applied: false, failureReason: 'test client' }));
  conn.listen();
});

after(() => {
  conn?.dispose();
  if (server && server.exitCode === null) server.kill();
  if (work) rmSync(work, { recursive: true, force: true });
});

// VS Code 1.9x's relevant client capabilities (it sends no positionEncodings: UTF-16), plus what
// the extension's ChatResultFeature declares (client.ts).
const capabilities: { experimental?: unknown; [key: string]: unknown } = {
  workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true }, executeCommand: { dynamicRegistration: true } },
  window: { workDoneProgress: true, showDocument: { support: true }, showMessage: {} },
  textDocument: {
    synchronization: { dynamicRegistration: true, didSave: true },
    inlineCompletion: { dynamicRegistration: true },
    completion: { completionItem: { snippetSupport: true } },
    codeAction: {
      dynamicRegistration: true,
      isPreferredSupport: true,
      dataSupport: true,
      resolveSupport: { properties: ['edit'] },
      codeActionLiteralSupport: { codeActionKind: { valueSet: ['', 'quickfix', 'refactor', 'refactor.rewrite', 'source'] } },
    },
  },
};

declareChatResult(capabilities);

test('initialize advertises inline completion and UTF-16', { timeout: 120_000 }, async () => {
  const result = await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: `file://${work}`,
    workspaceFolders: [{ uri: `file://${work}`, name: 'w' }],
    capabilities,
    initializationOptions: { model: join(work, 'model'), maxTokens: 12, chatMaxTokens: 16 },
    clientInfo: { name: 'Visual Studio Code', version: '1.95.0' },
  });
  assert.ok(result.capabilities.inlineCompletionProvider, 'inlineCompletionProvider missing');
  assert.equal(result.capabilities.completionProvider, undefined, 'plain completion offered to an inline client');
  assert.ok([undefined, 'utf-16'].includes(result.capabilities.positionEncoding));
  assert.equal(result.serverInfo?.name, 'tandem');
  await conn.sendNotification('initialized', {});
  await waitFor(() => (configRequests.length ? true : undefined), 30_000, 'workspace/configuration');
  assert.equal(configRequests[0].items[0].section, 'tandem');
  await waitFor(() => statuses.find((s) => s.state === 'ready' || s.state === 'error'), 90_000, 'model load');
  assert.equal(statuses.at(-1)?.state, 'ready', JSON.stringify(statuses.at(-1)));
});

// Lines before the cursor; some have non-ASCII (UTF-16 positions differ from code points/bytes).
const CANDIDATES = ['print(', "s = '😀'; print(", 'z = {', "t = 'Привет' + ", 'x = ', 'def f(', 'import '];

test('inline completion: VS Code-shaped answers at UTF-16 positions, with tandem/status stats', { timeout: 180_000 }, async () => {
  let nonEmpty = 0;
  for (const [i, prefix] of CANDIDATES.entries()) {
    const uri = `file://${work}/cand${i}.py`;
    await conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'python', version: 1, text: prefix + '\n' } });
    const position = { line: 0, character: prefix.length }; // JS length = UTF-16 units
    const before = statuses.length;
    const answer = await conn.sendRequest(InlineCompletionRequest.type, {
      textDocument: { uri },
      position,
      context: { triggerKind: InlineCompletionTriggerKind.Automatic, selectedCompletionInfo: undefined },
    });
    if (answer === null) {
      continue;
    }
    const items = Array.isArray(answer) ? answer : (answer as InlineCompletionList).items;
    assert.ok(Array.isArray(items));
    for (const item of items) {
      assert.equal(typeof item.insertText, 'string');
      assert.ok((item.insertText as string).trim().length > 0, 'empty suggestion sent');
      assert.deepEqual(item.range, { start: position, end: position });
    }
    nonEmpty += items.length > 0 ? 1 : 0;
    const status = await waitFor(() => statuses.slice(before).find((s) => s.request?.kind === 'inline'), 10_000, 'tandem/status');
    assert.equal(status.state, 'ready');
    assert.equal(typeof status.request?.latencyMs, 'number');
    if (!status.request?.cached) {
      const stats = status.request?.stats ?? {};
      for (const key of ['strategy', 'ttft_ms', 'tokens_per_second', 'acceptance_rate', 'drafted_tokens', 'accepted_tokens', 'prefix_tokens_reused']) {
        assert.ok(key in stats, `stats.${key} missing: ${JSON.stringify(stats)}`);
      }
    }
    assert.match(formatStatus(status).text, /^\$\(sparkle\) Tandem \d+ms/);
  }
  assert.ok(nonEmpty > 0, 'no candidate produced a suggestion');
});

test('tandem.status command returns the last status', async () => {
  const result = await conn.sendRequest(ExecuteCommandRequest.type, { command: 'tandem.status', arguments: [] });
  assert.equal(result.state, 'ready');
});

test('CodeChat code actions are offered on a selection', { timeout: 30_000 }, async () => {
  const uri = `file://${work}/cand0.py`;
  const actions = await conn.sendRequest(CodeActionRequest.type, {
    textDocument: { uri },
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: 6 } },
    context: { diagnostics: [], triggerKind: 1 },
  });
  const titles = (actions ?? []).map((a) => a.title);
  for (const title of ['Tandem: Refactor', 'Tandem: Generate tests', 'Tandem: Generate docs', 'Tandem: Explain']) {
    assert.ok(titles.includes(title), `${title} not in ${JSON.stringify(titles)}`);
  }
});

test('tandem.explain answers at once, then ONE tandem/chatResult (no showMessage copy)', { timeout: 150_000 }, async () => {
  const uri = `file://${work}/cand5.py`; // 'def f(' from the inline test, still open
  const messagesBefore = shownMessages.length;
  const answer = (await conn.sendRequest(ExecuteCommandRequest.type, {
    command: 'tandem.explain',
    arguments: [{ uri, position: { line: 0, character: 3 }, version: 1 }],
  })) as CodeChatResult;
  assert.equal(answer.ok, true, JSON.stringify(answer));
  assert.equal(answer.pending, true, JSON.stringify(answer));
  assert.equal(typeof answer.token, 'string');
  const result = await waitFor(() => chatResults.find((r) => r.token === answer.token), 120_000, 'tandem/chatResult');
  assert.equal(result.action, 'explain');
  assert.equal(result.uri, uri);
  assert.equal(typeof result.message, 'string');
  if (result.ok) {
    assert.ok(result.markdown && result.markdown.trim(), JSON.stringify(result));
    const last = chatProgress.filter((p) => p.token === answer.token).at(-1);
    if (last) {
      assert.equal(last.done, true);
      assert.equal(last.text.trim(), result.markdown.trim());
    }
  } else {
    assert.ok(result.reason, JSON.stringify(result));
  }
  await new Promise((res) => setTimeout(res, 500)); // a late duplicate would land here
  assert.equal(chatResults.filter((r) => r.token === answer.token).length, 1);
  assert.deepEqual(
    shownMessages.slice(messagesBefore).filter((m) => /explain/i.test(m)),
    [],
    'the outcome was also sent as window/showMessage',
  );
});

test('shutdown and exit end the server cleanly', { timeout: 30_000 }, async () => {
  await conn.sendRequest('shutdown');
  await conn.sendNotification('exit');
  assert.equal(await exitCode, 0);
});

test('package.json defaults equal the server defaults (lsp_server/settings.py)', () => {
  const script =
    'import dataclasses, json, re; from lsp_server.settings import Settings; ' +
    "print(json.dumps({re.sub(r'_([a-z])', lambda m: m.group(1).upper(), k): v for k, v in dataclasses.asdict(Settings()).items()}))";
  const server = JSON.parse(execFileSync(PYTHON, ['-c', script], { cwd: REPO, env: ENV }).toString());
  assert.deepEqual(Object.keys(server).sort(), [...SERVER_SETTING_KEYS].sort());
  const props = JSON.parse(readFileSync(join(EXT, 'package.json'), 'utf8')).contributes.configuration.properties;
  for (const key of SERVER_SETTING_KEYS) {
    assert.deepEqual(props[`tandem.${key}`].default, server[key], `default of tandem.${key}`);
  }
});
