"""Helpers for the completion tests (module name kept unique: tests/ dirs are not packages)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from completion.types import CompletionContext, OpenDocument
from inference.base import Generation, GenerationCancelled

CURSOR = "█"
FIXTURES = Path(__file__).parent / "fixtures"


def words(text: str) -> int:
    """A whitespace token counter (what the benchmark's oracle uses)."""
    return len(text.split())


def ctx_at_marker(
    doc: str,
    language_id: str = "python",
    uri: str = "file:///ws/main.py",
    others: list[OpenDocument] | None = None,
) -> CompletionContext:
    """A context whose cursor is where `doc` has the marker █ (removed from the text)."""
    i = doc.index(CURSOR)
    text = doc.replace(CURSOR, "", 1)
    before = text[:i]
    line = before.count("\n")
    return CompletionContext(
        uri, language_id, text, line, i - (before.rfind("\n") + 1), others or []
    )


@dataclass
class Golden:
    path: Path
    headers: dict[str, str]
    before: str
    raw: str
    after: str

    @property
    def id(self) -> str:
        return f"{self.path.parent.name}/{self.path.stem}"


def _sections(text: str) -> tuple[dict[str, str], dict[str, str]]:
    headers: dict[str, str] = {}
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.split("\n"):
        if line.startswith("--- "):
            current = line[4:].strip()
            sections[current] = []
        elif current is None:
            if line.strip() and not line.startswith("#"):
                k, _, v = line.partition(":")
                headers[k.strip()] = v.strip()
        else:
            sections[current].append(line)
    # a section is the lines between its header and the next one; the file's final newline
    # is not part of the last section
    last = list(sections)[-1]
    if sections[last] and sections[last][-1] == "":
        sections[last].pop()
    out = {k: "\n".join(v) for k, v in sections.items()}
    return headers, out


def load_golden(path: Path) -> Golden:
    headers, s = _sections(path.read_text(encoding="utf-8"))
    return Golden(path, headers, s["before"], s["raw"], s["after"])


def goldens(kind: str) -> list[Golden]:
    return [load_golden(p) for p in sorted((FIXTURES / kind).rglob("*.txt"))]


class ChunkedGeneration(Generation):
    """Yields text a few characters at a time; stops (and raises) after cancel(): a stand-in
    stream for the stream-stop tests, which count how much was sent before the stop."""

    def __init__(self, text: str, size: int = 5) -> None:
        super().__init__("chunks")
        self.text, self.size = text, size
        self.cancelled = False
        self.sent = 0

    async def __aiter__(self):
        for i in range(0, len(self.text), self.size):
            if self.cancelled:
                raise GenerationCancelled()
            self.sent = i + self.size
            yield self.text[i : i + self.size]
            await asyncio.sleep(0)

    def cancel(self) -> None:
        self.cancelled = True
