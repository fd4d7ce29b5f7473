"""The lazy line readers of textkit.lines agree with `lsp_lines` on every kind of line break."""

from __future__ import annotations

import random

from textkit.lines import first_lines, iter_lines, iter_lines_reversed, last_lines, lsp_lines

PIECES = ["a", "b", " ", "\n", "\r", "\r\n", "x\r\n", "\u2028", "é"]


def _texts(count: int):
    rng = random.Random(3)
    for _ in range(count):
        yield "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 12))), rng


def test_lazy_readers_match_lsp_lines_on_random_texts():
    for text, rng in _texts(20_000):
        n, keep = rng.randint(0, 6), rng.random() < 0.5
        assert last_lines(text, n, keep) == (lsp_lines(text, keep)[-n:] if n else [])
        assert first_lines(text, n, keep) == lsp_lines(text, keep)[:n]
        assert list(iter_lines(text)) == lsp_lines(text, keepends=True)
        expected = lsp_lines(text, keepends=True)
        if not expected or text.endswith(("\n", "\r")):
            expected.append("")  # the line a cursor at the very end sits on
        assert list(iter_lines_reversed(text)) == expected[::-1]


def test_crlf_and_a_stray_cr_far_up():
    crlf = "x = 1\r\n" * 5000 + "y = 2"
    assert last_lines(crlf, 2) == ["x = 1", "y = 2"]
    assert first_lines(crlf, 1, keepends=True) == ["x = 1\r\n"]
    stray = "\r" + "z\n" * 5000
    assert last_lines(stray, 3, keepends=True) == ["z\n"] * 3
    assert next(iter_lines_reversed(stray)) == ""  # after the final break
