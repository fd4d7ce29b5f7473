"""Lines as the LSP counts them: `\r\n`, `\r` and `\n` all end a line.

Shared by the completion pipeline, CodeChat and the server's position conversion, so every room
agrees on where line N starts.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

#: Line breaks as LSP defines them. `str.splitlines` also splits on \x0c, \x1c, \u2028, ...,
#: which would put the cursor on the wrong line of a file that contains them. Shared by the
#: server's position conversion and CodeChat's offsets, so all three agree.
LSP_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def lsp_lines(text: str, keepends: bool = False) -> list[str]:
    """Split like an LSP client counts lines (only \\n, \\r\\n and \\r end a line)."""
    if "\r" not in text:  # the common case, at C speed
        parts = text.split("\n")
        if keepends:
            parts = [p + "\n" for p in parts[:-1]] + [parts[-1]]
        if parts[-1] == "":
            parts.pop()
        return parts
    out: list[str] = []
    pos = 0
    for m in LSP_LINE_BREAK.finditer(text):
        out.append(text[pos : m.end() if keepends else m.start()])
        pos = m.end()
    if pos < len(text):
        out.append(text[pos:])
    return out


def iter_lines(text: str) -> Iterator[str]:
    """`lsp_lines(text, keepends=True)`, lazily: a long document is never split whole."""
    if "\r" not in text:
        start = 0
        while start < len(text):
            j = text.find("\n", start)
            end = len(text) if j < 0 else j + 1
            yield text[start:end]
            start = end
        return
    start, nl, cr = 0, text.find("\n"), text.find("\r")
    while start < len(text):
        j = min(x for x in (nl, cr, len(text)) if x >= 0)
        if j == len(text):
            yield text[start:]
            return
        end = j + 2 if text[j] == "\r" and text.startswith("\n", j + 1) else j + 1
        yield text[start:end]
        start = end
        if 0 <= nl < start:  # only the break just used is searched again
            nl = text.find("\n", start)
        if 0 <= cr < start:
            cr = text.find("\r", start)


def iter_lines_reversed(text: str) -> Iterator[str]:
    """The lines of `text` with their line ends, from the last to the first, lazily; the last
    is the (maybe empty) line after the final line break, where a cursor at the end sits:
    `reversed(lsp_lines(text, keepends=True) + [""])` when `text` ends with a break or is empty.
    Each step searches back only to the previous break (a stray "\r" far up is found once)."""
    pos = search = len(text)
    nl, cr = text.rfind("\n"), text.rfind("\r")
    while True:
        j = max(nl, cr)
        if j < 0:
            yield text[:pos]
            return
        start = j - 1 if text[j] == "\n" and j and text[j - 1] == "\r" else j
        yield text[j + 1 : pos]
        pos, search = j + 1, start
        if nl >= search:
            nl = text.rfind("\n", 0, search)
        if cr >= search:
            cr = text.rfind("\r", 0, search)


def _ends(lines: list[str], keepends: bool) -> list[str]:
    return lines if keepends else [x.rstrip("\r\n") for x in lines]


def last_lines(text: str, n: int, keepends: bool = False) -> list[str]:
    """`lsp_lines(text, keepends)[-n:]`, without splitting all of a long document (the cursor
    analysis needs ~200 lines around the cursor of a 10k-line file, on every keystroke)."""
    if n <= 0:
        return []
    backward = iter_lines_reversed(text)
    if not text or text.endswith(("\n", "\r")):
        next(backward)  # the empty line after the final break, which lsp_lines leaves out
    out = list(itertools.islice(backward, n))
    out.reverse()
    return _ends(out, keepends)


def first_lines(text: str, n: int, keepends: bool = False) -> list[str]:
    """`lsp_lines(text, keepends)[:n]`, without splitting all of a long document."""
    if n <= 0:
        return []
    return _ends(list(itertools.islice(iter_lines(text), n)), keepends)


def line_starts(text: str) -> list[int]:
    """The index where each line starts; the last is the (maybe empty) line after the final
    line break, so a position on it exists: `len(line_starts(t)) == len(t.split("\\n"))` for a
    text without "\\r"."""
    if "\r" not in text:
        return [0, *(m.end() for m in _NEWLINE.finditer(text))]
    return [0, *(m.end() for m in LSP_LINE_BREAK.finditer(text))]


_NEWLINE = re.compile("\n")
