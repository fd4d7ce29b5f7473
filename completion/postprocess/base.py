"""What a filter is: a pure function of the suggestion so far and the cursor; and how a
suggestion at the start of a line (or inside its indentation) is laid out when inserted."""

from __future__ import annotations

from collections.abc import Callable

from completion.cursor import Cursor, indent_of, max_next_indent, width
from textkit import syntax

Filter = Callable[[str, Cursor], str]

_STATEMENT_ENDS = (";", "}")


def as_inserted(text: str, cur: Cursor) -> str:
    """The text as it will be inserted at the cursor.

    Only "line_start" (text after a cursor that has only indentation before it) needs a
    decision: the model's text is taken literally (a perfect answer is exactly what belongs
    between prefix and suffix, trailing newline and indentation included), unless the literal
    insertion is worse code than the whole-line reading, where the suggestion ends with a
    newline and the cursor line's indentation again (a model that stopped before the newline,
    or repeated the next line's indentation). Worse = more tree-sitter errors, then an
    implausible indentation of the line where the suggestion ends; ties keep the literal text.
    """
    if cur.mode != "line_start" or not text:
        return text
    key = ("line_start", text)
    if key not in cur.cache:
        cur.cache[key] = _line_start_layout(text, cur)
    return cur.cache[key]


def _candidates(text: str, cur: Cursor) -> list[str]:
    out = [text]
    nl = text.rfind("\n")
    base = text[: nl + 1] if nl != -1 and not text[nl + 1 :].strip() else text
    if base.endswith("\n"):
        out += [base, base + cur.before]
    else:
        out.append(base.rstrip(" \t") + "\n" + cur.before)
    return list(dict.fromkeys(out))


def _penalty(cand: str, cur: Cursor) -> int:
    """How implausible the layout where the suggestion meets the rest of the line is."""
    full = cur.before + cand
    lines = full.split("\n")
    tail = lines[-1]
    if tail.strip():  # the suggestion's last line runs on into the rest of the line
        end = tail.rstrip()
        glued = end.endswith(_STATEMENT_ENDS) and cur.after[:1].isalnum() and end == tail
        return 1 if glued else 0
    prev = next((x for x in reversed(lines[:-1]) if x.strip()), cur.prev_line)
    col = width(tail + indent_of(cur.after))
    return 1 if col > max_next_indent(prev, cur) else 0


def _line_start_layout(text: str, cur: Cursor) -> str:
    cands = _candidates(text, cur)
    if len(cands) == 1:
        return text
    pre, suf = syntax.code_window(cur.prefix, cur.suffix)
    best, best_score = text, None
    for cand in cands:
        errors = syntax.count_errors(cur.lang.grammar, pre + cand + suf) or 0
        score = (errors, _penalty(cand, cur))
        if best_score is None or score < best_score:
            best, best_score = cand, score
    return best


def doubled_indent(first_ws: str, cur: Cursor) -> str | None:
    """The first line's indentation relative to the cursor when the model wrote the full
    indentation again after the indentation already before the cursor, so that the line would
    sit deeper than the line above allows (None: keep the model's)."""
    limit = max_next_indent(cur.prev_line, cur)
    if width(cur.before + first_ws) <= limit or width(first_ws) > limit:
        return None
    if not first_ws.startswith(cur.before):
        return None
    return first_ws[len(cur.before) :]


def laid_first_line(line: str, cur: Cursor) -> str:
    """The suggestion's first line as it will stand in the document: after the text before the
    cursor, or as the model wrote it where it repeated that indentation (`doubled_indent`)."""
    if cur.mode != "inline" and cur.before and not cur.before.strip():
        ws = indent_of(line)
        if ws and line.strip() and doubled_indent(ws, cur) is not None:
            return line
    return cur.before + line
