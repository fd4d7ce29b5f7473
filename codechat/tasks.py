"""What the user asked for: an action on a span of one document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["refactor", "tests", "docs", "explain", "ask"]
ACTIONS: tuple[Action, ...] = ("refactor", "tests", "docs", "explain", "ask")
#: Actions whose answer is code that is applied to the workspace.
EDIT_ACTIONS: frozenset[str] = frozenset({"refactor", "tests", "docs"})


@dataclass
class ChatTask:
    """One CodeChat request, in code points (the LSP glue converts positions)."""

    action: Action
    #: Filesystem path of the document (used for test-file naming and imports); may be "".
    path: str
    language_id: str
    #: The whole document.
    text: str
    #: Selected span as code-point offsets into `text`; edit actions widen it to whole lines.
    start: int
    end: int
    instruction: str = ""

    @property
    def code(self) -> str:
        return self.text[self.start : self.end]


def line_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen [start, end) to whole lines, so a refactor never splits a line in two.

    A selection that ends at the very start of a line does not take that line.
    """
    if end > start and text[end - 1 : end] == "\n":
        end -= 1
    s = text.rfind("\n", 0, start) + 1
    e = text.find("\n", end)
    e = len(text) if e < 0 else e + 1
    return s, e
