// The LanguageClient for `tandem lsp`: settings in, status and CodeChat results out.
import * as vscode from 'vscode';
import { LanguageClient, LanguageClientOptions, ServerOptions, TransportKind } from 'vscode-languageclient/node';
import { documentSelector } from './languages';
import { STATUS_COMMAND } from './protocol';
import { serverCommand, toServerSettings } from './settings';

export const SECTION = 'tandem';

/** Every `tandem.*` value, defaults included: package.json's defaults are the server's, and a
 * full object lets didChangeConfiguration reset a cleared setting. */
export function readSettings(): (key: string) => unknown {
  const config = vscode.workspace.getConfiguration(SECTION);
  return (key: string) => config.get(key);
}

export interface ClientHooks {
  /** The result of a tandem.* command run from a code action (or anywhere through the client). */
  onCommandResult(command: string, result: unknown, started: number): void;
  /** A CodeChat Markdown answer the server asked us to show (window/showDocument). */
  onMarkdownDocument(uri: vscode.Uri): void;
  /** Inline suggestions about to be handed to VS Code (events, accept commands). */
  onInlineItems(document: vscode.TextDocument, position: vscode.Position, items: vscode.InlineCompletionItem[]): void;
}

function isCodeChatMarkdown(uri: vscode.Uri): boolean {
  return uri.scheme === 'file' && uri.path.endsWith('.md') && uri.path.includes('/tandem-codechat/');
}

export function createClient(output: vscode.LogOutputChannel, hooks: ClientHooks): LanguageClient {
  const { command, args } = serverCommand(readSettings());
  const serverOptions: ServerOptions = { command, args, transport: TransportKind.stdio };
  const clientOptions: LanguageClientOptions = {
    // Real languages only: not every output pane, settings file or git view (each would load
    // the model in its window). See languages.ts (also package.json's activationEvents).
    documentSelector: documentSelector(),
    outputChannel: output,
    initializationOptions: () => toServerSettings(readSettings()),
    middleware: {
      workspace: {
        // Answer workspace/configuration with the server's keys only (no serverPath/serverArgs).
        configuration: (params, _token, _next) =>
          params.items.map((item) => (item.section === SECTION ? toServerSettings(readSettings()) : null)),
      },
      provideInlineCompletionItems: async (document, position, context, token, next) => {
        const result = await next(document, position, context, token);
        const items = Array.isArray(result) ? result : (result?.items ?? []);
        if (!token.isCancellationRequested && items.length > 0) {
          hooks.onInlineItems(document, position, items);
        }
        return result;
      },
      executeCommand: async (cmd, cmdArgs, next) => {
        const started = Date.now();
        const result = await next(cmd, cmdArgs);
        if (cmd.startsWith('tandem.') && cmd !== STATUS_COMMAND) {
          hooks.onCommandResult(cmd, result, started);
        }
        return result;
      },
      window: {
        showDocument: async (params, token, next) => {
          const uri = vscode.Uri.parse(params.uri);
          if (isCodeChatMarkdown(uri)) {
            hooks.onMarkdownDocument(uri);
            return { success: true };
          }
          return next(params, token);
        },
      },
    },
  };
  return new LanguageClient('tandem', 'Tandem', serverOptions, clientOptions);
}
