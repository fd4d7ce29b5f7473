"""Data passed between the pipeline stages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

#: Counts tokens with the model's tokenizer (the engine provides it).
TokenCounter = Callable[[str], int]


@dataclass
class OpenDocument:
    uri: str
    language_id: str
    text: str


@dataclass
class CompletionContext:
    """The document and cursor, in Python string indices (code points), not LSP units."""

    uri: str
    language_id: str
    text: str
    line: int
    character: int
    #: Other open / recently edited documents, most recent first (cross-file context).
    other_documents: list[OpenDocument] = field(default_factory=list)

    @property
    def offset(self) -> int:
        lines = self.text.splitlines(keepends=True)
        return sum(len(x) for x in lines[: self.line]) + self.character

    @property
    def prefix(self) -> str:
        return self.text[: self.offset]

    @property
    def suffix(self) -> str:
        return self.text[self.offset :]

    @property
    def current_line(self) -> str:
        lines = self.text.splitlines()
        return lines[self.line] if self.line < len(lines) else ""


@dataclass
class PromptPlan:
    """What to ask the engine, and what `finalize` needs to clean the answer."""

    prompt: str
    stop: list[str]
    max_tokens: int
    multiline: bool
    template: str
    #: Text prompt lookup may copy from (other open documents).
    lookup_text: str = ""
