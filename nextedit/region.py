"""The editable region: the lines around the cursor that the model rewrites.

Sweep's model was trained on a fixed window of 10 lines above and 10 below the cursor line
(21 lines); Sweep found a fixed size trains better than syntax-aware boundaries, so every
format here rewrites that same window (clamped at the ends of the document). A smaller region
also bounds what one suggestion can touch, and what speculative rewriting must copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Lines above and below the cursor line.
ABOVE = 10
BELOW = 10


@dataclass(frozen=True)
class Region:
    """Lines [start, end) of a document, and the cursor (line, code-point column) inside."""

    start: int
    end: int
    lines: tuple[str, ...]
    cursor_line: int
    cursor_col: int

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def cursor_offset(self) -> int:
        """The cursor as an index into `text`."""
        before = self.lines[: self.cursor_line - self.start]
        return sum(len(x) + 1 for x in before) + self.cursor_col

    def with_marker(self, marker: str) -> str:
        """`text` with `marker` at the cursor (Zeta's `<|user_cursor_is_here|>`)."""
        at = self.cursor_offset
        return self.text[:at] + marker + self.text[at:]

    def contains_line(self, line: int) -> bool:
        return self.start <= line < self.end


def region_around(
    lines: Sequence[str], line: int, col: int, above: int = ABOVE, below: int = BELOW
) -> Region:
    """The region of `above` + 1 + `below` lines around the cursor, clamped to the document."""
    if not lines:
        lines = [""]
    line = max(0, min(line, len(lines) - 1))
    col = max(0, min(col, len(lines[line])))
    start = max(0, line - above)
    end = min(len(lines), line + below + 1)
    return Region(start, end, tuple(lines[start:end]), line, col)
