"""Helpers for the completion tests (module name kept unique: tests/ dirs are not packages)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from completion.types import CompletionContext, OpenDocument

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
