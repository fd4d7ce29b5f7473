"""Drop suggestions not worth showing: empty, whitespace, a bare comment marker, or the text
that already follows the cursor."""

from __future__ import annotations

from completion.cursor import Cursor

_BARE = {"#", "//", "/*", "--", "*", "<!--"}


def apply(text: str, cur: Cursor) -> str:
    s = text.strip()
    if not s or s in _BARE:
        return ""
    if cur.after.strip() and s == cur.after.strip() and cur.mode == "inline":
        return ""
    return text
