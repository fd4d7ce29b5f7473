"""Fit prefix and suffix into a token budget, cutting on line boundaries.

The prefix start is snapped to a multiple of `ANCHOR_LINES`, so while the user types, the first
line of the prompt stays the same and the engine's KV prefix cache keeps matching; it only moves
in jumps when the budget forces it.
"""

from __future__ import annotations

from completion.types import TokenCounter, lsp_lines

ANCHOR_LINES = 16


def _tokens_per_line(lines: list[str], count: TokenCounter, budget: int, reverse: bool) -> int:
    """How many lines (from the end when `reverse`) fit in `budget`, counting line by line."""
    used = kept = 0
    order = range(len(lines) - 1, -1, -1) if reverse else range(len(lines))
    for i in order:
        used += count(lines[i])
        if used > budget:
            break
        kept += 1
    return kept


def fit_prefix(prefix: str, count: TokenCounter, budget: int) -> str:
    """The end of `prefix` within `budget` tokens; whole lines, start anchored for KV reuse."""
    if budget <= 0:
        return ""
    # Line indices are absolute (the prefix starts at the top of the document), so the anchor
    # grid does not move with the cursor. Counting stops at the budget: a long file costs no
    # more than a short one.
    lines = lsp_lines(prefix, keepends=True)
    if not lines or prefix.endswith(("\n", "\r")):
        lines.append("")  # the (empty) cursor line
    keep = max(1, _tokens_per_line(lines, count, budget, reverse=True))
    start = len(lines) - keep
    if start == 0 and count(prefix) <= budget:
        return prefix
    # snap the start forward to an anchor line (never past the cursor line)
    start = min(len(lines) - 1, -(-start // ANCHOR_LINES) * ANCHOR_LINES)
    while True:
        text = "".join(lines[start:])
        if count(text) <= budget or start >= len(lines) - 1:
            break
        start = min(len(lines) - 1, start + ANCHOR_LINES)
    if count(text) > budget:  # the cursor line alone is too long: keep its end
        text = text[-budget * 2 :]
    return text


def fit_suffix(suffix: str, count: TokenCounter, budget: int) -> str:
    """The start of `suffix` within `budget` tokens, cut after a whole line."""
    if budget <= 0 or not suffix:
        return ""
    lines = lsp_lines(suffix, keepends=True)
    keep = _tokens_per_line(lines, count, budget, reverse=False)
    while keep > 0 and count("".join(lines[:keep])) > budget:
        keep -= 1
    if keep == 0:  # the rest of the cursor line alone is too long: keep its start
        return lines[0][: budget * 2]
    return "".join(lines[:keep])
