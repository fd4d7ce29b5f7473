"""What "the code" is when the user selected nothing: the enclosing function, else the file."""

from __future__ import annotations

import ast

from codechat import syntax


def _line_offsets(text: str) -> list[int]:
    offs = [0]
    for ln in text.splitlines(keepends=True):
        offs.append(offs[-1] + len(ln))
    return offs


def _python_function(text: str, offset: int) -> tuple[int, int] | None:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    offs = _line_offsets(text)
    line = text[:offset].count("\n") + 1
    best = None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            last = node.end_lineno or node.lineno
            if first <= line <= last and (best is None or first >= best[0]):
                best = (first, last)
    if best is None:
        return None
    return offs[best[0] - 1], offs[min(best[1], len(offs) - 1)]


def enclosing_span(language_id: str, text: str, offset: int) -> tuple[int, int]:
    """Code-point span of the innermost function around `offset`, or the whole document."""
    if language_id == "python":
        span = _python_function(text, offset)
        if span is None:  # a file mid-edit that does not parse: tree-sitter still finds it
            span = syntax.enclosing_function(language_id, text, offset)
    else:
        span = syntax.enclosing_function(language_id, text, offset)
    return span if span is not None else (0, len(text))
