"""Degenerate repetition: a model stuck writing the same sentence, line or short cycle forever.

Small and base models fall into loops ("The function returns the sum. The function returns the
sum. …") and, left alone, write until `max_tokens`. Both CodeChat and completions watch their
stream with `find_loop` and stop the generation once the text has *ended* in the same unit
repeated a few times.

A loop is a tail of the text that is periodic: its last `copies * len(unit)` characters are
`unit` repeated (any rotation of it: the check compares the tail with itself shifted by one
period, so it holds at every character once the loop has gone round enough). What keeps it from
firing on legitimate repetitive code:

* the unit must carry content (`MIN_UNIT_WORD_CHARS` letters/digits): `}` `}` `}`, `0, 0, 0`,
  `[0, 0, 0],` rows, `=====` rules and blank lines never count;
* it must be a *primitive* unit (not itself a repetition of a smaller one) and repeat exactly:
  similar lines that differ (`x1 = 0`, `x2 = 0`; table rows; test cases) are not a loop;
* short units need more copies (the repeated span must hold `MIN_SPAN_WORD_CHARS` word
  characters): three copies of a sentence, a dozen of a single word;
* text the user already has (`allowed`, e.g. the selection being refactored) may repeat: a unit
  that occurs twice in a row there is not the model's loop.

Built on Gemma 3 270M base's real loops (explain prompts: one sentence repeated from its middle,
"… logic. It is a simple example … logic. It is …", within ~60 tokens; or its whole answer block
again after a `### Explanation:` header); see `tests/test_repetition.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Word characters a repeated unit must hold to count (a closer or a number alone does not).
MIN_UNIT_WORD_CHARS = 4
#: Word characters the whole repeated span must hold: a long sentence is a loop at 3 copies,
#: a single short word only after many.
MIN_SPAN_WORD_CHARS = 48
#: Copies of the unit, at least, before it is a loop (the first one is the legitimate one).
MIN_COPIES = 3
#: Longest unit considered, in characters (a cycle of a few lines).
MAX_UNIT_CHARS = 400

_WORD = re.compile(r"[^\W_]", re.UNICODE)


@dataclass(frozen=True)
class Loop:
    """The repeated unit at the end of the text and where the repetition began."""

    unit: str
    copies: int
    #: Offset in the text where the first copy starts.
    start: int
    #: Offset to keep the text up to: through the first copy, back to the last sentence or line
    #: end inside it when there is one (a loop often starts mid-sentence: "… logic. It is …").
    keep_until: int


def _word_chars(s: str) -> int:
    return len(_WORD.findall(s))


def _primitive(unit: str) -> bool:
    """Whether `unit` is not a repetition of a shorter string (`abab` is not primitive)."""
    return (unit + unit).find(unit, 1) == len(unit)


def _squash(text: str) -> str:
    """Line ends normalized and trailing spaces dropped (the user's text is compared with the
    model's, which writes its own line ends)."""
    return re.sub(r"[ \t]+\n", "\n", text.replace("\r\n", "\n"))


def find_loop(text: str, allowed: str = "") -> Loop | None:
    """The loop the text ends in, or None. `allowed`: text in which repetition is legitimate.
    Offsets in the result are offsets into `text`."""
    n = len(text)
    for p in range(1, min(MAX_UNIT_CHARS, n // MIN_COPIES) + 1):
        # periodic with period p over the last MIN_COPIES periods
        if text[n - MIN_COPIES * p : n - p] != text[n - (MIN_COPIES - 1) * p :]:
            continue
        unit = text[n - p :]
        words = _word_chars(unit)
        if words < MIN_UNIT_WORD_CHARS or not _primitive(unit):
            continue
        # how far back does the period hold? (to the character: the unit then starts where
        # the model began repeating, e.g. at a sentence, not somewhere inside it)
        start = n - MIN_COPIES * p
        while start - p >= 0 and text[start - p : start] == text[start : start + p]:
            start -= p
        while start > 0 and text[start - 1] == text[start - 1 + p]:
            start -= 1
        copies = (n - start) // p
        if copies * words < MIN_SPAN_WORD_CHARS:
            continue
        if allowed and _is_allowed(text[start : start + 2 * p], allowed):
            continue
        return Loop(text[start : start + p], copies, start, _boundary(text, start, start + p))
    return None


def _boundary(text: str, start: int, end: int) -> int:
    """The end of the last sentence or line in text[start:end] (just after its `.`/`!`/`?` or
    newline), else `end`."""
    best = -1
    for mark in (". ", ".\n", "! ", "? ", "\n"):
        i = text.rfind(mark, start, end)
        if i >= 0:
            best = max(best, i + 1)
    if end > 0 and text[end - 1] in ".!?\n":
        best = end
    return best if best > start else end


def _is_allowed(twice: str, allowed: str) -> bool:
    """The unit (some rotation of it) already repeats in the user's text."""
    squashed = _squash(allowed)
    p = len(twice) // 2
    # any rotation: the loop may be caught mid-unit; compare on whitespace-collapsed text so
    # re-indented code still matches
    flat = " ".join(squashed.split())
    for shift in range(p):
        rot = twice[shift : shift + p]
        probe = " ".join((rot + rot).split())
        if probe and probe in flat:
            return True
        if shift > 40:  # rotations starting far inside a long unit: the start ones suffice
            break
    return False


def cut_loop(text: str, allowed: str = "") -> tuple[str, Loop | None]:
    """`text` with a trailing loop cut to its first copy (and the loop), or unchanged."""
    loop = find_loop(text, allowed)
    if loop is None:
        return text, None
    return text[: loop.keep_until].rstrip(), loop
