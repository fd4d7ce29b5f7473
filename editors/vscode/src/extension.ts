// Tandem for VS Code: starts `tandem lsp`; vscode-languageclient turns its inline completions
// into VS Code inline suggestions (Tab / Esc / Ctrl+→ are VS Code's own keys).
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  State,
} from 'vscode-languageclient/node';
import { SECTION, createClient, readSettings } from './client';
import { CodeChat } from './codechat';
import { NextEdit } from './nextEdit';
import {
  CHAT_PROGRESS_NOTIFICATION,
  CHAT_RESULT_NOTIFICATION,
  ChatProgress,
  DID_ACCEPT_NOTIFICATION,
  DID_SHOW_NOTIFICATION,
  SNOOZE_COMMAND,
  STATUS_NOTIFICATION,
  TandemStatus,
} from './protocol';
import { LANGUAGES } from './languages';
import { CLIENT_SETTING_KEYS, toServerSettings } from './settings';
import { formatStatus } from './statusFormat';
import { StatusBar } from './statusBar';
import { SuggestionTracker, itemId } from './suggestionEvents';
import { SNOOZE_MINUTES, menuChoices, toggleLanguage } from './toggles';

/** Client-side command put on each inline item: VS Code runs it after accepting the item. */
const CLIENT_ACCEPT_COMMAND = 'tandem.client.didAccept';

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Tandem', { log: true });
  // package.json's menus offer "Ask…" only in the languages Tandem serves (not every editor).
  void vscode.commands.executeCommand('setContext', 'tandem.languages', [...LANGUAGES]);
  const statusBar = new StatusBar();
  const codechat = new CodeChat(() => client, output);
  context.subscriptions.push(output, statusBar);
  codechat.register(context);
  new NextEdit(() => client, output).register(context);
  const tracker = new SuggestionTracker();

  const notify = (method: string, params: object): void => {
    if (client?.isRunning()) {
      void client.sendNotification(method, params).catch((err: unknown) => output.warn(`${method}: ${String(err)}`));
    }
  };

  const onInlineItems = (document: vscode.TextDocument, position: vscode.Position, items: vscode.InlineCompletionItem[]) => {
    const tracked = [];
    for (const item of items) {
      const id = itemId(item);
      if (id === undefined) {
        continue;
      }
      // The server's own accept command works too, but the protocol says clients notify.
      item.command = { title: 'Tandem: accepted', command: CLIENT_ACCEPT_COMMAND, arguments: [{ id }] };
      tracked.push({ id, text: typeof item.insertText === 'string' ? item.insertText : item.insertText.value });
    }
    tracker.remember(document.uri.toString(), document.offsetAt(position), tracked);
    if (vscode.window.activeTextEditor?.document === document) {
      for (const id of tracker.toShow()) {
        notify(DID_SHOW_NOTIFICATION, { id });
      }
    }
  };

  // Accept the next word/line of the inline suggestion (VS Code's own commands), then report
  // how much of Tandem's suggestion is in the document now.
  const partialAccept = async (builtin: string): Promise<void> => {
    const editor = vscode.window.activeTextEditor;
    await vscode.commands.executeCommand(builtin);
    if (!editor) {
      return;
    }
    const { uri, offset } = tracker.start;
    const doc = editor.document;
    if (uri !== doc.uri.toString() || offset < 0) {
      return;
    }
    const cursor = doc.offsetAt(editor.selection.active);
    if (cursor <= offset) {
      return;
    }
    const inserted = doc.getText(new vscode.Range(doc.positionAt(offset), editor.selection.active));
    const event = tracker.partial(uri, offset, inserted);
    if (event) {
      notify(event.method, event.params);
    }
  };

  const snooze = async (minutes: number): Promise<void> => {
    if (!client?.isRunning()) {
      return;
    }
    const status = (await client.sendRequest(ExecuteCommandRequest.type, {
      command: SNOOZE_COMMAND,
      arguments: [{ minutes }],
    })) as TandemStatus;
    statusBar.update(status);
  };

  const setting = <T>(key: string, fallback: T): T => vscode.workspace.getConfiguration(SECTION).get<T>(key) ?? fallback;
  const update = (key: string, value: unknown) =>
    vscode.workspace.getConfiguration(SECTION).update(key, value, vscode.ConfigurationTarget.Global);

  const start = async (): Promise<void> => {
    client = createClient(output, {
      onCommandResult: (cmd, result) => codechat.started(cmd, result),
      onInlineItems,
    });
    client.onNotification(STATUS_NOTIFICATION, (status: TandemStatus) => statusBar.update(status));
    client.onNotification(CHAT_PROGRESS_NOTIFICATION, (p: ChatProgress) => {
      statusBar.busy(p.done ? undefined : 'thinking…');
      codechat.onProgress(p);
    });
    client.onNotification(CHAT_RESULT_NOTIFICATION, (result: unknown) => codechat.onResult(result));
    client.onDidChangeState((e) => {
      if (e.newState === State.Stopped) {
        statusBar.update({ state: 'error', message: 'server stopped' });
      }
    });
    try {
      await client.start();
      output.info(`started ${client.initializeResult?.serverInfo?.name ?? 'server'}`);
    } catch (err) {
      statusBar.update({ state: 'error', message: String(err) });
      output.error(`could not start the Tandem server: ${String(err)}`);
      void vscode.window
        .showErrorMessage('Tandem: could not start the server. Check `tandem.serverPath`.', 'Open Settings', 'Show Output')
        .then((pick) => {
          if (pick === 'Open Settings') {
            void vscode.commands.executeCommand('workbench.action.openSettings', 'tandem.server');
          } else if (pick === 'Show Output') {
            output.show();
          }
        });
    }
  };

  const restart = async (): Promise<void> => {
    const old = client;
    client = undefined;
    if (old) {
      await old.stop().catch((err: unknown) => output.warn(`stop: ${String(err)}`));
    }
    statusBar.update(undefined);
    await start();
  };

  context.subscriptions.push(
    vscode.commands.registerCommand('tandem.restart', restart),
    vscode.commands.registerCommand('tandem.showOutput', () => output.show()),
    vscode.commands.registerCommand(CLIENT_ACCEPT_COMMAND, (arg: { id?: string } | undefined) => {
      if (arg?.id) {
        notify(DID_ACCEPT_NOTIFICATION, { id: arg.id });
      }
    }),
    vscode.commands.registerCommand('tandem.acceptNextWord', () => partialAccept('editor.action.inlineSuggest.acceptNextWord')),
    vscode.commands.registerCommand('tandem.acceptNextLine', () => partialAccept('editor.action.inlineSuggest.acceptNextLine')),
    vscode.commands.registerCommand('tandem.enable', () => update('enabled', true)),
    vscode.commands.registerCommand('tandem.disable', () => update('enabled', false)),
    vscode.commands.registerCommand('tandem.toggleLanguage', () => {
      const language = vscode.window.activeTextEditor?.document.languageId;
      if (language) {
        return update('disabledLanguages', toggleLanguage(setting<string[]>('disabledLanguages', []), language));
      }
      return undefined;
    }),
    vscode.commands.registerCommand('tandem.snoozeFor30', () => snooze(SNOOZE_MINUTES)),
    vscode.commands.registerCommand('tandem.statusMenu', async () => {
      const language = vscode.window.activeTextEditor?.document.languageId;
      const choices = menuChoices(setting('enabled', true), setting<string[]>('disabledLanguages', []), language, statusBar.status);
      const pick = await vscode.window.showQuickPick(choices, { title: formatStatus(statusBar.status).text.replace(/\$\([^)]*\) ?/g, '') });
      switch (pick?.action) {
        case 'enable':
          return update('enabled', true);
        case 'disable':
          return update('enabled', false);
        case 'toggleLanguage':
          return language ? update('disabledLanguages', toggleLanguage(setting<string[]>('disabledLanguages', []), language)) : undefined;
        case 'snooze':
          return snooze(SNOOZE_MINUTES);
        case 'unsnooze':
          return snooze(0);
        case 'details':
          return vscode.commands.executeCommand('tandem.showStatus');
        case 'output':
          return output.show();
        case 'restart':
          return restart();
        default:
          return undefined;
      }
    }),
    vscode.commands.registerCommand('tandem.showStatus', async () => {
      const view = formatStatus(statusBar.status);
      const pick = await vscode.window.showInformationMessage(view.tooltip, 'Show Output', 'Restart Server');
      if (pick === 'Show Output') {
        output.show();
      } else if (pick === 'Restart Server') {
        await restart();
      }
    }),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (!e.affectsConfiguration(SECTION)) {
        return;
      }
      if (CLIENT_SETTING_KEYS.some((k) => e.affectsConfiguration(`${SECTION}.${k}`))) {
        await restart(); // a new server command
        return;
      }
      if (client?.isRunning()) {
        await client.sendNotification(DidChangeConfigurationNotification.type, {
          settings: { [SECTION]: toServerSettings(readSettings()) },
        });
      }
    }),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  if (client) {
    await client.stop();
    client = undefined;
  }
}
