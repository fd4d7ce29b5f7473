// Next-edit suggestions without `vscode` (unit-tested): what to draw for a tandem/nextEdit
// answer, whether it still applies to the document, and the text after accepting it.
import { NextEditItem, NextEditResult } from './protocol';

/** One edit as drawn: the range it replaces (may be empty) and the line(s) it gives. */
export interface DrawnEdit {
  startLine: number;
  startCharacter: number;
  endLine: number;
  endCharacter: number;
  text: string;
  /** The whole line(s) after the edit, for the preview beside the replaced text. */
  preview: string;
}

export interface NextEditPlan {
  uri: string;
  version: number | null | undefined;
  edits: DrawnEdit[];
  /** The server's accept commands (stats), run once the user accepts. */
  commands: { command: string; arguments?: unknown[] }[];
}

/** The plan for an answer, or undefined when there is nothing to show. `lineAt(n)` reads
 * line n of the document (positions are in the client's encoding: UTF-16 in VS Code). */
export function planFor(result: NextEditResult | null | undefined, lineAt: (line: number) => string): NextEditPlan | undefined {
  if (!result || !Array.isArray(result.edits) || result.edits.length === 0) {
    return undefined;
  }
  const first: NextEditItem = result.edits[0];
  const edits = result.edits.map((e) => {
    const { start, end } = e.range;
    const before = lineAt(start.line).slice(0, start.character);
    const after = lineAt(end.line).slice(end.character);
    return {
      startLine: start.line,
      startCharacter: start.character,
      endLine: end.line,
      endCharacter: end.character,
      text: e.text,
      preview: before + e.text + after,
    };
  });
  const commands = result.edits.flatMap((e) => (e.command ? [{ command: e.command.command, arguments: e.command.arguments }] : []));
  return { uri: first.textDocument.uri, version: first.textDocument.version, edits, commands };
}

/** Whether the plan still fits the document (same document, same version). */
export function stillApplies(plan: NextEditPlan, uri: string, version: number): boolean {
  return plan.uri === uri && (plan.version === null || plan.version === undefined || plan.version === version);
}

/** The document's lines after applying the plan (what accepting gives). */
export function applyPlan(lines: string[], plan: NextEditPlan): string[] {
  let text = lines.join('\n');
  const offset = (line: number, character: number): number => {
    let at = 0;
    for (let i = 0; i < line; i++) {
      at += lines[i].length + 1;
    }
    return at + character;
  };
  const spans = plan.edits
    .map((e) => ({ lo: offset(e.startLine, e.startCharacter), hi: offset(e.endLine, e.endCharacter), text: e.text }))
    .sort((a, b) => b.lo - a.lo);
  for (const s of spans) {
    text = text.slice(0, s.lo) + s.text + text.slice(s.hi);
  }
  return text.split('\n');
}
