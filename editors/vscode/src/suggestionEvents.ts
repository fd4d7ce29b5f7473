// Which Tandem suggestion is on screen, and the tandem/did*Completion events for it.
// No `vscode` import (unit-tested); extension.ts feeds it offsets and text.
import { DID_PARTIALLY_ACCEPT_NOTIFICATION, PartialAcceptParams } from './protocol';

export interface TrackedItem {
  id: string;
  text: string;
}

/** Code points, as the server counts characters (Python `len`). */
export function codePoints(s: string): number {
  return [...s].length;
}

/** The id the server put into an item's command: {command, arguments: [{id}]}. */
export function itemId(item: { command?: { arguments?: unknown[] } }): string | undefined {
  const arg = item.command?.arguments?.[0];
  return typeof arg === 'object' && arg !== null && typeof (arg as { id?: unknown }).id === 'string'
    ? (arg as { id: string }).id
    : undefined;
}

/**
 * The suggestions last handed to VS Code for one document position. VS Code's stable API has no
 * "shown" or "partially accepted" callback: "shown" is sent when items are handed over for the
 * active editor, and a partial accept is measured around Tandem's own accept-word/line commands
 * (the text between the suggestion's start and the cursor afterwards).
 */
export class SuggestionTracker {
  private uri = '';
  private offset = -1;
  private items: TrackedItem[] = [];
  private sentShow = new Set<string>();
  private accepted = new Map<string, number>();

  remember(uri: string, offset: number, items: TrackedItem[]): void {
    this.uri = uri;
    this.offset = offset;
    this.items = items;
  }

  /** Ids to report as shown (each once). */
  toShow(): string[] {
    const first = this.items[0];
    if (!first || this.sentShow.has(first.id)) {
      return [];
    }
    this.sentShow.add(first.id);
    return [first.id];
  }

  /** After a partial accept: `inserted` = the document text from the suggestion's start to the
   * cursor. The event for the suggestion it begins (cumulative length), or undefined. */
  partial(uri: string, startOffset: number, inserted: string): { method: string; params: PartialAcceptParams } | undefined {
    if (uri !== this.uri || startOffset !== this.offset || inserted === '') {
      return undefined;
    }
    const item = this.items.find((i) => i.text.startsWith(inserted));
    if (!item) {
      return undefined;
    }
    const acceptedLength = codePoints(inserted);
    if ((this.accepted.get(item.id) ?? 0) >= acceptedLength) {
      return undefined;
    }
    this.accepted.set(item.id, acceptedLength);
    return { method: DID_PARTIALLY_ACCEPT_NOTIFICATION, params: { id: item.id, acceptedLength } };
  }

  get start(): { uri: string; offset: number } {
    return { uri: this.uri, offset: this.offset };
  }
}
