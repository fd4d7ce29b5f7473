"""Stop at the end of the definition being written, and at the end of a statement.

Multi-line: the suggestion is inserted and parsed (tree-sitter); the innermost definition
(function, method, class, closure) around its first line is its scope. The first later line
indented at or left of that definition's header leaves the scope, and the suggestion ends
there; a closing-bracket line at the header's column is kept once, when the code after the
cursor does not already close it. At top level, a new block ends where the opener's indentation
comes back. Without a grammar a textual definition pattern stands in.

The cut is skipped when the document parses worse with it (tree-sitter): then the suffix holds
the rest of the new definition the suggestion began, so the suggestion is the code between,
not a run-on.

Finer structure (an `if` body that runs into code the suffix already has) is left to
`suffix_overlap` and `syntax_truncate`, which know what is after the cursor.

Mid-line (the mid-line policy): the suggestion goes on past the cursor line only while the
statement begun on that line is open (an unclosed bracket, or a line that opens a block, whose
body then ends like any block); the first line that closes it is the last.

Single line: in languages with a statement terminator, nothing after the first complete
statement (`x = 1; y = 2;` -> `x = 1;`).
"""

from __future__ import annotations

import re

from completion.cursor import Cursor, indent_of, width
from completion.postprocess.base import as_inserted
from completion.postprocess.scan import CLOSERS, code_chars
from textkit import syntax
from textkit.lines import first_lines, lsp_lines

_DEFINITION = re.compile(
    r"^\s*(?:(?:export|public|private|protected|static|async|pub|default)\s+)*"
    r"(?:def|class|function|func|fn|impl|struct|enum|trait|interface|module|namespace)\b"
)


def _is_closing_line(line: str) -> bool:
    s = line.strip()
    return bool(s) and s[0] in CLOSERS


def _scope_indent(text: str, cur: Cursor) -> int | None:
    """Indentation of the definition header around the suggestion's first line."""
    first = next((x for x in text.split("\n") if x.strip()), "")
    pre, suf = syntax.code_window(cur.prefix, cur.suffix)
    inserted = as_inserted(text, cur)
    lead = len(text) - len(text.lstrip(" \t\n"))
    doc = pre + inserted + suf
    if syntax.has_grammar(cur.lang.grammar):
        line = syntax.enclosing_definition_line(cur.lang.grammar, doc, len(pre) + lead)
        if line is None:
            return None
        return width(indent_of(lsp_lines(doc)[line]))
    depth = width(indent_of(cur.before + first))
    for line in reversed(lsp_lines(pre)[-400:]):
        if line.strip() and width(indent_of(line)) < depth and _DEFINITION.match(line):
            return width(indent_of(line))
    return None


def _block(text: str, cur: Cursor) -> str:
    scope = _scope_indent(text, cur)
    if scope is None and cur.mode == "block":
        scope = width(indent_of(cur.prev_line))  # top level: the new block is the scope
    if scope is None:
        return text
    lines = text.split("\n")
    seen_first = False
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        if not seen_first:
            seen_first = True
            continue
        col = width(indent_of(line))
        if col > scope:
            continue
        if _is_closing_line(line) and col == scope:
            nxt = cur.next_line
            closed = _is_closing_line(nxt) and width(indent_of(nxt)) == scope
            if not closed:
                if not "".join(lines[i + 1 :]).strip():
                    return text  # only the line breaks before the rest of the cursor line
                return _unless_needed("\n".join(lines[: i + 1]), text, cur)
        return _unless_needed("\n".join(lines[:i]).rstrip() + "\n", text, cur)
    return text


def _unless_needed(cut: str, text: str, cur: Cursor) -> str:
    """The cut, unless the code after the cursor cannot follow it: a middle that ends one
    definition and begins the next, whose rest the suffix holds, leaves a broken document when
    cut at the new header (tree-sitter errors), while a model's run-on into a new function cut
    there leaves the code as it was. Only the cut is parsed, never the text after it, so the
    decision cannot change as a stream grows (`stream.py` stops on it)."""
    if not syntax.has_grammar(cur.lang.grammar):
        return cut
    pre, suf = syntax.code_window(cur.prefix, cur.suffix)
    inserted = as_inserted(cut, cur)
    tree = syntax.parse(cur.lang.grammar, pre + inserted + suf)
    if tree is None:
        return cut
    # errors where the cut meets the suffix (its first lines), not those the file has anyway
    start = len(pre.encode("utf-8"))
    end = start + len((inserted + "".join(first_lines(suf, 4, keepends=True))).encode("utf-8"))
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if (node.is_error or node.is_missing) and node.end_byte >= start and node.start_byte <= end:
            return text
        if node.has_error:
            stack.extend(node.children)
    return cut


def _statement(text: str, cur: Cursor) -> str:
    end = cur.lang.statement_end
    if not end or cur.in_comment or cur.in_string:
        return text
    for i, c, depth in code_chars(text, cur.lang.line_comment):
        if c == end and depth == 0:
            rest = text[i + 1 :].strip()
            comment = cur.lang.line_comment
            if rest and not (comment and rest.startswith(comment)):
                return text[: i + 1]
            return text
    return text


def _open_statement(text: str, cur: Cursor) -> str:
    """Mid-line: keep lines while the cursor line's statement is open (see the docstring)."""
    end, _ = _statement_end(text, cur)
    if end is None:
        return _statement(text, cur) if "\n" not in text else text
    if end == -1:
        return _block(text, cur)
    return _statement(text[:end], cur)


def _statement_end(text: str, cur: Cursor) -> tuple[int | None, bool]:
    """Mid-line, where the cursor line's statement ends in `text`: (the index of the newline
    ending the first complete line at which it is closed; -1 when a line opens a block first
    (the block rule decides); None while it is still open) and whether that answer is final.
    A line is judged by the text before its newline, so the answer never changes as text is
    appended, except where the newline lies inside a string the output opened: then the depth
    at the end of the whole text stands in, which more text can change (not final)."""
    start = len(cur.before)
    full = cur.before + text
    depth_at_end: dict[int, int] = {}
    depth = 0
    for i, c, d in code_chars(full, cur.lang.line_comment):
        depth = d + (1 if c in "([{" else -1 if c in ")]}" else 0)
        if c == "\n" and i >= start:
            depth_at_end[i] = d
    for nl in (i for i, c in enumerate(full) if c == "\n" and i >= start):
        line = full[full.rfind("\n", 0, nl) + 1 : nl]
        if cur.opens_block(line):
            return -1, nl in depth_at_end
        if depth_at_end.get(nl, depth) <= 0 and line.strip():
            return nl - start, nl in depth_at_end
    return None, False


def statement_closed(text: str, cur: Cursor) -> bool:
    """Mid-line with a multi-line allowance: a complete line of `text` already closed the
    cursor line's statement, so `apply` cuts there whatever follows (the stream can stop)."""
    if cur.mode != "inline" or not cur.multiline:
        return False
    end, final = _statement_end(text, cur)
    return final and end is not None and end >= 0


def apply(text: str, cur: Cursor) -> str:
    if not text:
        return text
    if cur.mode == "inline":
        return _open_statement(text, cur) if cur.multiline else _statement(text, cur)
    if cur.multiline:
        return _block(text, cur)
    return _statement(text, cur)
