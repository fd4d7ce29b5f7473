"""What the user asked for: an action on a span of one document.

The action list and each action's user-facing words are written here once; the LSP glue, the
benchmark and the editors' copies (checked by tests/lsp_server/test_protocol.py) follow it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["refactor", "tests", "docs", "explain", "ask"]


@dataclass(frozen=True)
class ActionSpec:
    #: What the user picks, e.g. "Generate tests" (code action titles add "Tandem: ").
    label: str
    #: What the answer is called in messages, e.g. "the test file was not applied".
    noun: str
    #: True: the answer is code applied to the workspace; False: text shown to the user.
    edits: bool


ACTION_SPECS: dict[Action, ActionSpec] = {
    "refactor": ActionSpec("Refactor", "refactor", edits=True),
    "tests": ActionSpec("Generate tests", "test file", edits=True),
    "docs": ActionSpec("Generate docs", "docs edit", edits=True),
    "explain": ActionSpec("Explain", "explanation", edits=False),
    "ask": ActionSpec("Ask", "answer", edits=False),
}
ACTIONS: tuple[Action, ...] = tuple(ACTION_SPECS)
#: Actions whose answer is code that is applied to the workspace.
EDIT_ACTIONS: frozenset[str] = frozenset(a for a, s in ACTION_SPECS.items() if s.edits)


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
    #: Workspace folders (filesystem paths). Files other than the document itself (a new test
    #: file) must resolve inside one of them; empty: the document's own folder.
    roots: tuple[str, ...] = ()

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
