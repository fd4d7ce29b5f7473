"""The early stop of speculative rewriting: has the rewrite re-joined the original?

A next edit changes a few lines; the rest of the region comes back verbatim. While the model
copies, prompt lookup drafts the copy and the target verifies it, many tokens per pass. Once
the rewrite has changed something and then reproduced `anchor` original lines in a row, it is
copying again, and what it would copy is known: the rest of the region. So generation stops
there and the rest is spliced in from the original, saving those tokens altogether.

The anchor must be real text: lines that are blank or a lone bracket match almost anywhere, so
they do not count towards it.
"""

from __future__ import annotations

from collections.abc import Sequence

#: Original lines in a row (after a change) that count as re-joined.
ANCHOR_LINES = 2
#: Characters (stripped) a line needs to count towards the anchor.
MIN_ANCHOR_CHARS = 4


def _strong(line: str) -> bool:
    return len(line.strip()) >= MIN_ANCHOR_CHARS


def rejoined(
    original: Sequence[str], text: str, anchor: int = ANCHOR_LINES
) -> tuple[list[str], int] | None:
    """(the whole rewrite, original lines spliced in) once `text` (the rewrite streamed so far)
    has diverged from `original` and then reproduced `anchor` strong original lines in a row;
    None while it has not. Only complete lines count."""
    done = text.split("\n")[:-1]  # the last piece is an unfinished line
    n = len(done)
    d = 0
    while d < n and d < len(original) and done[d] == original[d]:
        d += 1
    if d == n or d >= len(original):
        return None  # still copying, or writing past the region's end
    # the newest lines of the rewrite: `anchor` strong ones, and the weak ones between them
    strong = 0
    t = n
    while t > d and strong < anchor:
        t -= 1
        strong += _strong(done[t])
    if strong < anchor:
        return None
    tail = done[t:]
    for j in range(d, len(original) - len(tail) + 1):
        if list(original[j : j + len(tail)]) == tail:
            rest = list(original[j + len(tail) :])
            return done + rest, len(rest)
    return None
