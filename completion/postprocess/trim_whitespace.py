"""Trailing whitespace off every line; the suggestion's end fitted to how it is inserted.

Whitespace before non-blank text after the cursor is kept (`return █x` needs its space). In
"line_start" mode the suggestion is whole lines: it ends with one newline plus the cursor
line's indentation. A CRLF document gets CRLF line breaks.
"""

from __future__ import annotations

from completion.cursor import Cursor
from completion.postprocess.base import as_inserted


def apply(text: str, cur: Cursor) -> str:
    lines = [x.rstrip(" \t") for x in text.split("\n")[:-1]] + [text.split("\n")[-1]]
    text = "\n".join(lines)
    if cur.mode == "line_start":
        text = as_inserted(text.rstrip(" \t\n"), cur) if text.strip() else ""
    elif not cur.after.strip():
        text = text.rstrip()
    else:
        text = text.rstrip("\n")
    if "\r\n" in cur.prefix[-2000:] + cur.suffix[:2000]:
        text = text.replace("\n", "\r\n")
    return text
