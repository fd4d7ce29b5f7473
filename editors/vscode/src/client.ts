// The LanguageClient for `tandem lsp`: settings in, status and CodeChat results out.
import * as vscode from 'vscode';
import {
  ClientCapabilities,
  FeatureState,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  StaticFeature,
  TransportKind,
} from 'vscode-languageclient/node';
import { documentSelector } from './languages';
import { CODECHAT_KINDS, declareChatResult } from './protocol';
import { serverCommand, toServerSettings } from './settings';

export const SECTION = 'tandem';

/** Every `tandem.*` value, defaults included: package.json's defaults are the server's, and a
 * full object lets didChangeConfiguration reset a cleared setting. */
export function readSettings(): (key: string) => unknown {
  const config = vscode.workspace.getConfiguration(SECTION);
  return (key: string) => config.get(key);
}

export interface ClientHooks {
  /** The immediate answer of a tandem.* CodeChat command run from a code action (or anywhere
   * through the client): `pending`, or why the run could not start. */
  onCommandResult(command: string, result: unknown): void;
  /** Inline suggestions about to be handed to VS Code (events, accept commands). */
  onInlineItems(document: vscode.TextDocument, position: vscode.Position, items: vscode.InlineCompletionItem[]): void;
}

/** Declares `experimental.tandem.chatResult`: the server then sends each CodeChat outcome as one
 * tandem/chatResult (shown by codechat.ts), not as a window/showMessage. */
class ChatResultFeature implements StaticFeature {
  fillClientCapabilities(capabilities: ClientCapabilities): void {
    declareChatResult(capabilities);
  }
  initialize(): void {}
  getState(): FeatureState {
    return { kind: 'static' };
  }
  clear(): void {}
}

export function createClient(output: vscode.LogOutputChannel, hooks: ClientHooks): LanguageClient {
  const { command, args } = serverCommand(readSettings());
  // The output channel shows the server's stderr (as [error]) AND its window/logMessage lines:
  // the server sends its own lines only through logMessage (each at its level), so none shows
  // twice; stderr keeps other libraries' warnings and crashes.
  const env = { ...process.env, TANDEM_STDERR_SKIP_CLIENT_LOGS: '1' };
  const serverOptions: ServerOptions = { command, args, transport: TransportKind.stdio, options: { env } };
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
        const result = await next(cmd, cmdArgs);
        if ((CODECHAT_KINDS as readonly string[]).some((kind) => cmd === `tandem.${kind}`)) {
          hooks.onCommandResult(cmd, result);
        }
        return result;
      },
    },
  };
  const client = new LanguageClient('tandem', 'Tandem', serverOptions, clientOptions);
  client.registerFeature(new ChatResultFeature());
  return client;
}
