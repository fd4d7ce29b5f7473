"""Do not duplicate a closing bracket or quote that already follows the cursor.

Editors auto-insert `)`, `]`, `}` and quotes; a model completing `print(█)` writes `'hi')`.
When the suggestion closes the bracket that is already after the cursor (an unmatched closer of
the same kind), the suggestion ends there; a closer the suggestion itself opened is kept, and
so are closers of brackets opened before the cursor that the text after it does not close.

At the start of a line (`█}` or `  █  }`) the closer after the cursor is a whole closing line,
and a perfect answer often closes inner blocks first (`        }\n        return x;\n` before
`    }`). Only a closing line of the suggestion at that line's own column, and the same line (`}`
is not `} else {`), is the same closer typed again; a closer inside a line is cut only when that leaves better-formed code.
"""

from __future__ import annotations

from completion.cursor import Cursor, indent_of, width
from completion.postprocess.base import as_inserted
from completion.postprocess.scan import CLOSERS, OPENERS, QUOTES, balance, code_chars
from textkit import syntax


def apply(text: str, cur: Cursor) -> str:
    after = cur.after.lstrip() if cur.mode == "line_start" else cur.after
    if not text or not after or after[0] not in CLOSERS and after[0] not in QUOTES:
        return text
    closer = after[0]
    if closer in QUOTES:
        # inside a string whose closing quote is already there: stop at the first such quote
        if not cur.in_string:
            return text
        i = text.find(closer)
        while i > 0 and text[i - 1] == "\\":
            i = text.find(closer, i + 1)
        return text if i == -1 else text[:i]
    if cur.mode == "line_start":
        return _closing_line(text, cur, closer)
    # brackets opened before the cursor on its line and not closed after it are the
    # suggestion's to close (`len(list(filter(█)` + `x, arr))` before `)`)
    opened = balance(cur.before, cur.lang.line_comment)[1]
    closed_after = balance(cur.after, cur.lang.line_comment)[0]
    free = max(0, opened - closed_after) if cur.mode == "inline" else 0
    for i, c, depth in code_chars(text, cur.lang.line_comment):
        if c in CLOSERS and depth == 0:
            if free:
                free -= 1
                continue
            if c == closer:
                return text[:i]
            return text
    return text


def _closing_line(text: str, cur: Cursor, closer: str) -> str:
    """Line start: cut before the suggestion's own copy of the closing line after the cursor."""
    column = width(indent_of(cur.after))
    opened = 0
    for i, c, _ in code_chars(text, cur.lang.line_comment):
        if c in OPENERS:
            opened += 1
            continue
        if c not in CLOSERS:
            continue
        if opened:
            opened -= 1
            continue
        # a closer of something opened before the cursor
        line_start = text.rfind("\n", 0, i) + 1
        head = (cur.before if line_start == 0 else "") + text[line_start:i]
        if c != closer:
            continue
        if not head.strip():
            line_end = text.find("\n", i)
            line = text[i : len(text) if line_end == -1 else line_end].strip()
            want = cur.after.strip()
            same = line == want or (line_end == -1 and want.startswith(line))
            # what the suggestion writes after its closing line must not open a bracket that
            # the existing closer then closes (`    }` + a new method before `    }`)
            later = "" if line_end == -1 else text[line_end:]
            reopened = balance(later, cur.lang.line_comment)[1] > 0
            if width(head) == column and same and not reopened:
                return text[:line_start].rstrip(" \t") if line_start else ""
            continue
        cut = text[:i]
        if _errors(cut, cur) < _errors(text, cur):
            return cut
        return text
    return text


def _errors(text: str, cur: Cursor) -> int:
    pre, suf = syntax.code_window(cur.prefix, cur.suffix)
    n = syntax.count_errors(cur.lang.grammar, pre + as_inserted(text, cur) + suf)
    if n is not None:
        return n
    missing, extra = balance(cur.before + text + cur.after, cur.lang.line_comment)
    return missing + extra
