// Protocol-level checks of what the extension relies on, against the real server, the way VS Code's
// client talks to it: several candidates on an explicit request (VS Code cycles them natively),
// show/accept/partial-accept notifications, session numbers and health in tandem/status, the local
// events log and `tandem stats`, run-time toggles (enabled, disabledLanguages), snooze, and a
// completionMode change applied through dynamic registration (no restart).
import assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import {
  CompletionRequest,
  ExecuteCommandRequest,
  InitializeRequest,
  InlineCompletionItem,
  InlineCompletionList,
  InlineCompletionRequest,
  InlineCompletionTriggerKind,
  ProtocolConnection,
  RegistrationParams,
  StreamMessageReader,
  StreamMessageWriter,
  UnregistrationParams,
  createProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import {
  DID_ACCEPT_NOTIFICATION,
  DID_PARTIALLY_ACCEPT_NOTIFICATION,
  DID_SHOW_NOTIFICATION,
  SNOOZE_COMMAND,
  STATUS_NOTIFICATION,
  TandemStatus,
} from '../src/protocol';
import { formatStatus } from '../src/statusFormat';
import { SuggestionTracker, itemId } from '../src/suggestionEvents';

const EXT = resolve(__dirname, '..', '..');
const REPO = resolve(EXT, '..', '..');
const PYTHON = process.env.TANDEM_PYTHON ?? join(REPO, '.venv', 'bin', 'python');
const ENV: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: REPO, HF_HUB_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false' };
const BUILD_MODEL = (dir: string) =>
  `from inference.tiny_model import build_tiny_model; build_tiny_model(${JSON.stringify(dir)}, seed=1, num_layers=4, hidden_size=128)`;
const PREFIXES = ['print(', 'z = {', 'x = ', 'def f(', 'import ', 'for i in ', 'return ', 'y = ['];

let work: string;
let server: ChildProcess;
let conn: ProtocolConnection;
let stderr = '';
const statuses: TandemStatus[] = [];
const registrations: string[] = [];
let events: string;
let uri = '';
let position = { line: 0, character: 0 };

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

const status = async (): Promise<TandemStatus> =>
  (await conn.sendRequest(ExecuteCommandRequest.type, { command: 'tandem.status', arguments: [] })) as TandemStatus;

async function inline(kind: InlineCompletionTriggerKind): Promise<InlineCompletionItem[]> {
  const answer = await conn.sendRequest(InlineCompletionRequest.type, {
    textDocument: { uri },
    position,
    context: { triggerKind: kind, selectedCompletionInfo: undefined },
  });
  if (answer === null) return [];
  return Array.isArray(answer) ? answer : (answer as InlineCompletionList).items;
}

async function configure(settings: object): Promise<void> {
  await conn.sendNotification('workspace/didChangeConfiguration', { settings: { tandem: settings } });
  await new Promise((r) => setTimeout(r, 300));
}

before(async () => {
  assert.ok(existsSync(PYTHON), `no Python at ${PYTHON} (set TANDEM_PYTHON)`);
  work = mkdtempSync(join(tmpdir(), 'tandem-vscode-features-'));
  ENV.XDG_STATE_HOME = join(work, 'state');
  events = join(work, 'events.jsonl');
  execFileSync(PYTHON, ['-c', BUILD_MODEL(join(work, 'model'))], { cwd: REPO, env: ENV, stdio: 'pipe' });
  server = spawn(PYTHON, ['-m', 'lsp_server', 'lsp', '--log-level', 'WARNING'], { cwd: REPO, env: ENV });
  server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  conn = createProtocolConnection(new StreamMessageReader(server.stdout!), new StreamMessageWriter(server.stdin!));
  conn.onNotification(STATUS_NOTIFICATION, (s: TandemStatus) => void statuses.push(s));
  conn.onNotification('window/logMessage', () => undefined);
  conn.onNotification('window/showMessage', () => undefined);
  conn.onRequest('workspace/configuration', () => [null]);
  conn.onRequest('window/workDoneProgress/create', () => null);
  conn.onRequest('client/registerCapability', (p: RegistrationParams) => {
    registrations.push(...p.registrations.map((r) => `+${r.method}`));
    return null;
  });
  conn.onRequest('client/unregisterCapability', (p: UnregistrationParams) => {
    registrations.push(...p.unregisterations.map((r) => `-${r.method}`));
    return null;
  });
  conn.listen();
  await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: `file://${work}`,
    workspaceFolders: [{ uri: `file://${work}`, name: 'w' }],
    capabilities: {
      workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } },
      window: { workDoneProgress: true },
      textDocument: { inlineCompletion: { dynamicRegistration: true }, completion: { dynamicRegistration: true } },
    },
    initializationOptions: { model: join(work, 'model'), maxTokens: 12, candidates: 3, eventsLog: events },
  });
  await conn.sendNotification('initialized', {});
});

