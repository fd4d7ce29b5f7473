"""Position conversion: every LSP line end (`\n`, `\r\n`, lone `\r`) and every encoding."""

from __future__ import annotations

import pytest
from lsprotocol import types

from codechat.diff import offset_to_line_col
from lsp_server.features.codechat.arguments import position_offset as _offset
from lsp_server.positions import (
    PositionError,
    offset_to_position,
    split_lines,
    to_index,
    to_position,
)
from textkit.lines import lsp_lines

MIXED = "ab\r\ncd\ref\ng😀h\n"
ENCODINGS = ("utf-8", "utf-16", "utf-32")


def test_split_lines_counts_every_lsp_line_end():
    assert split_lines(MIXED) == ["ab", "cd", "ef", "g😀h", ""]
    # the same lines the completion pipeline sees
    assert split_lines(MIXED)[:-1] == lsp_lines(MIXED)


def test_offset_to_line_col_on_mixed_line_ends():
    got = [offset_to_line_col(MIXED, i) for i in range(len(MIXED) + 1)]
    assert got[:5] == [(0, 0), (0, 1), (0, 2), (0, 2), (1, 0)]  # offset 3 sits inside "\r\n"
    assert got[7] == (2, 0)  # after the lone "\r"
    assert got[10] == (3, 0)
    assert got[-1] == (4, 0)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_offsets_round_trip_through_positions(encoding):
    lines = split_lines(MIXED)
    for offset, ch in enumerate(MIXED):
        if ch == "\n" and MIXED[offset - 1] == "\r":
            continue  # not a place a client can point at
        pos = offset_to_position(MIXED, offset, encoding)
        assert _offset(MIXED, lines, pos, encoding) == offset, (offset, pos)


def test_astral_character_widths_per_encoding():
    lines = split_lines(MIXED)
    after_emoji = {"utf-8": 5, "utf-16": 3, "utf-32": 2}
    for enc, units in after_emoji.items():
        assert to_position(lines, 3, 2, enc) == types.Position(line=3, character=units)
        assert to_index(lines, types.Position(line=3, character=units), enc) == (3, 2)


def test_character_past_the_end_clamps_and_bad_lines_raise():
    lines = split_lines(MIXED)
    assert to_index(lines, types.Position(line=0, character=99), "utf-16") == (0, 2)
    with pytest.raises(PositionError, match="out of range"):
        to_index(lines, types.Position(line=9, character=0), "utf-16")
