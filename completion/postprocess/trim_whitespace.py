"""Trailing whitespace off every line; the suggestion's end fitted to how it is inserted.

Whitespace before non-blank text after the cursor is kept (`return █x` needs its space). In
"line_start" mode (only indentation before the cursor, text after it) the suggestion's end is
laid out by `as_inserted`: literal when that is good code, else whole lines ending with a
newline and the cursor line's indentation, never a newline or indentation the model did not
produce when the literal text fits. Mid-line before closers (`{█}`), a suggestion of several
lines keeps its last line break and indentation: the closers then stand on their own line, as
the model laid them out. A CRLF document gets CRLF line breaks.
"""

from __future__ import annotations

from completion.cursor import Cursor
from completion.postprocess.base import as_inserted


def apply(text: str, cur: Cursor) -> str:
    parts = text.split("\n")
    text = "\n".join([x.rstrip(" \t") for x in parts[:-1]] + [parts[-1]])
    if cur.mode == "line_start":
        text = as_inserted(text, cur) if text.strip() else ""
    elif not cur.after.strip():
        text = text.rstrip()
    elif not (cur.mode == "inline" and cur.multiline and "\n" in text.rstrip()):
        text = text.rstrip("\n")
    if "\r\n" in cur.prefix[-2000:] + cur.suffix[:2000]:
        text = text.replace("\n", "\r\n")
    return text