after(async () => {
  try {
    await conn.sendRequest('shutdown');
    await conn.sendNotification('exit');
  } catch {
    /* already gone */
  }
  conn?.dispose();
  if (server && server.exitCode === null) server.kill();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('an explicit request returns several distinct candidates, greedy first', { timeout: 240_000 }, async () => {
  for (const [i, prefix] of PREFIXES.entries()) {
    uri = `file://${work}/c${i}.py`;
    await conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'python', version: 1, text: prefix + '\n' } });
    position = { line: 0, character: prefix.length };
    if ((await inline(InlineCompletionTriggerKind.Automatic)).length > 0) break;
  }
  const auto = await inline(InlineCompletionTriggerKind.Automatic);
  assert.equal(auto.length, 1, 'typing gets one suggestion');
  const invoked = await inline(InlineCompletionTriggerKind.Invoked);
  const texts = invoked.map((i) => i.insertText as string);
  assert.equal(texts[0], auto[0].insertText);
  assert.ok(texts.length >= 2 && texts.length <= 3, `candidates: ${JSON.stringify(texts)}`);
  assert.equal(new Set(texts.map((t) => t.trimEnd())).size, texts.length, 'duplicates');
  const ids = invoked.map((i) => itemId(i));
  assert.ok(ids.every((id) => typeof id === 'string') && new Set(ids).size === ids.length);
});

