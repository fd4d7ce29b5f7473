"""Truncate a multi-line suggestion at a complete syntax node (tree-sitter).

The line boundaries near the end of the suggestion are candidate ends; the document is parsed
with each candidate inserted, and the longest candidate with the fewest ERROR/MISSING nodes
wins. A stray `)` or `}` line, or a statement cut off by the token limit, costs errors; a
complete body does not. Without a grammar, or inside a comment or string, the text passes
unchanged.

Only the last `MAX_CUT_LINES` non-blank lines can go. What a model overruns sits at the end
(the other filters have already cut run-ons, repeats and the suffix typed again), while an error
further up in a suggestion that goes on with well-formed lines is the parser's, not the
model's: tree-sitter misreads macros (`Py_DEPRECATED(3.7) PyAPI_FUNC(void) f(void);`) and
preprocessor blocks, and cutting there would throw away a correct answer. For the same reason
preprocessor lines are never cut.
"""

from __future__ import annotations

from completion.cursor import Cursor
from completion.postprocess.base import as_inserted
from textkit import syntax

#: Non-blank lines at the end of a suggestion that the syntax cut may remove.
MAX_CUT_LINES = 3


def _directive(line: str, cur: Cursor) -> bool:
    """A preprocessor line (`#ifdef`, `#endif`, ...) where `#` does not start a comment."""
    return line.lstrip().startswith("#") and cur.lang.line_comment != "#"


def _candidates(text: str, cur: Cursor) -> list[str]:
    """Line-boundary cuts from the whole text back to `MAX_CUT_LINES` non-blank lines less,
    never through a preprocessor line: tree-sitter parses a conditional as a node that holds
    balanced code, so the `#ifdef __cplusplus` before a header's closing `}` always costs
    errors, and is never what a model overran."""
    ends = [i + 1 for i, c in enumerate(text) if c == "\n"]
    if not text.endswith("\n"):
        ends.append(len(text))
    out: list[str] = []
    for e in reversed(ends):
        cand = text[:e]
        if not cand.strip():
            break
        removed = [x for x in text[e:].split("\n") if x.strip()]
        if len(removed) > MAX_CUT_LINES or any(_directive(x, cur) for x in removed):
            break
        out.append(cand)
    return out


def apply(text: str, cur: Cursor) -> str:
    if not cur.multiline or "\n" not in text.rstrip("\n") or cur.in_comment or cur.in_string:
        return text
    if not syntax.has_grammar(cur.lang.grammar):
        return text
    pre, suf = syntax.code_window(cur.prefix, cur.suffix)
    best, best_err = text, None
    for cand in _candidates(text, cur):  # longest first: the first error-free one wins
        err = syntax.count_errors(cur.lang.grammar, pre + as_inserted(cand, cur) + suf)
        if err is None:
            return text
        if best_err is None or err < best_err:
            best, best_err = cand, err
        if err == 0:
            break
    return best
