"""What every next-edit prompt format provides: the prompt, and how to read the rewrite back."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

from nextedit.history import RecentEdit
from nextedit.region import Region


@dataclass(frozen=True)
class NextEditInput:
    """Everything a format may put into a prompt."""

    #: The document's path as the model sees it (workspace-relative).
    path: str
    lines: tuple[str, ...]
    region: Region
    #: Recent edits across files, oldest first.
    recent: tuple[RecentEdit, ...] = ()
    #: Other files as (path, text): Sweep's context files (already cut to size).
    context_files: tuple[tuple[str, str], ...] = ()

    def original_region_lines(self) -> tuple[str, ...]:
        """The region as it was before the newest edit in this document (Sweep's `original/`
        window): the edit undone where it lies inside the region, else the region itself."""
        edit = next((e for e in reversed(self.recent) if e.path == self.path), None)
        r = self.region
        if edit is None:
            return r.lines
        lo, hi = edit.start, edit.start + len(edit.new_lines)
        if lo < r.start or hi > r.end:
            return r.lines
        local = lo - r.start
        return r.lines[:local] + edit.old_lines + r.lines[local + len(edit.new_lines) :]


@dataclass(frozen=True)
class PromptSpec:
    """One generation request's text side."""

    prompt: str | None = None
    messages: list[dict[str, str]] | None = None
    stop: list[str] = field(default_factory=list)


class NextEditFormat(abc.ABC):
    """A prompt format. The model rewrites the region; `region_so_far` reads the rewrite out
    of the streamed output (for the early stop) and `parse` out of the final output."""

    name: str = ""
    #: Strings that, if the user's text contains them, would parse as the format's control
    #: tokens: such a request is refused rather than sent garbled.
    reserved: tuple[str, ...] = ()

    @abc.abstractmethod
    def build(self, inp: NextEditInput, *, chat: bool = False) -> PromptSpec:
        """The prompt; `chat`: the engine has a chat template (instruction models)."""

    @abc.abstractmethod
    def region_so_far(self, output: str) -> str | None:
        """The rewritten region streamed so far, None while the output has not reached it."""

    def parse(self, output: str) -> list[str] | None:
        """The rewritten region's lines, or None when the output is malformed."""
        text = self.region_so_far(output)
        if text is None:
            return None
        if text.endswith("\n"):
            text = text[:-1]
        return text.split("\n")

    @abc.abstractmethod
    def render(self, inp: NextEditInput, new_lines: list[str]) -> str:
        """What a perfect model of this format would output for the rewrite `new_lines` (the
        oracle stand-in answers with it; the round trip through `parse` is tested)."""

    def refuses(self, inp: NextEditInput) -> bool:
        texts = [inp.path, *inp.lines]
        for e in inp.recent:
            texts += [e.diff, e.path]
        for p, t in inp.context_files:
            texts += [p, t]
        return any(tok in t for t in texts for tok in self.reserved)
