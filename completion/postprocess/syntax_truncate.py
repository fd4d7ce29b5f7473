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


def _directive_lines(text: str, cur: Cursor) -> list[bool]:
    """Per line of `text`: part of a preprocessor directive (`#ifdef`, `#endif`, a `#define`
    and its backslash-continued lines), where `#` does not start a comment."""
    if cur.lang.line_comment == "#":
        return [False] * len(text.split("\n"))
    above = cur.prefix[: len(cur.prefix) - len(cur.before)].rstrip("\r\n")
    prev = above[above.rfind("\n") + 1 :] if above else ""
    out = []
    for line in text.split("\n"):
        out.append(line.lstrip().startswith("#") or prev.rstrip().endswith("\\"))
        prev = line
    return out


def _candidates(text: str, cur: Cursor) -> list[str]:
    """Line-boundary cuts from the whole text back to `MAX_CUT_LINES` non-blank lines less,
    never through a preprocessor line: tree-sitter parses a conditional as a node that holds
    balanced code, so the `#ifdef __cplusplus` before a header's closing `}` always costs
    errors, and is never what a model overran."""
    lines = text.split("\n")
    directive = _directive_lines(text, cur)
    out: list[str] = []
    for k in range(len(lines), 0, -1):
        cand = "\n".join(lines[:k]) + ("\n" if k < len(lines) else "")
        if not cand.strip():
            break
        removed = [i for i in range(k, len(lines)) if lines[i].strip()]
        if len(removed) > MAX_CUT_LINES or any(directive[i] for i in removed):
            break
        if not out or cand != out[-1]:
            out.append(cand)
    return out


def _errors(grammar: str, doc: str) -> int | None:
    """ERROR and MISSING nodes, less the closers missing at the very end of the document: an
    unfinished file (or a parse window that ends inside a class) lacks them whatever the
    suggestion is, and a cut that drops an opener to make up for them damages the answer."""
    tree = syntax.parse(grammar, doc)
    if tree is None:
        return None
    end = len(doc.rstrip().encode("utf-8"))
    count = 0
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_missing and node.start_byte >= end:
            pass
        elif node.is_error or node.is_missing:
            count += 1
        if node.has_error:
            stack.extend(node.children)
    return count


def apply(text: str, cur: Cursor) -> str:
    if not cur.multiline or "\n" not in text.rstrip("\n") or cur.in_comment or cur.in_string:
        return text
    if not syntax.has_grammar(cur.lang.grammar):
        return text
    pre, suf = syntax.code_window(cur.prefix, cur.suffix)
    best, best_err = text, None
    for cand in _candidates(text, cur):  # longest first: the first error-free one wins
        err = _errors(cur.lang.grammar, pre + as_inserted(cand, cur) + suf)
        if err is None:
            return text
        if best_err is None or err < best_err:
            best, best_err = cand, err
        if err == 0:
            break
    return best
