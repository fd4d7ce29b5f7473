"""Turn "replace this span with that code" into a minimal set of line edits.

Editors keep cursors, folds and undo history sane when only changed lines are touched, and the
user can review a small diff; so a refactor becomes several TextEdits, not one big replacement.
"""

from __future__ import annotations

import difflib
import textwrap
from dataclasses import dataclass

from textkit.lines import LSP_LINE_BREAK


@dataclass(frozen=True)
class Change:
    """Replace text[start:end] (code-point offsets into the original text) with `new_text`."""

    start: int
    end: int
    new_text: str


def _common_indent(code: str) -> str:
    lines = [ln for ln in code.split("\n") if ln.strip()]
    if not lines:
        return ""
    dedented = textwrap.dedent("\n".join(lines)).split("\n")
    return lines[0][: len(lines[0]) - len(dedented[0])]


def dedent(code: str) -> str:
    """The code as the model should see it (no common indentation)."""
    return textwrap.dedent(code)


def _split_blank(code: str) -> tuple[str, str, str]:
    """(leading blank lines, the rest, trailing blank lines)."""
    lines = code.splitlines(keepends=True)
    i, j = 0, len(lines)
    while i < j and not lines[i].strip():
        i += 1
    while j > i and not lines[j - 1].strip():
        j -= 1
    return "".join(lines[:i]), "".join(lines[i:j]), "".join(lines[j:])


def fit_code(new: str, old: str) -> str:
    """Make the model's code fit the span it replaces: same line endings, the original common
    indentation (models answer dedented code), and the original surrounding blank lines and
    trailing newline (models drop them; keeping them keeps the diff minimal)."""
    crlf = "\r\n" in old
    old = old.replace("\r\n", "\n")
    lead, core, trail = _split_blank(old)
    _, new, _ = _split_blank(new.replace("\r\n", "\n"))
    indent = _common_indent(core)
    if indent and not _common_indent(new).startswith(indent):
        new = textwrap.indent(textwrap.dedent(new), indent)
    if core.endswith("\n") and not new.endswith("\n"):
        new += "\n"
    elif not core.endswith("\n") and new.endswith("\n"):
        new = new[:-1]
    new = lead + new + trail
    return new.replace("\n", "\r\n") if crlf else new


def minimal_changes(text: str, start: int, end: int, new_code: str) -> list[Change]:
    """Line-level changes turning text[start:end] into `new_code`, in document order."""
    old_lines = text[start:end].splitlines(keepends=True)
    new_lines = new_code.splitlines(keepends=True)
    offsets = [start]
    for ln in old_lines:
        offsets.append(offsets[-1] + len(ln))
    sm = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    changes = []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op != "equal":
            changes.append(Change(offsets[i1], offsets[i2], "".join(new_lines[j1:j2])))
    return changes


def apply_changes(text: str, changes: list[Change]) -> str:
    """The text after applying non-overlapping `changes` (as an editor would)."""
    for c in sorted(changes, key=lambda c: c.start, reverse=True):
        text = text[: c.start] + c.new_text + text[c.end :]
    return text


def offset_to_line_col(text: str, offset: int) -> tuple[int, int]:
    """(line, code-point column) of an offset; `\n`, `\r\n` and a lone `\r` end a line, as in
    the LSP. An offset between the `\r` and `\n` of one line end counts as that line's end."""
    before = text[:offset]
    if "\r" not in before:  # the common case
        return before.count("\n"), len(before) - (before.rfind("\n") + 1)
    ends = [m.end() for m in LSP_LINE_BREAK.finditer(before)]
    if before.endswith("\r") and text[offset : offset + 1] == "\n":
        ends.pop()  # inside a "\r\n": still on the line the "\r" ends
        return len(ends), len(before) - 1 - (ends[-1] if ends else 0)
    return len(ends), len(before) - (ends[-1] if ends else 0)
