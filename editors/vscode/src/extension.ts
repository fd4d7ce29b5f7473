// Tandem for VS Code: starts `tandem lsp`; vscode-languageclient turns its inline completions
// into VS Code inline suggestions (Tab / Esc / Ctrl+→ are VS Code's own keys).
import * as vscode from 'vscode';
import { DidChangeConfigurationNotification, LanguageClient, State } from 'vscode-languageclient/node';
import { SECTION, createClient, readSettings } from './client';
import { CodeChat } from './codechat';
import { CHAT_PROGRESS_NOTIFICATION, ChatProgress, STATUS_NOTIFICATION, TandemStatus } from './protocol';
import { CLIENT_SETTING_KEYS, toServerSettings } from './settings';
import { formatStatus } from './statusFormat';
import { StatusBar } from './statusBar';

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Tandem', { log: true });
  const statusBar = new StatusBar();
  const codechat = new CodeChat(() => client, output);
  context.subscriptions.push(output, statusBar);
  codechat.register(context);

  const start = async (): Promise<void> => {
    client = createClient(output, {
      onCommandResult: (cmd, result, started) => codechat.show(cmd, result, started),
      onMarkdownDocument: (uri) => void codechat.openMarkdownPreview(uri),
    });
    client.onNotification(STATUS_NOTIFICATION, (status: TandemStatus) => statusBar.update(status));
    client.onNotification(CHAT_PROGRESS_NOTIFICATION, (p: ChatProgress) =>
      statusBar.busy(p.done ? undefined : 'thinking…'),
    );
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
