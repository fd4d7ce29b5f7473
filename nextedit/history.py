"""Recent edits, per document and across files, coalesced the way a person edits.

Every change the editor reports goes through `observe(uri, text)`. Consecutive changes close
together in time and place form one burst (typing a word, a line, a rename of one parameter);
a pause or a jump elsewhere closes it. A closed burst becomes one `RecentEdit`: a unified diff
with 3 lines of context (Zeta's "User edited" blocks), and the changed lines before and after
(Sweep's `original:`/`updated:` pairs). Only the newest `max_edits` are kept, each cut to
`max_diff_chars`, so a long session costs a fixed amount of memory and prompt.

Diffs are computed once per burst, on the lines that changed (common leading and trailing
lines are skipped first), so a 10k-line document does not cost a full diff per keystroke.
"""

from __future__ import annotations

import difflib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

#: A pause longer than this (seconds) ends a burst.
BURST_GAP_S = 2.0
#: A change more than this many lines from the burst's lines ends it.
BURST_LINES = 2
CONTEXT_LINES = 3


@dataclass(frozen=True)
class RecentEdit:
    """One burst of editing in one document."""

    uri: str
    path: str
    #: Unified diff hunks (`@@ -a,b +c,d @@` and the lines), no file headers.
    diff: str
    #: The changed lines with their context, before and after (Sweep's original/updated).
    original: str
    updated: str
    #: Lines [start, start + len(old_lines)) became [start, start + len(new_lines)).
    start: int
    old_lines: tuple[str, ...]
    new_lines: tuple[str, ...]
    at: float

    def unified(self) -> str:
        """The diff with file headers, as `diff -u` prints it."""
        return f"--- a/{self.path}\n+++ b/{self.path}\n{self.diff}"


def changed_span(a: list[str], b: list[str]) -> tuple[int, int, int]:
    """(first changed line, end of the change in `a`, end in `b`) after skipping common
    leading and trailing lines; (n, n, n) when equal."""
    n = min(len(a), len(b))
    pre = 0
    while pre < n and a[pre] == b[pre]:
        pre += 1
    suf = 0
    while suf < n - pre and a[len(a) - 1 - suf] == b[len(b) - 1 - suf]:
        suf += 1
    return pre, len(a) - suf, len(b) - suf


def diff_hunks(a: list[str], b: list[str], context: int = CONTEXT_LINES) -> str:
    """Unified diff hunks of `a` → `b` (difflib), line numbers of the whole documents."""
    start, a_end, b_end = changed_span(a, b)
    lo = max(0, start - context)
    a_part, b_part = a[lo : a_end + context], b[lo : b_end + context]
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, a_part, b_part, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        i1, i2 = group[0][1], group[-1][2]
        j1, j2 = group[0][3], group[-1][4]
        out.append(f"@@ -{_span(lo + i1, i2 - i1)} +{_span(lo + j1, j2 - j1)} @@")
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                out += [" " + x for x in a_part[a1:a2]]
                continue
            out += ["-" + x for x in a_part[a1:a2]]
            out += ["+" + x for x in b_part[b1:b2]]
    return "\n".join(out) + ("\n" if out else "")


def _span(start: int, length: int) -> str:
    # diff -u: 1-based start; an empty side names the line before it
    first = start + 1 if length else start
    return str(first) if length == 1 else f"{first},{length}"


def sides(diff: str) -> tuple[str, str]:
    """Sweep's `original:` and `updated:` texts of a diff: context lines on both sides."""
    old: list[str] = []
    new: list[str] = []
    for line in diff.splitlines():
        if line.startswith("@@"):
            continue
        if line.startswith("-"):
            old.append(line[1:])
        elif line.startswith("+"):
            new.append(line[1:])
        elif line.startswith(" "):
            old.append(line[1:])
            new.append(line[1:])
    return "\n".join(old), "\n".join(new)


@dataclass
class _Burst:
    base: list[str]  # the lines before the burst
    lines: list[str]  # the lines now
    first: int  # changed lines so far, in `lines`
    last: int
    updated: float


@dataclass
class _Doc:
    path: str
    lines: list[str]
    burst: _Burst | None = None


