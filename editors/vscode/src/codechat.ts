// CodeChat commands from the palette/context menu, and how their outcomes are shown.
//
// A tandem.<kind> command answers at once ({ok, pending, token} or why it could not start); the
// answer streams as tandem/chatProgress and the run ends with ONE tandem/chatResult (we declare
// experimental.tandem.chatResult in client.ts). An explain/ask answer streams into a read-only
// document beside the code (answerView.ts) and its final text replaces it; an edit's outcome
// is one message.
import * as vscode from 'vscode';
import { ExecuteCommandRequest, LanguageClient } from 'vscode-languageclient/node';
import { AnswerView } from './answerView';
import { buildCommandArgs, instructionPrompt, resultMessage } from './commandArgs';
import { CODECHAT_KINDS, ChatProgress, ChatResult, CodeChatKind, isChatResult, isCodeChatResult } from './protocol';

/** The answer document's title for an action. */
function answerTitle(action: string): string {
  return action === 'ask' ? 'Tandem Answer' : action === 'explain' ? 'Tandem Explanation' : `Tandem ${action}`;
}

export class CodeChat {
  private readonly answers = new AnswerView();

  constructor(
    private readonly getClient: () => LanguageClient | undefined,
    private readonly output: vscode.LogOutputChannel,
  ) {}

  register(context: vscode.ExtensionContext): void {
    context.subscriptions.push(this.answers);
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

  /** tandem/chatProgress: an explain/ask answer so far (the whole text: replace, don't append),
   * shown as it arrives. Edits stream code nobody needs to read; their outcome is enough. */
  onProgress(p: ChatProgress): void {
    if ((p.action === 'explain' || p.action === 'ask') && typeof p.text === 'string' && p.text.trim() !== '') {
      void this.answers.show(String(p.token), answerTitle(p.action), p.text);
    }
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
      // the answer itself (it streamed into the same document): no message on top
      await this.answers.show(result.token, answerTitle(result.action), result.markdown);
      return;
    }
    if (!result.ok) {
      void vscode.window.showWarningMessage(text);
      if (result.markdown) {
        // cannot_create: the file's content to paste
        await this.answers.show(result.token, answerTitle(result.action), result.markdown);
      }
      return;
    }
    void vscode.window.showInformationMessage(text);
  }
}
