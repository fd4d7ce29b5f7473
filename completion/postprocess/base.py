"""What a filter is: a pure function of the suggestion so far and the cursor."""

from __future__ import annotations

from collections.abc import Callable

from completion.cursor import Cursor

Filter = Callable[[str, Cursor], str]


def as_inserted(text: str, cur: Cursor) -> str:
    """The text as it will be inserted: in "line_start" mode whole lines, ending in a newline
    plus the cursor line's indentation (so the rest of the line keeps its place)."""
    if cur.mode != "line_start" or not text:
        return text
    return text.rstrip("\n") + "\n" + cur.before
