"""Drop repeated lines and degenerate repetition (a small model's favourite failure).

- a block of 1-4 lines immediately repeated (blank lines aside, the first line as it stands
  after the text before the cursor): keep the first copy, cut the rest (once a model loops,
  what follows is noise); one line of closers or a preprocessor directive may repeat
  (`}` `}`, `#endif` `#endif`);
- a short unit repeated inside a line (`foo(foo(foo(foo(`): keep one unit;
- a first line that repeats the line just above the cursor (an echo of the prefix).
"""

from __future__ import annotations

import re

from completion.cursor import Cursor
from completion.postprocess.base import laid_first_line

_DEGENERATE = re.compile(r"(.{3,}?)\1{3,}")
MAX_BLOCK = 4


def _structural(line: str, cur: Cursor) -> bool:
    """A line that code repeats on its own: only closers and punctuation (`}` `}`, `)`), or a
    bare `#endif` / `#else` (`#endif` `#endif`). A model that repeats one of these is a stray
    closer, which the syntax cut sees; a repeated statement is what a loop looks like."""
    s = line.strip()
    if s in ("#endif", "#else") and cur.lang.line_comment != "#":
        return True
    return not re.search(r"[A-Za-z0-9_]", s)


def apply(text: str, cur: Cursor) -> str:
    lines = text.split("\n")
    for i, line in enumerate(lines):
        m = _DEGENERATE.search(line)
        if m and len(m.group(0)) >= 16 and re.search(r"[A-Za-z]", m.group(1)):
            lines = lines[:i] + [line[: m.start() + len(m.group(1))]]
            break
    # repeated blocks, compared over non-blank lines (a model repeats across blank lines too),
    # as they will stand in the document: the first line follows what is before the cursor
    # (`  █  }` + `  }\n  }` is two different closers, at columns 4 and 2)
    # (or as the model wrote them: a model that repeats its own first line repeats it whole)
    laid = [laid_first_line(lines[0], cur)] + lines[1:]
    cut = len(lines)
    for view in (laid, lines):
        code = [(i, x.rstrip()) for i, x in enumerate(view) if x.strip()]
        for j in range(len(code)):
            for p in range(1, MAX_BLOCK + 1):
                first = [x for _, x in code[j : j + p]]
                second = [x for _, x in code[j + p : j + 2 * p]]
                if (
                    len(second) == p
                    and first == second
                    and not (p == 1 and _structural(first[0], cur))
                ):
                    cut = min(cut, code[j + p][0])
                    break
            if cut != len(lines):
                break
    keep_newline = cut < len(lines)
    lines = lines[:cut]
    if (
        cur.mode != "inline"
        and lines[0].strip()
        and (cur.before + lines[0]).rstrip() == cur.prev_line.rstrip()
    ):
        lines = lines[1:]
    out = "\n".join(lines)
    return out + "\n" if keep_newline and out else out
