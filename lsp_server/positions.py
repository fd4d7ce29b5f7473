"""LSP positions ↔ Python string indices, under the negotiated encoding (utf-8/16/32).

pygls's own converter clamps an over-long character to `len - 1` and mutates its argument; the
spec says a character past the line's end means the end of the line, so this module does it.
"""

from __future__ import annotations

from lsprotocol import types

from textkit.lines import LSP_LINE_BREAK


def _units(ch: str, encoding: str) -> int:
    if encoding == types.PositionEncodingKind.Utf8:
        return len(ch.encode("utf-8"))
    if encoding == types.PositionEncodingKind.Utf32:
        return 1
    return 2 if ord(ch) > 0xFFFF else 1


def split_lines(text: str) -> list[str]:
    """Lines without their terminators; a trailing newline yields a final empty line.

    The LSP counts `\n`, `\r\n` and a lone `\r` as line ends, so all three split here."""
    if "\r" not in text:  # the common case, at C speed
        return text.split("\n")
    return LSP_LINE_BREAK.split(text)


class PositionError(ValueError):
    """A position that does not exist in the document."""


def to_index(lines: list[str], pos: types.Position, encoding: str) -> tuple[int, int]:
    """(line, code-point column) for an LSP position; raises PositionError if the line is out of
    range, clamps the character to the line's end as the spec asks."""
    if pos.line < 0 or pos.character < 0:
        raise PositionError(f"negative position {pos.line}:{pos.character}")
    if pos.line >= len(lines):
        raise PositionError(
            f"line {pos.line} is out of range (the document has {len(lines)} lines)"
        )
    line = lines[pos.line]
    units = 0
    for i, ch in enumerate(line):
        if units >= pos.character:
            return pos.line, i
        units += _units(ch, encoding)
    return pos.line, len(line)


def to_position(lines: list[str], line: int, column: int, encoding: str) -> types.Position:
    """LSP position for a (line, code-point column)."""
    text = lines[line][:column] if line < len(lines) else ""
    return types.Position(line=line, character=sum(_units(c, encoding) for c in text))


def offset_to_position(text: str, offset: int, encoding: str) -> types.Position:
    """LSP position of a code-point offset (any LSP line end counts)."""
    from codechat.diff import offset_to_line_col

    line, col = offset_to_line_col(text, offset)
    return to_position(split_lines(text), line, col, encoding)
