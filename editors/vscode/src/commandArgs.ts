// Selection → the CodeChat command's argument object. No `vscode` import (unit-tested).
import { CodeChatArgs, CodeChatKind, LspPosition, LspRange } from './protocol';

export interface EditorSnapshot {
  uri: string;
  /** The selection in LSP (UTF-16) coordinates; an empty one means "just the cursor". */
  selection: LspRange;
  cursor: LspPosition;
  version?: number;
}

function isEmpty(r: LspRange): boolean {
  return r.start.line === r.end.line && r.start.character === r.end.character;
}

/** The one argument object: a non-empty selection becomes `range`, the cursor `position`. */
export function buildCommandArgs(editor: EditorSnapshot, instruction?: string): CodeChatArgs {
  const args: CodeChatArgs = { uri: editor.uri, position: editor.cursor };
  if (!isEmpty(editor.selection)) {
    args.range = editor.selection;
  }
  const text = instruction?.trim();
  if (text) {
    args.instruction = text;
  }
  if (editor.version !== undefined) {
    args.version = editor.version;
  }
  return args;
}

/** Which commands ask the user for a free-form instruction, and whether it is required. */
export function instructionPrompt(kind: CodeChatKind): { prompt: string; required: boolean } | undefined {
  switch (kind) {
    case 'ask':
      return { prompt: 'Ask Tandem about this code', required: true };
    case 'refactor':
      return { prompt: 'How should Tandem refactor it? (optional)', required: false };
    case 'tests':
      return { prompt: 'Anything about the tests? (optional)', required: false };
    default:
      return undefined;
  }
}

/** The notification text for a command's result (the Markdown itself opens in a preview). */
export function resultMessage(kind: string, result: { ok: boolean; message: string; reason?: string; applied?: boolean }): string {
  const label = kind.replace(/^tandem\./, '');
  const reason = result.reason && !result.message.includes(result.reason) ? ` (${result.reason})` : '';
  return `Tandem ${label}: ${result.message || (result.ok ? 'done' : 'failed')}${reason}`;
}
