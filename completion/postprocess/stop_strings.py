"""Cut at the first stop string, and at the first newline of a single-line suggestion.

Engines stop there already; this also covers backends that ignore `stop`, and leaked FIM
markers (a model that emits `<fim_suffix>` has left the middle).
"""

from __future__ import annotations

from completion.cursor import Cursor


def apply(text: str, cur: Cursor) -> str:
    text = text.replace("\r\n", "\n")
    cut = len(text)
    for s in cur.stop:
        if s and s != "\n":
            i = text.find(s)
            if i != -1:
                cut = min(cut, i)
    text = text[:cut]
    if not cur.multiline:
        text = text.split("\n", 1)[0]
    return text
