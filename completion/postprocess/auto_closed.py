"""Do not duplicate a closing bracket or quote that already follows the cursor.

Editors auto-insert `)`, `]`, `}` and quotes; a model completing `print(█)` writes `'hi')`.
When the suggestion closes the bracket that is already after the cursor (an unmatched closer of
the same kind), the suggestion ends there; a closer the suggestion itself opened is kept, and
so are closers of brackets opened before the cursor that the text after it does not close.
"""

from __future__ import annotations

from completion.cursor import Cursor
from completion.postprocess.scan import CLOSERS, QUOTES, balance, code_chars


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
                cut = text[:i]
                # a closing line ("}" alone) goes away with its indentation
                return cut.rstrip(" \t") if cur.mode == "line_start" else cut
            return text
    return text
