"""Data passed between the pipeline stages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from textkit.lines import lsp_lines

#: Counts tokens with the model's tokenizer (the engine provides it).
TokenCounter = Callable[[str], int]


@dataclass
class OpenDocument:
    uri: str
    language_id: str
    text: str


@dataclass
class CompletionContext:
    """The document and cursor, in Python string indices (code points), not LSP units."""

    uri: str
    language_id: str
    text: str
    line: int
    character: int
    #: Other open / recently edited documents, most recent first (cross-file context).
    other_documents: list[OpenDocument] = field(default_factory=list)

    #: (text, line, character) -> (offset, cursor line): the pipeline asks for these many
    #: times, and on a 10k-line document each split costs milliseconds.
    _memo: tuple = field(default=(), init=False, repr=False, compare=False)
    _slices: tuple = field(default=(), init=False, repr=False, compare=False)

    def _cursor(self) -> tuple[int, str]:
        m = self._memo
        if m and m[0] is self.text and m[1] == self.line and m[2] == self.character:
            return m[3], m[4]
        if "\r" not in self.text:  # the common case: split only up to the cursor line, in C
            head = self.text.split("\n", self.line)
            if len(head) > self.line:
                base = len(self.text) - len(head[-1])
                body = head[-1].split("\n", 1)[0]
                offset, current = base + min(self.character, len(body)), body
            else:
                offset, current = min(len(self.text), len(self.text) + self.character), ""
            if len(head) > self.line or not self.text.endswith("\n"):
                self._memo = (self.text, self.line, self.character, offset, current)
                return offset, current
        lines = lsp_lines(self.text, keepends=True)
        base = sum(map(len, lines[: self.line]))
        if self.line < len(lines):
            body = lines[self.line].rstrip("\r\n")
            offset, current = base + min(self.character, len(body)), body
        else:
            offset, current = min(len(self.text), base + self.character), ""
        self._memo = (self.text, self.line, self.character, offset, current)
        return offset, current

    def at_offset(self, offset: int) -> CompletionContext:
        """Tell the context the cursor's string index when the caller already knows it (the
        server keeps each document version's line starts), so it need not split the text up to
        the cursor line. The caller vouches that `offset` is on line `line` (counting the lines
        would cost what this saves); one that is not at `character` of a line is ignored.
        Returns self."""
        start = offset - self.character
        if start < 0 or offset > len(self.text) or (start and self.text[start - 1] not in "\r\n"):
            return self
        end = len(self.text)
        for brk in ("\n", "\r"):  # memchr-fast; the second search stops at the first's hit
            j = self.text.find(brk, start, end)
            if j >= 0:
                end = j
        if end < offset:  # not where the caller said
            return self
        self._memo = (self.text, self.line, self.character, offset, self.text[start:end])
        return self

    @property
    def offset(self) -> int:
        return self._cursor()[0]

    @property
    def prefix(self) -> str:
        return self._split()[0]

    @property
    def suffix(self) -> str:
        return self._split()[1]

    def _split(self) -> tuple[str, str]:
        """(prefix, suffix), sliced once: on a 10k-line document each slice copies ~500 KB,
        and the pipeline reads them a dozen times per request."""
        offset = self.offset
        m = self._slices
        if m and m[0] is self.text and m[1] == offset:
            return m[2], m[3]
        prefix, suffix = self.text[:offset], self.text[offset:]
        self._slices = (self.text, offset, prefix, suffix)
        return prefix, suffix

    @property
    def current_line(self) -> str:
        return self._cursor()[1]


@dataclass
class Edit:
    """A suggestion as an edit of the cursor line: `text` replaces the `replace_before` code
    points before the cursor and the `replace_after` after it (LSP InlineCompletionItem.range).

    The range covers the cursor line's indentation when the cursor sits inside it (the text then
    carries the full indentation, so editors that auto-indent after Enter and those that don't
    get the same line), and the closers after a mid-line cursor that the suggestion re-types.
    `at_cursor` is the same change as a plain insertion at the cursor (typeahead, the
    `textDocument/completion` fallback).
    """

    text: str
    replace_before: int = 0
    replace_after: int = 0
    at_cursor: str = ""

    def apply(self, prefix: str, suffix: str) -> str:
        """The document after accepting the suggestion."""
        return (
            prefix[: len(prefix) - self.replace_before] + self.text + suffix[self.replace_after :]
        )


@dataclass
class PromptPlan:
    """What to ask the engine, and what `finalize` needs to clean the answer."""

    prompt: str
    stop: list[str]
    max_tokens: int
    multiline: bool
    template: str
    #: Text prompt lookup may copy from (other open documents).
    lookup_text: str = ""
    #: How the cursor sits: "inline" (text before it on the line), "line" (blank line),
    #: "block" (blank line opening a block body), "line_start" (at the start of a line that
    #: has text after the cursor: whole lines are inserted before it).
    mode: str = ""
    #: Documents quoted as cross-file context, in prompt order (for logs and tests).
    context_uris: list[str] = field(default_factory=list)
    #: "fim" (the model's FIM tokens) or "prefix" (the prefix alone; see completion.templates).
    prompt_mode: str = "fim"
    #: The `completion.cursor.Cursor` prepare read (`cursor_for` reuses it for the same text).
    cursor: object | None = field(default=None, repr=False, compare=False)
