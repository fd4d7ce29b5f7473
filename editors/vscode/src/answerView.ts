// Explain/ask answers in a read-only document beside the code, filled while the answer streams.
//
// Why not an untitled Markdown document plus its preview (what we did first): an untitled
// document is "unsaved", so closing it asks to save an answer nobody wants on disk, and the
// preview showed only a spinner until the run ended. A virtual document (our own URI scheme)
// is read-only, never dirty, and VS Code redraws it each time we say it changed, so the user
// reads the answer as it arrives. Markdown is readable as text; "Open Preview" still works.
import * as vscode from 'vscode';

export const ANSWER_SCHEME = 'tandem-answer';

export class AnswerView implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly texts = new Map<string, string>();
  private readonly byToken = new Map<string, vscode.Uri>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  private readonly registrations: vscode.Disposable[];
  private count = 0;

  readonly onDidChange = this.changed.event;

  constructor() {
    this.registrations = [
      vscode.workspace.registerTextDocumentContentProvider(ANSWER_SCHEME, this),
      // Follow the stream: once VS Code has the new text (it asks us asynchronously), keep the
      // answer's end in view.
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.scheme === ANSWER_SCHEME) {
          this.follow(e.document.uri);
        }
      }),
    ];
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '';
  }

  /** Show `text` (the whole answer so far) for run `token`: opens the document beside the code
   * the first time, then replaces its content and keeps its end in view (follows the stream). */
  async show(token: string, title: string, text: string): Promise<void> {
    let uri = this.byToken.get(token);
    const first = uri === undefined;
    if (uri === undefined) {
      this.count += 1;
      uri = vscode.Uri.from({ scheme: ANSWER_SCHEME, path: `/${title}${this.count > 1 ? ` ${this.count}` : ''}.md` });
      this.byToken.set(token, uri);
    }
    this.texts.set(uri.toString(), text);
    if (first) {
      const doc = await vscode.workspace.openTextDocument(uri);
      await vscode.languages.setTextDocumentLanguage(doc, 'markdown').then(undefined, () => doc);
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true, preview: false });
      this.follow(uri);
    } else {
      this.changed.fire(uri); // VS Code asks for the text again; onDidChangeTextDocument follows
    }
  }

  private follow(uri: vscode.Uri): void {
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document.uri.toString() === uri.toString()) {
        const last = editor.document.lineCount - 1;
        editor.revealRange(new vscode.Range(last, 0, last, 0), vscode.TextEditorRevealType.Default);
      }
    }
  }

  dispose(): void {
    this.registrations.forEach((r) => r.dispose());
    this.changed.dispose();
  }
}
