"""Lines as the LSP counts them: `\r\n`, `\r` and `\n` all end a line.

Shared by the completion pipeline, CodeChat and the server's position conversion, so every room
agrees on where line N starts.
"""

from __future__ import annotations

import re

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


def last_lines(text: str, n: int, keepends: bool = False) -> list[str]:
    """`lsp_lines(text, keepends)[-n:]`, without splitting all of a long document (the cursor
    analysis needs ~200 lines around the cursor of a 10k-line file, on every keystroke)."""
    if n <= 0:
        return []
    if "\r" in text:
        return lsp_lines(text, keepends)[-n:]
    i = len(text) - 1 if text.endswith("\n") else len(text)
    for _ in range(n):
        j = text.rfind("\n", 0, i)
        if j < 0:
            return lsp_lines(text, keepends)
        i = j
    return lsp_lines(text[i + 1 :], keepends)


def first_lines(text: str, n: int, keepends: bool = False) -> list[str]:
    """`lsp_lines(text, keepends)[:n]`, without splitting all of a long document."""
    if n <= 0:
        return []
    if "\r" in text:
        return lsp_lines(text, keepends)[:n]
    i = -1
    for _ in range(n):
        i = text.find("\n", i + 1)
        if i < 0:
            return lsp_lines(text, keepends)
    return lsp_lines(text[: i + 1], keepends)
