"""Prefix mode: end a multi-line suggestion where a model that never saw the suffix overruns.

A base model continuing the prefix does not know that code follows the cursor. Having written
the line that was missing, it goes on writing its own version of what comes next: the next
statement (often the suffix's own line, re-typed or rewritten: `if c == ')':` for the suffix's
`elif c == ')':`), a body the suffix already has, a new `def`, the function again from its
docstring. Measured on Gemma 3 270M (tests/completion/fixtures/pipeline/prefix), nearly every
line after the first that stands at the first line's level or left of it is such a guess.

So, when the code after the cursor goes on at the suggestion's level (the suffix's next
non-blank line is indented at least as deep as the suggestion's first line), the suggestion is
one statement: its first line, plus the lines indented deeper than it (a block it opens, a
continuation), unless the suffix's next line is itself deeper (the suffix already holds the
body: the first line alone). Where the code after the cursor stands left of the first line (the
block ends below the cursor), lines at the first line's level are kept up to the first dedent.
With nothing after the cursor, `block_end` alone decides (the end of the definition).

Each decision looks only at lines up to the cut, so the stream watcher can stop the generation
as soon as the line that ends the suggestion has arrived (`stream.py`). FIM-mode suggestions
pass unchanged: a FIM model saw the suffix and stops by itself.
"""

from __future__ import annotations

from completion.cursor import Cursor, indent_of, width
from completion.postprocess.base import laid_first_line


def _next_code_line(cur: Cursor) -> str:
    """The first non-blank line of the code after the cursor (the rest of the cursor line at a
    line start)."""
    if cur.after.strip():
        return cur.before + cur.after if not cur.before.strip() else ""
    return cur.next_line


def cut_index(text: str, cur: Cursor) -> int | None:
    """Where the suggestion ends (an index into `text`, at a line start), or None to keep it."""
    if not cur.prefix_mode or not cur.multiline or cur.mode == "inline":
        return None
    below = _next_code_line(cur)
    if not below.strip():
        return None
    lines = text.split("\n")
    # a comment line the model writes first (`# check the depth`) is kept, and the statement
    # after it is the one the suggestion holds
    comment = cur.lang.line_comment
    code = [i for i, x in enumerate(lines) if x.strip() and not (
        comment and x.lstrip().startswith(comment))]  # fmt: skip
    if not code:
        # comments only, cut off by the token limit: never glue half a comment line onto the
        # code after the cursor (`# 5. If the` + `    a, b = b, a % b` comments the code out)
        return text.rfind("\n") + 1 if "\n" in text and not text.endswith("\n") else None
    first = code[0]
    laid = laid_first_line(lines[first], cur) if first == 0 else lines[first]
    first_col, below_col = width(indent_of(laid)), width(indent_of(below))
    offset = sum(len(x) + 1 for x in lines[: first + 1])
    for line in lines[first + 1 :]:
        if line.strip():
            col = width(indent_of(line))
            if below_col > first_col or (
                col <= first_col if below_col >= first_col else col < first_col
            ):
                return offset
        offset += len(line) + 1
    return None


def apply(text: str, cur: Cursor) -> str:
    i = cut_index(text, cur)
    return text if i is None else text[:i]
