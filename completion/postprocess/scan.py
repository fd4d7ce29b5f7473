"""Bracket and quote scanning shared by the filters (a lexer's view, not a parser's)."""

from __future__ import annotations

from collections.abc import Iterator

OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = {v: k for k, v in OPENERS.items()}
QUOTES = "\"'`"


def code_chars(text: str, line_comment: str | None) -> Iterator[tuple[int, str, int]]:
    """(index, char, depth before the char) for characters outside strings and comments.

    Depth counts brackets opened within `text` only; a closer with depth 0 closes something
    opened before the text. Quotes are tracked per line (good enough for one suggestion).
    """
    depth = 0
    quote = ""
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\n":
            quote = ""
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = ""
            i += 1
            continue
        if line_comment and text.startswith(line_comment, i):
            nl = text.find("\n", i)
            if nl == -1:
                return
            i = nl
            continue
        if c in QUOTES:
            quote = c
            i += 1
            continue
        yield i, c, depth
        if c in OPENERS:
            depth += 1
        elif c in CLOSERS:
            depth -= 1
        i += 1


def balance(text: str, line_comment: str | None) -> tuple[int, int]:
    """(unmatched closers, unmatched openers) of `text`."""
    stack = 0
    lowest = 0
    for _, c, _ in code_chars(text, line_comment):
        if c in OPENERS:
            stack += 1
        elif c in CLOSERS:
            stack -= 1
            lowest = min(lowest, stack)
    return -lowest, stack - lowest