class EditHistory:
    """Recent edits across documents, newest last."""

    def __init__(
        self,
        max_edits: int = 16,
        max_diff_chars: int = 2000,
        max_documents: int = 64,
        burst_gap_s: float = BURST_GAP_S,
        burst_lines: int = BURST_LINES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_edits = max_edits
        self.max_diff_chars = max_diff_chars
        self.max_documents = max_documents
        self.burst_gap_s = burst_gap_s
        self.burst_lines = burst_lines
        self.clock = clock
        self._docs: OrderedDict[str, _Doc] = OrderedDict()
        self._closed: list[RecentEdit] = []

    def open(self, uri: str, text: str, path: str | None = None) -> None:
        """The document's text as opened: the baseline its edits are measured from."""
        self._docs[uri] = _Doc(path or uri, text.split("\n"))
        self._docs.move_to_end(uri)
        while len(self._docs) > self.max_documents:
            old_uri, _ = self._docs.popitem(last=False)
            self._close_burst(old_uri)

    def forget(self, uri: str) -> None:
        """The document was closed: its open burst becomes an edit, the baseline goes."""
        self._close_burst(uri)
        self._docs.pop(uri, None)

    def observe(self, uri: str, text: str, path: str | None = None) -> None:
        """The document's text after a change."""
        doc = self._docs.get(uri)
        if doc is None:  # a change to a document we never saw opened: it is the baseline
            self.open(uri, text, path)
            return
        if path:
            doc.path = path
        new = text.split("\n")
        prev = doc.burst.lines if doc.burst else doc.lines
        start, _, new_end = changed_span(prev, new)
        if start == len(prev) == len(new):
            return  # no change (a version bump)
        now = self.clock()
        last = max(start, new_end - 1)
        b = doc.burst
        near = (
            b is not None
            and start <= b.last + self.burst_lines
            and last >= b.first - (self.burst_lines)
        )
        if b is not None and near and now - b.updated <= self.burst_gap_s:
            shift = len(new) - len(prev)  # lines below the change moved
            b.first = min(b.first, start)
            b.last = max(b.last + (shift if b.last >= start else 0), last)
            b.lines, b.updated = new, now
            return
        self._close_burst(uri)
        doc.burst = _Burst(base=doc.lines, lines=new, first=start, last=last, updated=now)
        self._docs.move_to_end(uri)

    def _make_edit(self, uri: str, doc: _Doc, b: _Burst) -> RecentEdit | None:
        start, a_end, b_end = changed_span(b.base, b.lines)
        if start == len(b.base) == len(b.lines):
            return None  # typed and undone: nothing happened
        diff = diff_hunks(b.base, b.lines)
        if len(diff) > self.max_diff_chars:
            diff = diff[: self.max_diff_chars].rsplit("\n", 1)[0] + "\n"
        original, updated = sides(diff)
        return RecentEdit(
            uri=uri,
            path=doc.path,
            diff=diff,
            original=original,
            updated=updated,
            start=start,
            old_lines=tuple(b.base[start:a_end]),
            new_lines=tuple(b.lines[start:b_end]),
            at=b.updated,
        )

    def _close_burst(self, uri: str) -> None:
        doc = self._docs.get(uri)
        if doc is None or doc.burst is None:
            return
        b, doc.burst = doc.burst, None
        doc.lines = b.lines
        edit = self._make_edit(uri, doc, b)
        if edit is not None:
            self._closed.append(edit)
            del self._closed[: -self.max_edits]

    def recent(self, limit: int | None = None) -> list[RecentEdit]:
        """Recent edits across documents, oldest first; open bursts count as edits."""
        edits = list(self._closed)
        for uri, doc in self._docs.items():
            if doc.burst is not None:
                e = self._make_edit(uri, doc, doc.burst)
                if e is not None:
                    edits.append(e)
        edits.sort(key=lambda e: e.at)
        n = self.max_edits if limit is None else min(limit, self.max_edits)
        return edits[-n:] if n > 0 else []

    def last_edit(self, uri: str | None = None) -> RecentEdit | None:
        """The newest edit (in `uri` if given)."""
        for e in reversed(self.recent()):
            if uri is None or e.uri == uri:
                return e
        return None

    def add(self, edit: RecentEdit) -> None:
        """Record a finished edit directly (benchmarks replaying history, accepted edits)."""
        self._closed.append(edit)
        del self._closed[: -self.max_edits]


def edit_from_texts(uri: str, path: str, before: str, after: str, at: float = 0.0) -> RecentEdit:
    """A `RecentEdit` from two versions of a document (benchmarks, tests)."""
    h = EditHistory(clock=lambda: at)
    h.open(uri, before, path)
    h.observe(uri, after, path)
    edit = h.last_edit(uri)
    if edit is None:
        raise ValueError("the two versions are equal")
    return edit