test('show / accept / partial-accept notifications feed the session numbers, log and tandem stats', { timeout: 60_000 }, async () => {
  const items = await inline(InlineCompletionTriggerKind.Invoked);
  const tracker = new SuggestionTracker();
  tracker.remember(uri, 0, items.map((i) => ({ id: itemId(i)!, text: i.insertText as string })));
  const [shown] = tracker.toShow();
  await conn.sendNotification(DID_SHOW_NOTIFICATION, { id: shown });
  await conn.sendNotification(DID_ACCEPT_NOTIFICATION, { id: shown });
  // a partial accept of another candidate: its shortest start that the first one does not share
  // (the tracker credits the first candidate that starts with what was typed)
  const first = items[0].insertText as string;
  const second = items.slice(1).find((i) => !first.startsWith(i.insertText as string))!;
  const text = second.insertText as string;
  let cut = 1;
  while (first.startsWith(text.slice(0, cut))) cut++;
  const word = text.slice(0, cut);
  const partial = tracker.partial(uri, 0, word)!;
  assert.equal(partial.params.id, itemId(second), 'the partial accept goes to the other candidate');
  assert.equal(partial.method, DID_PARTIALLY_ACCEPT_NOTIFICATION);
  await conn.sendNotification(partial.method, partial.params);
  await conn.sendNotification(DID_ACCEPT_NOTIFICATION, { id: 'no-such-id' }); // ignored
  const st = await waitFor(
    () => [...statuses].reverse().find((x) => x.session?.partiallyAccepted === 1),
    10_000,
    'status with the partial accept',
  );
  const session = st.session!;
  assert.equal(session.shown, 2);
  assert.equal(session.accepted, 1);
  assert.equal(session.acceptanceRate, 1);
  assert.equal(session.acceptedChars, [...(items[0].insertText as string)].length + [...word].length);
  assert.ok((session.latencyP50Ms ?? 0) > 0 && (session.latencyP90Ms ?? 0) >= (session.latencyP50Ms ?? 0));
  assert.match(formatStatus(st).tooltip, /acceptance 100%/);

  const lines = readFileSync(events, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual([...new Set(lines.map((e) => e.event))].sort(), ['accepted', 'partial', 'shown', 'suggestion']);
  const stats = JSON.parse(execFileSync(PYTHON, ['-m', 'lsp_server', 'stats', '--log', events, '--json'], { cwd: REPO, env: ENV }).toString());
  assert.equal(stats.total.shown, 2);
  assert.equal(stats.total.acceptanceRate, 1);
  assert.ok(stats.languages.python);
});

test('health: healthy under a generous threshold, slow with a hint under a tiny one', { timeout: 60_000 }, async () => {
  // the first requests include the model load (and a loaded CI machine): judge by threshold
  await configure({ slowLatencyMs: 1e9 });
  assert.equal((await status()).health?.state, 'healthy');
  await configure({ slowLatencyMs: 0.001 });
  for (let i = 0; i < 3; i++) {
    await conn.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 2 + i },
      contentChanges: [{ range: { start: position, end: position }, text: ' ' }],
    });
    position = { line: position.line, character: position.character + 1 };
    await inline(InlineCompletionTriggerKind.Automatic);
  }
  const health = (await status()).health!;
  assert.equal(health.state, 'slow', JSON.stringify(health));
  assert.match(health.hint ?? '', /llama\.cpp/);
  assert.match(formatStatus(await status()).text, /slow/);
  await configure({ slowLatencyMs: 1500 });
});

test('enabled / disabledLanguages apply at once; snooze and unsnooze', { timeout: 60_000 }, async () => {
  await configure({ enabled: false });
  assert.deepEqual(await inline(InlineCompletionTriggerKind.Invoked), []);
  assert.equal((await status()).state, 'disabled');
  await configure({ enabled: true, disabledLanguages: ['python'] });
  assert.deepEqual(await inline(InlineCompletionTriggerKind.Invoked), []);
  assert.deepEqual((await status()).disabledLanguages, ['python']);
  await configure({ disabledLanguages: [] });
  const snoozed = (await conn.sendRequest(ExecuteCommandRequest.type, { command: SNOOZE_COMMAND, arguments: [{ minutes: 30 }] })) as TandemStatus;
  assert.equal(snoozed.state, 'snoozed');
  assert.deepEqual(await inline(InlineCompletionTriggerKind.Automatic), []);
  await conn.sendRequest(ExecuteCommandRequest.type, { command: SNOOZE_COMMAND, arguments: [{ minutes: 0 }] });
  assert.ok((await inline(InlineCompletionTriggerKind.Automatic)).length >= 0);
  assert.notEqual((await status()).state, 'snoozed');
});

test('completionMode changes without a restart (dynamic registration)', { timeout: 60_000 }, async () => {
  await configure({ completionMode: 'completion' });
  await waitFor(() => (registrations.includes('+textDocument/completion') ? true : undefined), 10_000, 'registerCapability');
  assert.deepEqual(await inline(InlineCompletionTriggerKind.Invoked), []);
  const plain = await conn.sendRequest(CompletionRequest.type, { textDocument: { uri }, position });
  assert.ok(plain === null || 'items' in (plain as object) || Array.isArray(plain), 'plain completion answered');
  await configure({ completionMode: 'auto' });
  await waitFor(() => (registrations.includes('-textDocument/completion') ? true : undefined), 10_000, 'unregisterCapability');
});
