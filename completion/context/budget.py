"""Fit prefix and suffix into a token budget, cutting on line boundaries.

The prefix start is snapped to a multiple of `ANCHOR_LINES`, so while the user types, the first
line of the prompt stays the same and the engine's KV prefix cache keeps matching; it only moves
in jumps when the budget forces it.

Cost: a 10k-line document must not cost more than a short one. The fitters walk lines outward
from the cursor (never splitting the whole document), stop at the budget, and measure a span as
the sum of its lines' counts, never re-tokenizing the joined text. The sum can only over-count
(joined, a newline and the next line's indent may merge into one token; nothing splits), so the
result stays within budget.
With a `MemoCounter` (completion.service uses one per engine) each distinct line is tokenized
once: a keystroke re-counts only the line it changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from completion.types import TokenCounter
from textkit.lines import iter_lines, iter_lines_reversed

ANCHOR_LINES = 16


class MemoCounter:
    """A token counter that remembers the counts of the strings it has seen.

    Lines of a document repeat from one keystroke to the next, so the budget fitter's per-line
    counts are nearly all hits. Bounded: past `capacity` entries it starts over.
    """

    def __init__(self, count: TokenCounter, capacity: int = 100_000, max_len: int = 16_384):
        self.count = count
        self.capacity = capacity
        self.max_len = max_len
        self._memo: dict[str, int] = {}

    def prime(self, lines: list[str], count_many: Callable[[list[str]], list[int]]) -> int:
        """Count the lines not yet known in one batch (a whole document, once); returns how
        many were counted. Safe to run in a worker thread while requests read the memo."""
        todo = [x for x in dict.fromkeys(lines) if len(x) <= self.max_len and x not in self._memo]
        todo = todo[: max(0, self.capacity - len(self._memo))]
        if todo:
            self._memo.update(zip(todo, count_many(todo), strict=True))
        return len(todo)

    def __call__(self, text: str) -> int:
        n = self._memo.get(text)
        if n is None:
            n = self.count(text)
            if len(text) <= self.max_len:
                if len(self._memo) >= self.capacity:
                    self._memo.clear()
                self._memo[text] = n
        return n


def _lines_backward(text: str, n_lines: int | None = None) -> tuple[int, Iterator[str]]:
    """(number of lines, the lines with their line ends from the last to the first), as
    `lsp_lines(text, keepends=True)` plus the empty cursor line when `text` ends with a line
    break, without splitting all of `text`. `n_lines`: the count, when the caller knows it."""
    if n_lines is None:
        n_lines = text.count("\n") + 1
        if "\r" in text:  # a lone CR ends a line too; CRLF is one break
            n_lines += text.count("\r") - text.count("\r\n")
    return n_lines, iter_lines_reversed(text)


def fit_prefix(prefix: str, count: TokenCounter, budget: int) -> str:
    """The end of `prefix` within `budget` tokens; whole lines, start anchored for KV reuse."""
    return fit_prefix_counted(prefix, count, budget)[0]


def fit_prefix_counted(
    prefix: str, count: TokenCounter, budget: int, n_lines: int | None = None
) -> tuple[str, int]:
    """`fit_prefix` and the tokens it was charged (the sum of its lines' counts, which can only
    over-count): the caller budgets with it instead of tokenizing the joined text again.
    `n_lines`, when the caller knows it (the cursor's line + 1), spares counting the prefix's
    line breaks."""
    if budget <= 0:
        return "", 0
    # Line indices are absolute (the prefix starts at the top of the document), so the anchor
    # grid does not move with the cursor. Counting stops at the budget.
    n_lines, backward = _lines_backward(prefix, n_lines)
    used = 0
    kept: list[tuple[str, int]] = []  # (line, tokens), from the cursor line up
    for line in backward:
        n = count(line)
        if used + n > budget and kept:
            break
        used += n
        kept.append((line, n))
        if used > budget:
            break
    start = n_lines - len(kept)
    if start == 0 and used <= budget:
        return prefix, used
    # snap the start forward to an anchor line (never past the cursor line)
    start = min(n_lines - 1, -(-start // ANCHOR_LINES) * ANCHOR_LINES)
    kept = kept[: n_lines - start]
    kept.reverse()
    text = "".join(line for line, _ in kept)
    used = sum(n for _, n in kept)
    if used > budget:  # the cursor line alone is too long: keep its end
        text = text[-budget * 2 :]
        used = count(text)
    return text, used


def fit_suffix(suffix: str, count: TokenCounter, budget: int) -> str:
    """The start of `suffix` within `budget` tokens, cut after a whole line."""
    return fit_suffix_counted(suffix, count, budget)[0]


def fit_suffix_counted(suffix: str, count: TokenCounter, budget: int) -> tuple[str, int]:
    """`fit_suffix` and the tokens it was charged (the sum of its lines' counts)."""
    if budget <= 0 or not suffix:
        return "", 0
    used = 0
    kept: list[str] = []
    for line in iter_lines(suffix):
        n = count(line)
        if used + n > budget:
            break
        used += n
        kept.append(line)
    if not kept:  # the rest of the cursor line alone is too long: keep its start
        first = next(iter_lines(suffix))[: budget * 2]
        return first, count(first)
    return "".join(kept), used
