"""The model's rewrite of the region turned into minimal edits, then postprocessed.

The rewrite is compared with the region line by line (difflib), and every changed block is
trimmed to the characters that really differ, so a renamed parameter is a three-character
edit, not a rewritten line, and an edit may sit lines away from the cursor. Postprocessing
then drops what a user must never be shown: edits that change nothing, edits that only re-type
the text already next to them (a duplicated line), and edits outside the region.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from nextedit.region import Region


@dataclass(frozen=True)
class TextEdit:
    """Replace the text from (start_line, start_col) to (end_line, end_col) with `text`.
    Columns are code points; positions are in the document the region came from."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int
    text: str

    @property
    def is_insertion(self) -> bool:
        return (self.start_line, self.start_col) == (self.end_line, self.end_col)


def _offset_to_pos(region: Region, offset: int) -> tuple[int, int]:
    """An index into `region.text + "\\n"` as a document (line, column)."""
    line = region.start
    for text in region.lines:
        if offset <= len(text):
            return line, offset
        offset -= len(text) + 1
        line += 1
    return line, 0  # the start of the line after the region


def _word(c: str) -> bool:
    return len(c) == 1 and (c.isalnum() or c == "_")


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def rewrite_to_edits(
    region: Region, new_lines: Sequence[str], doc_line_count: int | None = None
) -> list[TextEdit]:
    """Minimal edits that turn `region.lines` into `new_lines`, in document order."""
    old = list(region.lines)
    new = list(new_lines)
    # every line carries its terminator, so whole-line inserts and deletes are plain text
    old_text = "".join(x + "\n" for x in old)
    old_starts = [0]
    for x in old:
        old_starts.append(old_starts[-1] + len(x) + 1)
    edits: list[TextEdit] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    blocks: list[tuple[int, int, int, int]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "replace" and i2 - i1 == j2 - j1:  # line for line: one edit per line
            blocks += [(i1 + k, i1 + k + 1, j1 + k, j1 + k + 1) for k in range(i2 - i1)]
        else:
            blocks.append((i1, i2, j1, j2))
    for i1, i2, j1, j2 in blocks:
        a = "".join(x + "\n" for x in old[i1:i2])
        b = "".join(x + "\n" for x in new[j1:j2])
        pre = _common_prefix(a, b)
        suf = _common_prefix(a[pre:][::-1], b[pre:][::-1])
        # whole words: a rename shows as "w" → "width", not as "idth" inserted after "w"
        while (
            pre > 0 and _word(a[pre - 1]) and (_word(a[pre : pre + 1]) or _word(b[pre : pre + 1]))
        ):
            pre -= 1
        while (
            suf > 0
            and _word(a[len(a) - suf])
            and (
                _word(a[len(a) - suf - 1 : len(a) - suf])
                or _word(b[len(b) - suf - 1 : len(b) - suf])
            )
        ):
            suf -= 1
        a_mid, b_mid = a[pre : len(a) - suf], b[pre : len(b) - suf]
        if not a_mid and not b_mid:
            continue
        lo = old_starts[i1] + pre
        hi = lo + len(a_mid)
        edits.append(_edit(region, lo, hi, b_mid, len(old_text), doc_line_count))
    return edits


def _edit(
    region: Region, lo: int, hi: int, text: str, size: int, doc_line_count: int | None
) -> TextEdit:
    """An edit of region offsets [lo, hi). The region's text is read with a newline after its
    last line; when that line is the document's last, nothing follows it, so an edit reaching
    the virtual newline is moved before it."""
    at_doc_end = doc_line_count is not None and region.end >= doc_line_count
    if at_doc_end and hi >= size:
        if lo >= size:  # appending after the last line: "\nnew" at its end
            lo = hi = size - 1
            text = "\n" + (text[:-1] if text.endswith("\n") else text)
        elif text.endswith("\n"):
            hi, text = size - 1, text[:-1]
        else:  # the edit removes the last line break: take the one before the line instead
            hi = size - 1
            lo = max(0, lo - 1)
    sl, sc = _offset_to_pos(region, lo)
    el, ec = _offset_to_pos(region, hi)
    return TextEdit(sl, sc, el, ec, text)


def apply_edits(lines: Sequence[str], edits: Sequence[TextEdit]) -> list[str]:
    """The document lines after `edits` (non-overlapping, any order). Raises ValueError for an
    edit outside the document or edits that overlap: such an edit does not apply cleanly."""
    text = "\n".join(lines)
    starts = [0]
    for x in lines:
        starts.append(starts[-1] + len(x) + 1)

    def offset(line: int, col: int) -> int:
        if not 0 <= line < len(lines) or not 0 <= col <= len(lines[line]):
            if line == len(lines) and col == 0:
                return len(text)
            raise ValueError(f"position {line}:{col} is outside the document")
        return starts[line] + col

    spans = sorted(
        ((offset(e.start_line, e.start_col), offset(e.end_line, e.end_col), e.text) for e in edits),
        key=lambda s: (s[0], s[1]),
    )
    for (_, prev_end, _), (lo, _hi, _) in zip(spans, spans[1:], strict=False):
        if lo < prev_end:
            raise ValueError("edits overlap")
    for lo, hi, _ in spans:
        if hi < lo:
            raise ValueError("edit ends before it starts")
    for lo, hi, new in reversed(spans):
        text = text[:lo] + new + text[hi:]
    return text.split("\n")


# -- postprocessing -------------------------------------------------------------------------


def _text_between(lines: Sequence[str], e: TextEdit) -> str:
    if e.start_line == e.end_line:
        return lines[e.start_line][e.start_col : e.end_col] if e.start_line < len(lines) else ""
    parts = [lines[e.start_line][e.start_col :]]
    parts += list(lines[e.start_line + 1 : e.end_line])
    parts.append(lines[e.end_line][: e.end_col] if e.end_line < len(lines) else "")
    return "\n".join(parts)


def _retypes(lines: Sequence[str], e: TextEdit) -> bool:
    """An insertion of exactly the text beside it (the model repeated a line or a word)."""
    if not e.is_insertion or not e.text.strip():
        return False
    text = "\n".join(lines)
    at = sum(len(x) + 1 for x in lines[: e.start_line]) + e.start_col
    n = len(e.text)
    return text[at : at + n] == e.text or text[max(0, at - n) : at] == e.text


def postprocess(lines: Sequence[str], region: Region, edits: Sequence[TextEdit]) -> list[TextEdit]:
    """Drop no-op edits, edits that only re-type what is there, and edits outside the region."""
    kept: list[TextEdit] = []
    for e in edits:
        inside = region.start <= e.start_line and (
            e.end_line < region.end or (e.end_line == region.end and e.end_col == 0)
        )
        if not inside:
            continue
        if _text_between(lines, e) == e.text:
            continue
        if _retypes(lines, e):
            continue
        kept.append(e)
    return kept
