"""Fit the suggestion's indentation to the cursor's block and the file's style.

- indentation typed before the cursor is not repeated by the suggestion;
- a block body written without indentation is shifted into the block;
- tabs/spaces follow the file.
"""

from __future__ import annotations

from completion.cursor import Cursor, indent_of, width


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


def apply(text: str, cur: Cursor) -> str:
    if not text or cur.mode == "inline":
        return text
    lines = text.split("\n")
    first_ws = indent_of(lines[0])
    if cur.before and first_ws and not cur.before.strip():
        # the user already typed indentation; the model repeated it
        if first_ws == cur.before or width(cur.before) + width(first_ws) > width(
            cur.block_indent if cur.mode == "block" else cur.before
        ):
            lines[0] = lines[0][len(first_ws) :]
    elif cur.mode == "block" and lines[0].strip():
        have = width(cur.before + first_ws)
        opener = width(indent_of(cur.prev_line))
        if have <= opener:  # body not indented: move the whole suggestion into the block
            need = cur.block_indent[len(cur.before) :] if cur.before else cur.block_indent
            lines = [need + lines[0].lstrip(" \t")] + _shift(lines[1:], cur.indent_unit)
    return "\n".join(_restyle(x, cur.indent_unit) for x in lines)
