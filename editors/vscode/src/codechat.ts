// CodeChat commands from the palette/context menu, and how their results are shown.
import * as vscode from 'vscode';
import { ExecuteCommandRequest, LanguageClient } from 'vscode-languageclient/node';
import { buildCommandArgs, instructionPrompt, resultMessage } from './commandArgs';
import { CODECHAT_KINDS, CodeChatKind, isCodeChatResult } from './protocol';

export class CodeChat {
  /** When the last CodeChat Markdown document was shown (to avoid showing an answer twice). */
  private lastMarkdownShown = 0;

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
    const started = Date.now();
    try {
      const result = await client.sendRequest(ExecuteCommandRequest.type, {
        command: `tandem.${kind}`,
        arguments: [args],
      });
      this.show(`tandem.${kind}`, result, started);
    } catch (err) {
      this.output.error(`tandem.${kind} failed: ${String(err)}`);
      void vscode.window.showErrorMessage(`Tandem ${kind}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** A command result: a message, and the Markdown answer unless the server already opened it. */
  show(command: string, result: unknown, started = Date.now()): void {
    if (!isCodeChatResult(result)) {
      this.output.warn(`${command}: unexpected result ${JSON.stringify(result)}`);
      return;
    }
    this.output.info(`${command}: ${JSON.stringify({ ...result, markdown: result.markdown ? '…' : undefined })}`);
    const text = resultMessage(command, result);
    if (!result.ok) {
      void vscode.window.showWarningMessage(text);
      return;
    }
    if (result.markdown && this.lastMarkdownShown < started) {
      void this.showMarkdown(result.markdown);
    } else if (!result.markdown) {
      void vscode.window.showInformationMessage(text);
    }
  }

  async openMarkdownPreview(uri: vscode.Uri): Promise<void> {
    this.lastMarkdownShown = Date.now();
    try {
      await vscode.commands.executeCommand('markdown.showPreviewToSide', uri);
    } catch {
      await vscode.window.showTextDocument(uri, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true });
    }
  }

  private async showMarkdown(markdown: string): Promise<void> {
    this.lastMarkdownShown = Date.now();
    const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: markdown });
    try {
      await vscode.commands.executeCommand('markdown.showPreviewToSide', doc.uri);
    } catch {
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true });
    }
  }
}
