// Next-edit suggestions in VS Code: ask tandem/nextEdit (after a pause in typing, or with
// "Tandem: Suggest Next Edit"), decorate the proposed change in place (the replaced text struck
// through, the new line shown after it), Alt+N jumps to it, Alt+Y accepts it, Esc dismisses.
import * as vscode from 'vscode';
import { LanguageClient } from 'vscode-languageclient/node';
import { NEXT_EDIT_REQUEST, NextEditResult } from './protocol';
import { NextEditPlan, planFor, stillApplies } from './nextEditPlan';

const VISIBLE_CONTEXT = 'tandem.nextEditVisible';
const DEBOUNCE_MS = 400;

export class NextEdit implements vscode.Disposable {
  private plan: NextEditPlan | undefined;
  private editor: vscode.TextEditor | undefined;
  private timer: NodeJS.Timeout | undefined;
  private off = false;
  private readonly removed = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('diffEditor.removedTextBackground'),
    textDecoration: 'line-through',
  });
  private readonly added = vscode.window.createTextEditorDecorationType({
    after: {
      backgroundColor: new vscode.ThemeColor('diffEditor.insertedTextBackground'),
      margin: '0 0 0 1em',
    },
  });
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly getClient: () => LanguageClient | undefined, private readonly output: vscode.LogOutputChannel) {}

  register(context: vscode.ExtensionContext): void {
    this.disposables.push(
      this.removed,
      this.added,
      vscode.commands.registerCommand('tandem.nextEdit.suggest', () => this.request()),
      vscode.commands.registerCommand('tandem.nextEdit.jump', () => this.jump()),
      vscode.commands.registerCommand('tandem.nextEdit.accept', () => this.accept()),
      vscode.commands.registerCommand('tandem.nextEdit.dismiss', () => this.dismiss()),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (this.plan && e.document.uri.toString() === this.plan.uri && e.contentChanges.length > 0) {
          this.dismiss();
        }
        if (e.contentChanges.length > 0 && vscode.window.activeTextEditor?.document === e.document) {
          this.schedule();
        }
      }),
      vscode.workspace.onDidChangeConfiguration(() => {
        this.off = false;
      }),
    );
    context.subscriptions.push(this);
  }

  private schedule(): void {
    if (this.off) {
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.request(), DEBOUNCE_MS);
  }

  async request(): Promise<boolean> {
    const client = this.getClient();
    const editor = vscode.window.activeTextEditor;
    if (!client?.isRunning() || !editor) {
      return false;
    }
    const document = editor.document;
    const version = document.version;
    const position = editor.selection.active;
    let result: NextEditResult | undefined;
    try {
      result = await client.sendRequest<NextEditResult>(NEXT_EDIT_REQUEST, {
        textDocument: { uri: document.uri.toString(), version },
        position: { line: position.line, character: position.character },
      });
    } catch (err) {
      this.output.warn(`${NEXT_EDIT_REQUEST}: ${String(err)}`);
      return false;
    }
    this.off = result?.reason === 'off';
    if (document.version !== version || vscode.window.activeTextEditor !== editor) {
      return false;
    }
    const plan = planFor(result, (n) => (n < document.lineCount ? document.lineAt(n).text : ''));
    if (!plan) {
      return false;
    }
    this.show(editor, plan);
    return true;
  }

  private show(editor: vscode.TextEditor, plan: NextEditPlan): void {
    this.dismiss();
    this.plan = plan;
    this.editor = editor;
    const removed: vscode.Range[] = [];
    const added: vscode.DecorationOptions[] = [];
    for (const e of plan.edits) {
      const range = new vscode.Range(e.startLine, e.startCharacter, e.endLine, e.endCharacter);
      if (!range.isEmpty) {
        removed.push(range);
      }
      const end = editor.document.lineAt(e.endLine).range.end;
      added.push({
        range: new vscode.Range(end, end),
        renderOptions: { after: { contentText: `→ ${e.preview.trim()}` } },
      });
    }
    editor.setDecorations(this.removed, removed);
    editor.setDecorations(this.added, added);
    void vscode.commands.executeCommand('setContext', VISIBLE_CONTEXT, true);
  }

  current(): NextEditPlan | undefined {
    return this.plan;
  }

  jump(): void {
    const plan = this.plan;
    const editor = this.editor;
    if (!plan || !editor) {
      return;
    }
    const first = plan.edits[0];
    const at = new vscode.Position(first.startLine, first.startCharacter);
    editor.selection = new vscode.Selection(at, at);
    editor.revealRange(new vscode.Range(at, at), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  async accept(): Promise<boolean> {
    const plan = this.plan;
    const editor = this.editor;
    if (!plan || !editor) {
      return false;
    }
    const document = editor.document;
    if (!stillApplies(plan, document.uri.toString(), document.version)) {
      this.dismiss();
      return false;
    }
    this.dismiss();
    const edit = new vscode.WorkspaceEdit();
    for (const e of plan.edits) {
      edit.replace(document.uri, new vscode.Range(e.startLine, e.startCharacter, e.endLine, e.endCharacter), e.text);
    }
    const applied = await vscode.workspace.applyEdit(edit);
    const client = this.getClient();
    if (applied && client?.isRunning()) {
      for (const c of plan.commands) {
        void client.sendRequest('workspace/executeCommand', c).catch((err: unknown) => this.output.warn(`accept: ${String(err)}`));
      }
    }
    return applied;
  }

  dismiss(): void {
    if (this.editor) {
      this.editor.setDecorations(this.removed, []);
      this.editor.setDecorations(this.added, []);
    }
    if (this.plan) {
      void vscode.commands.executeCommand('setContext', VISIBLE_CONTEXT, false);
    }
    this.plan = undefined;
    this.editor = undefined;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.dismiss();
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}
