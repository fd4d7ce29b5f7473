"""An independent model of an editor's buffer, for the document-sync property tests.

It knows nothing of Tandem's or pygls's code: lines end at "\\n", "\\r\\n" or a lone "\\r"
(found by walking the text one character at a time), and a position's character counts code
units of the negotiated encoding, summed character by character. Random edits are generated the
way an editor makes them: at character boundaries, never inside "\\r\\n" or a surrogate pair.
"""

from __future__ import annotations

import random

#: Every character that some library treats as a line break, plus what makes positions hard.
ALPHABET = (
    "a", "b", "x", " ", "\t", "=", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e",
    "\x85", "\u2028", "\u2029", "😀", "𝄞", "é", "中",
)  # fmt: skip

ENCODINGS = ("utf-16", "utf-8", "utf-32")


def units(ch: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(ch.encode("utf-8"))
    if encoding == "utf-16":
        return 2 if ord(ch) > 0xFFFF else 1
    return 1


def line_spans(text: str) -> list[tuple[int, int]]:
    """(start, end of content) of each line; the last line is the one after the final break."""
    spans = []
    start = i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\r" and i + 1 < len(text) and text[i + 1] == "\n":
            spans.append((start, i))
            i += 2
            start = i
        elif ch in "\r\n":
            spans.append((start, i))
            i += 1
            start = i
        else:
            i += 1
    spans.append((start, len(text)))
    return spans


class Editor:
    def __init__(self, text: str, encoding: str) -> None:
        self.text = text
        self.encoding = encoding

    def offset(self, line: int, character: int) -> int:
        spans = line_spans(self.text)
        if line >= len(spans):
            return len(self.text)
        start, end = spans[line]
        count = 0
        for i in range(start, end):
            if count >= character:
                return i
            count += units(self.text[i], self.encoding)
        return end

    def apply(self, start: tuple[int, int], end: tuple[int, int], new: str) -> None:
        a, b = self.offset(*start), self.offset(*end)
        self.text = self.text[:a] + new + self.text[b:]

    def random_position(self, rng: random.Random) -> tuple[int, int]:
        spans = line_spans(self.text)
        line = rng.randrange(len(spans))
        start, end = spans[line]
        boundaries = [0]
        for i in range(start, end):
            boundaries.append(boundaries[-1] + units(self.text[i], self.encoding))
        if rng.random() < 0.05:  # past the line's end: the spec says the line's end
            return line, boundaries[-1] + rng.randrange(1, 5)
        return line, rng.choice(boundaries)

    def random_edit(self, rng: random.Random) -> tuple[tuple[int, int], tuple[int, int], str]:
        p, q = sorted([self.random_position(rng), self.random_position(rng)])
        if rng.random() < 0.3:
            q = p  # a pure insertion
        return p, q, random_text(rng, 0 if rng.random() < 0.3 else 6)


def random_text(rng: random.Random, max_len: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, max_len)))
