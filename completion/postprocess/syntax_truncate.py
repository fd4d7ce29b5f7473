"""Truncate a multi-line suggestion at a complete syntax node (tree-sitter).

Each line boundary of the suggestion is a candidate end; the document is parsed with each
candidate inserted, and the longest candidate with the fewest ERROR/MISSING nodes wins. A stray
`)` or `}` line, or a statement cut off by the token limit, costs errors; a complete body does
not. Without a grammar, or inside a comment or string, the text passes unchanged.
"""

from __future__ import annotations

from completion.cursor import Cursor
from completion.postprocess.base import as_inserted
from textkit import syntax

MAX_CANDIDATES = 16


def apply(text: str, cur: Cursor) -> str:
    if not cur.multiline or "\n" not in text.rstrip("\n") or cur.in_comment or cur.in_string:
        return text
    if not syntax.has_grammar(cur.lang.grammar):
        return text
    ends = [i + 1 for i, c in enumerate(text) if c == "\n"]
    if not text.endswith("\n"):
        ends.append(len(text))
    candidates = [text[:e] for e in ends if text[:e].strip()]
    if len(candidates) > MAX_CANDIDATES:
        candidates = candidates[: MAX_CANDIDATES - 1] + [candidates[-1]]
    pre, suf = syntax.code_window(cur.prefix, cur.suffix)
    best, best_err = text, None
    for cand in reversed(candidates):  # longest first: the first error-free one wins
        err = syntax.count_errors(cur.lang.grammar, pre + as_inserted(cand, cur) + suf)
        if err is None:
            return text
        if best_err is None or err < best_err:
            best, best_err = cand, err
        if err == 0:
            break
    return best
