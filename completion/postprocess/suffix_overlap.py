"""Remove what the suggestion repeats of the text after the cursor.

Models often run on into the suffix: the rest of the line (`foo(x))` before an existing `)`),
or the next lines of the file. Inside a line, a repeated closer is only removed when that makes
the code better formed (tree-sitter error count, or bracket balance without a grammar), since
`bar(█)` + `foo(x)` ends in `)` legitimately.
"""

from __future__ import annotations

from completion.cursor import Cursor, following_lines, indent_of, width
from completion.postprocess.base import as_inserted
from completion.postprocess.scan import balance
from textkit import syntax


def _errors(text: str, cur: Cursor) -> int:
    pre, suf = syntax.code_window(cur.prefix, cur.suffix)
    n = syntax.count_errors(cur.lang.grammar, pre + as_inserted(text, cur) + suf)
    if n is not None:
        return n
    line = cur.before + text + cur.after
    missing, extra = balance(line, cur.lang.line_comment)
    return missing + extra


def _rest_of_line(text: str, cur: Cursor) -> str:
    rest = cur.after.strip()
    body = text.rstrip()
    if not rest or not body:
        return text
    base = None
    for k in range(min(len(body), len(rest)), 0, -1):
        if not body.endswith(rest[:k]):
            continue
        trimmed = body[:-k].rstrip() if k == len(rest) else body[:-k]
        if base is None:
            base = _errors(text, cur)
        fewer = _errors(trimmed, cur)
        if fewer < base or (fewer == base and k == len(rest)):
            return trimmed
    return text


def _following(text: str, cur: Cursor) -> str:
    lines = text.split("\n")
    complete_last = text.endswith("\n")
    if complete_last:
        lines = lines[:-1]
    comp = [(i, x) for i, x in enumerate(lines) if x.strip()]
    head = [cur.after] if cur.after.strip() else []
    head += [x for x in following_lines(cur, 40) if x.strip()]
    head = head[:12]
    for k in range(min(len(comp), len(head)), 0, -1):
        tail = comp[-k:]
        if any(tail[j][1].rstrip() != head[j].rstrip() for j in range(k - 1)):
            continue
        last, want = tail[-1][1].rstrip(), head[k - 1].rstrip()
        partial_ok = not complete_last and len(last.strip()) >= 3 and want.startswith(last)
        if last == want or partial_ok:
            start = tail[0][0]
            return "\n".join(lines[:start]) + "\n" if start else ""
    return text


#: Non-blank characters a tail must have to count as the suffix typed again.
MIN_RETYPED = 8


def _retyped_suffix(text: str, cur: Cursor) -> str:
    """Cut the longest tail of the suggestion that is the start of the suffix, character for
    character (a model that wrote the middle and went on with the code after the cursor; the
    tail may end anywhere in the suffix, mid-line included).

    How much must match depends on where the tail starts: at a line start, `MIN_RETYPED`
    characters or a whole line; after code on a line, the whole rest of that line; inside a
    line's indentation, more than one line of the suffix, part of its next line with its
    indentation (kept, that would stand inside a line), or its next line whole where keeping
    it would leave that line at a column no line above opened (`_impossible_dedent`). At a
    column that exists, `        return False` then `    return False` is code (HumanEval/92
    ends that way), and the answer is kept."""
    suffix = cur.suffix[:4000].replace("\r\n", "\n")
    if not suffix.strip():
        return text
    for i in range(len(text)):
        tail = text[i:]
        if not tail.strip():
            break
        if not suffix.startswith(tail):
            continue
        head = text[text.rfind("\n", 0, i) + 1 : i]
        lines_in_tail = tail.rstrip("\n").count("\n")
        # part of an indented line of the suffix, indentation included: kept, that indentation
        # would stand inside a line (`    ret    return x`), which no code does
        glued = tail[0] in " \t" and "\n" not in tail and not head.strip()
        if not head:
            enough = (
                len(tail.strip()) >= MIN_RETYPED
                or ("\n" in tail and len(tail.strip()) >= 2)
                or glued
            )
        elif not head.strip():
            enough = lines_in_tail >= 1 or glued or _impossible_dedent(text[:i], tail, cur)
        else:
            enough = "\n" in tail or len(tail.strip()) >= MIN_RETYPED
        if enough:
            # on an empty cursor line the suffix starts with its line break: keep the
            # suggestion's own last line break, as whole-line cuts do
            return text[: i + 1] if tail[0] == "\n" and not cur.after.strip() else text[:i]
    return text


def _impossible_dedent(kept: str, tail: str, cur: Cursor) -> bool:
    """Whether keeping `tail` (one line of the suffix typed again from inside the indentation
    of the suggestion's last line) would leave the suffix's own line at a column no line above
    opened: then the middle ended inside that indentation and the model went on with the
    suffix. At a column that exists (`        return x` then `    return x`) both readings are
    code, and the answer is kept."""
    col = width(indent_of(tail))
    lines = [x for x in (cur.prefix[-4000:] + kept + tail).split("\n") if x.strip()]
    if not lines:
        return False
    level = width(indent_of(lines[-1]))
    if col >= level:
        return False
    for line in reversed(lines[-200:]):
        w = width(indent_of(line))
        if w == col:
            return False
        if w < col:
            return True
    return True


def apply(text: str, cur: Cursor) -> str:
    if not text:
        return text
    if cur.mode != "inline" or cur.multiline:
        text = _retyped_suffix(text, cur)
        if not text:
            return text
    if cur.mode == "inline" and not (cur.multiline and "\n" in text.rstrip("\n")):
        return _rest_of_line(text, cur)
    return _following(text, cur)
