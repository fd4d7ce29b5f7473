// CodeChat commands from the palette/context menu, and how their outcomes are shown.
//
// A tandem.<kind> command answers at once ({ok, pending, token} or why it could not start); the
// answer streams as tandem/chatProgress and the run ends with ONE tandem/chatResult (we declare
// experimental.tandem.chatResult in client.ts). That notification is what we show, once: an
// explain/ask answer as a Markdown preview beside the code, an edit's outcome as a message.
import * as vscode from 'vscode';
import { ExecuteCommandRequest, LanguageClient } from 'vscode-languageclient/node';
import { buildCommandArgs, instructionPrompt, resultMessage } from './commandArgs';
import { CODECHAT_KINDS, ChatResult, CodeChatKind, isChatResult, isCodeChatResult } from './protocol';

export class CodeChat {
  constructor(
    private readonly getClient: () => LanguageClient | undefined,
    private readonly output: vscode.LogOutputChannel,
  ) {}

  register(context: vscode.ExtensionContext): void {
    for (const kind of CODECHAT_KINDS) {
      // Not `tandem.<kind>`: vscode-languageclient registers the server's commands under those ids.
      context.subscriptions.push(vscode.commands.registerCommand(`tandem.chat.${kind}`, () => this.run(kind)));
    }
  }

  async run(kind: CodeChatKind): Promise<void> {
    const client = this.getClient();
    const editor = vscode.window.activeTextEditor;
    if (!client || !client.isRunning()) {
      void vscode.window.showErrorMessage('Tandem: the server is not running (see the Tandem output).');
      return;
    }
    if (!editor) {
      void vscode.window.showErrorMessage('Tandem: open a file first.');
      return;
    }
    let instruction: string | undefined;
    const ask = instructionPrompt(kind);
    if (ask) {
      instruction = await vscode.window.showInputBox({ prompt: ask.prompt, ignoreFocusOut: true });
      if (instruction === undefined || (ask.required && instruction.trim() === '')) {
        return;
      }
    }
    const sel = editor.selection;
    const args = buildCommandArgs(
      {
        uri: editor.document.uri.toString(),
        selection: {
          start: { line: sel.start.line, character: sel.start.character },
          end: { line: sel.end.line, character: sel.end.character },
        },
        cursor: { line: sel.active.line, character: sel.active.character },
        version: editor.document.version,
      },
      instruction,
    );
    try {
      const result = await client.sendRequest(ExecuteCommandRequest.type, {
        command: `tandem.${kind}`,
        arguments: [args],
      });
      this.started(`tandem.${kind}`, result);
    } catch (err) {
      this.output.error(`tandem.${kind} failed: ${String(err)}`);
      void vscode.window.showErrorMessage(`Tandem ${kind}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** A command's immediate answer. A started run (`pending`) is shown when its tandem/chatResult
   * arrives; a run that could not start (stale, bad request) is shown now. */
  started(command: string, result: unknown): void {
    if (!isCodeChatResult(result)) {
      this.output.warn(`${command}: unexpected result ${JSON.stringify(result)}`);
      return;
    }
    this.output.info(`${command}: ${JSON.stringify(result)}`);
    if (result.pending) {
      return;
    }
    const text = resultMessage(command, result);
    void (result.ok ? vscode.window.showInformationMessage(text) : vscode.window.showWarningMessage(text));
  }

  /** tandem/chatResult: the outcome of one run, shown once. */
  onResult(result: unknown): void {
    if (!isChatResult(result)) {
      this.output.warn(`tandem/chatResult: unexpected params ${JSON.stringify(result)}`);
      return;
    }
    this.output.info(`tandem/chatResult: ${JSON.stringify({ ...result, markdown: result.markdown ? '…' : undefined })}`);
    void this.present(result);
  }

  private async present(result: ChatResult): Promise<void> {
    const text = resultMessage(`tandem.${result.action}`, result);
    if (result.ok && result.markdown) {
      await this.showMarkdown(result.markdown); // the answer itself: no message on top
      return;
    }
    if (!result.ok) {
      void vscode.window.showWarningMessage(text);
      if (result.markdown) {
        await this.showMarkdown(result.markdown); // cannot_create: the file's content to paste
      }
      return;
    }
    void vscode.window.showInformationMessage(text);
  }

  /** An untitled Markdown document (nothing on disk), previewed beside the code. */
  private async showMarkdown(markdown: string): Promise<void> {
    const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: markdown });
    try {
      await vscode.commands.executeCommand('markdown.showPreviewToSide', doc.uri);
    } catch {
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true });
    }
  }
}
