"""Fit the suggestion's indentation to the cursor's block and the file's style.

The model's indentation is trusted: a correct answer is never re-indented. It is changed only
when it cannot be right:
- the model repeated the indentation typed before the cursor (editors that auto-indent after
  Enter), so the line would sit deeper than the line above allows; the first line then gets
  the model's own indentation as the full indentation;
- a block body written without indentation (at the opener's column) is shifted into the block;
- tabs/spaces follow the file, when the file uses one style only.
"""

from __future__ import annotations

from completion.cursor import Cursor, indent_of, max_next_indent, width
from completion.postprocess.base import doubled_indent
from completion.postprocess.scan import CLOSERS, balance
from textkit.lines import lsp_lines


def _restyle(line: str, unit: str) -> str:
    ws = indent_of(line)
    if not ws:
        return line
    if unit == "\t" and " " in ws:
        levels, rest = divmod(width(ws), 4)
        return "\t" * levels + " " * rest + line[len(ws) :]
    if unit != "\t" and "\t" in ws:
        return ws.replace("\t", unit) + line[len(ws) :]
    return line


def _shift(lines: list[str], by: str) -> list[str]:
    return [by + x if x.strip() else x for x in lines]


def _header_start(cur: Cursor) -> str:
    """The first line of the block opener's statement: `def f(a,` of a header whose arguments
    go on over several lines (the body is indented from there, not from the last line)."""
    above = [x for x in lsp_lines(cur.prefix[-20000:]) if x.strip()][-20:]
    if cur.before and above and above[-1] == cur.before:
        above.pop()
    text = ""
    for line in reversed(above):
        text = line + "\n" + text
        if balance(text, cur.lang.line_comment)[0] == 0:
            return line
    return cur.prev_line


def _unindented_body(first: str, cur: Cursor) -> bool:
    """Whether a first line at the opener's column can be a body the model forgot to indent:
    not a closer, not a preprocessor line, and the opener is a statement's first line (a
    continuation line's column says nothing about the body's)."""
    head = first.lstrip()
    if head[0] in CLOSERS or (head.startswith("#") and cur.lang.line_comment != "#"):
        return False
    above = [x for x in lsp_lines(cur.prefix[-20000:]) if x.strip()]
    if len(above) < 2:
        return True
    return max_next_indent(above[-2], cur) != float("inf")


def _mixed_styles(cur: Cursor) -> bool:
    window = cur.prefix[-20000:] + cur.suffix[:5000]
    return "\n\t" in window and "\n    " in window


def apply(text: str, cur: Cursor) -> str:
    if not text or cur.mode == "inline":
        return text
    lines = text.split("\n")
    first_ws = indent_of(lines[0])
    if cur.before and first_ws and not cur.before.strip() and lines[0].strip():
        fixed = doubled_indent(first_ws, cur)
        if fixed is not None:
            lines[0] = fixed + lines[0][len(first_ws) :]
    elif cur.mode == "block" and lines[0].strip() and _unindented_body(lines[0], cur):
        have = width(cur.before + first_ws)
        opener = width(indent_of(_header_start(cur)))
        if have <= opener:  # body not indented: move the whole suggestion into the block
            need = cur.block_indent[len(cur.before) :] if cur.before else cur.block_indent
            lines = [need + lines[0].lstrip(" \t")] + _shift(lines[1:], cur.indent_unit)
    if _mixed_styles(cur):
        return "\n".join(lines)
    return "\n".join(_restyle(x, cur.indent_unit) for x in lines)
