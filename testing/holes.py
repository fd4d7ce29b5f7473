"""Holes cut in real code, and the answers a perfect model would give (with realistic overruns).

The perfect-answer property test and `tandem bench infill` build their cases here: a source
file, a span [start, end) taken out of it, and the cursor where the span was. A perfect model
answers exactly the span; a realistic one writes the span and then overruns (the suffix's next
lines again, the last line again, a stray closer, half of the rest of the line, a new
function). Postprocessing must give the span back in every case the mid-line policy allows.

Cursor modes measured separately (`position_kind`): "line_start" (column 0), "in_indent"
(inside the indentation), "mid_line" (after code on the line), "block" (an empty line after a
block opener). Hole kinds say how the span was chosen: whole lines, inside the indentation,
mid-line, mid-word, several lines, long middles of 10-30 lines, block ends, mid-line before
closers, random spans, and random spans that start at a line start or inside the indentation and
end anywhere (the held-out random-span layouts, found by the generator itself).
`exact_verdict` says strictly how a finalized exact middle came back: whole, a documented policy
cut, or damaged.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import cached_property

from completion.cursor import indent_of, rest_is_closers, width
from completion.types import CompletionContext
from textkit import syntax
from textkit.lines import LSP_LINE_BREAK

_BARE_MARKERS = {"#", "//", "/*", "--", "*", "<!--"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{3,}")
_CLOSERS = ")]}"

_GRAMMARS = {
    "python": "python", "go": "go", "rust": "rust", "java": "java", "c": "c", "cpp": "cpp",
    "javascript": "javascript", "typescript": "typescript",
}  # fmt: skip

#: A new definition a model runs on into, per language (the "run-on" overrun).
RUN_ON = {
    "python": "\n\ndef helper_function(value):\n    return value\n",
    "go": "\n\nfunc helperFunction(value int) int {\n\treturn value\n}\n",
    "rust": "\n\nfn helper_function(value: i32) -> i32 {\n    value\n}\n",
    "java": "\n\n    public int helperFunction(int value) {\n        return value;\n    }\n",
    "c": "\n\nstatic int helper_function(int value) {\n    return value;\n}\n",
    "cpp": "\n\nstatic int helper_function(int value) {\n    return value;\n}\n",
    "javascript": "\n\nfunction helperFunction(value) {\n  return value;\n}\n",
    "typescript": "\n\nfunction helperFunction(value: number): number {\n  return value;\n}\n",
}


@dataclass
class Hole:
    """A span cut out of `source`; the cursor sits where the span was."""

    source: str
    start: int
    end: int
    language_id: str
    uri: str
    kind: str

    @property
    def middle(self) -> str:
        return self.source[self.start : self.end]

    @property
    def prefix(self) -> str:
        return self.source[: self.start]

    @property
    def suffix(self) -> str:
        return self.source[self.end :]

    @cached_property
    def context(self) -> CompletionContext:
        prefix = self.prefix
        breaks = list(LSP_LINE_BREAK.finditer(prefix))
        line_start = breaks[-1].end() if breaks else 0
        return CompletionContext(
            self.uri, self.language_id, prefix + self.suffix, len(breaks), len(prefix) - line_start
        )

    @property
    def code_start(self) -> int:
        """Where the middle's code starts (past its leading whitespace): the definition around
        it is read there, as `block_end` reads it."""
        mid = self.middle
        return self.start + len(mid) - len(mid.lstrip(" \t\r\n"))

    @property
    def before(self) -> str:
        return LSP_LINE_BREAK.split(self.prefix)[-1]

    @property
    def after(self) -> str:
        return LSP_LINE_BREAK.split(self.suffix, maxsplit=1)[0]

    @property
    def position_kind(self) -> str:
        before = self.before
        if before.strip():
            return "mid_line"
        if not self.after.strip():
            above = [x for x in LSP_LINE_BREAK.split(self.prefix)[:-1] if x.strip()]
            prev = above[-1].rstrip() if above else ""
            if prev.endswith((":", "{", "(", "[")):
                return "block"
        return "line_start" if not before else "in_indent"

    @cached_property
    def allowed_lines(self) -> bool:
        """Whether the policy lets the whole middle come back: it stays inside the definition
        around the cursor (block_end stops there), mid-line it is one line or an open
        statement before a rest of line that is only closers, and in a comment or string it is
        one line."""
        single = not LSP_LINE_BREAK.search(self.middle.rstrip("\r\n"))
        if single:
            return True
        if self.before.strip() and not (
            self.kind == "mid_line_multi" and rest_is_closers(self.after)
        ):
            return False
        from completion.cursor import analyze

        cur = analyze(self.context)
        if cur.in_string or cur.in_comment:
            return False
        return self._inside_definition(cur)

    def _inside_definition(self, cur) -> bool:
        grammar = _GRAMMARS.get(self.language_id)
        header = syntax.enclosing_definition_line(grammar, self.source, self.code_start)
        if header is None:
            if cur.mode != "block":
                return True
            limit = width(indent_of(cur.prev_line))  # a new top-level block is the scope
        else:
            limit = width(indent_of(LSP_LINE_BREAK.split(self.source)[header]))
        later = [x for x in LSP_LINE_BREAK.split(self.middle)[1:] if x.strip()]
        for k, line in enumerate(later):
            col = width(indent_of(line))
            if col < limit or (
                col == limit and not (line.strip()[0] in _CLOSERS and k == len(later) - 1)
            ):
                return False
        return True

    def overruns(self, rng: random.Random) -> dict[str, str]:
        """Raw outputs: the middle followed by each kind of realistic overrun."""
        mid = self.middle
        nl = "\r\n" if "\r\n" in self.source[:2000] else "\n"
        rest = self.suffix
        lines = LSP_LINE_BREAK.split(rest)
        out: dict[str, str] = {}
        k = rng.randint(1, 3)
        out["suffix_lines"] = mid + nl.join(lines[: k + 1]) + nl
        # lines as they stand in the document (the first one after the text before the cursor):
        # a model that repeats a line repeats what it sees
        laid = LSP_LINE_BREAK.split(self.before + mid)
        code_lines = [x for x in laid if x.strip()]
        if code_lines and mid.endswith(("\n", "\r")):
            out["repeat_last"] = mid + code_lines[-1] + nl
        if mid.endswith(("\n", "\r")) and not self.after.strip():
            last = code_lines[-1] if code_lines else ""
            ws = indent_of(last)
            out["stray_closer"] = mid + ws[:-4] + rng.choice(_CLOSERS) + nl
        first = lines[0] if lines else ""
        if len(first.strip()) >= 6:
            out["half_suffix_line"] = mid + first[: max(3, len(first) // 2)]
        inside = syntax.enclosing_definition_line(
            _GRAMMARS.get(self.language_id), self.source, self.start
        )
        if self.language_id in RUN_ON and not self.after.strip() and inside is not None:
            out["run_on"] = mid.rstrip("\r\n") + RUN_ON[self.language_id].replace("\n", nl)
        return out


# --- cutting holes -----------------------------------------------------------------------------


_TOP_LEVEL = re.compile(
    r"(def|class|async def|@|import|from|if __name__|#include|#define|#ifndef|func|fn|pub|impl"
    r"|struct|static|typedef|int|void|export|function|const|let|public|package|type)\b"
)


def excerpt(source: str, rng: random.Random, max_lines: int = 100) -> str:
    """A piece of `source` from one top-level line to another, about `max_lines` long (keeps
    the parses of a property test small; files of thousands of lines add nothing)."""
    lines = source.splitlines(keepends=True)
    if len(lines) <= max_lines:
        return source
    tops = [i for i, x in enumerate(lines) if _TOP_LEVEL.match(x)]
    starts = [i for i in tops if i + max_lines // 2 < len(lines)] or [0]
    a = rng.choice(starts)
    ends = [i for i in tops if a + max_lines // 2 <= i <= a + max_lines]
    b = ends[-1] if ends else min(len(lines), a + max_lines)
    return "".join(lines[a:b])


def _line_spans(source: str) -> list[tuple[int, int, str]]:
    """(start, end excluding the line break, text) for every line."""
    out = []
    pos = 0
    for m in LSP_LINE_BREAK.finditer(source):
        out.append((pos, m.start(), source[pos : m.start()]))
        pos = m.end()
    if pos < len(source):
        out.append((pos, len(source), source[pos:]))
    return out


def _line_end(source: str, end: int) -> int:
    """Offset after the line break that follows `end`."""
    m = LSP_LINE_BREAK.search(source, end)
    return m.end() if m else len(source)


def cut_holes(
    source: str, language_id: str, uri: str, rng: random.Random, per_kind: int = 3
) -> list[Hole]:
    """Holes of every kind in `source`, chosen by `rng` (deterministic for a seeded rng)."""
    lines = _line_spans(source)
    code = [i for i, (_, _, t) in enumerate(lines) if t.strip()]
    if len(code) < 6:
        return []
    holes: list[Hole] = []

    def add(start: int, end: int, kind: str) -> None:
        if 0 <= start < end <= len(source) and source[start:end].strip():
            if source[start - 1 : start + 1] == "\r\n" or source[end - 1 : end + 1] == "\r\n":
                return
            holes.append(Hole(source, start, end, language_id, uri, kind))

    def pick() -> int:
        return rng.choice(code)

    for _ in range(per_kind):
        # whole line(s) at a line start
        i = pick()
        n = rng.choice([1, 1, 2, 3])
        j = min(len(lines) - 1, i + n - 1)
        add(lines[i][0], _line_end(source, lines[j][1]), "line_start")
        # inside the indentation, to the end of the line (or of the next lines)
        i = rng.choice([x for x in code if indent_of(lines[x][2])] or code)
        s, e, t = lines[i]
        ws = len(indent_of(t))
        if ws:
            col = rng.randint(1, ws)
            j = min(len(lines) - 1, i + rng.choice([0, 0, 1, 2]))
            end = lines[j][1] if rng.random() < 0.5 else _line_end(source, lines[j][1])
            add(s + col, end, "in_indent")
        # mid-line: from a token boundary to the end of the line
        i = pick()
        s, e, t = lines[i]
        stripped = len(indent_of(t))
        cuts = [k for k in range(stripped + 1, len(t)) if t[k - 1] in " (.,=[{:" and t[k] != " "]
        if cuts:
            add(s + rng.choice(cuts), e, "mid_line")
        # mid-word: inside an identifier, to the end of the line
        i = pick()
        s, e, t = lines[i]
        words = list(_WORD.finditer(t))
        if words:
            w = rng.choice(words)
            add(s + rng.randint(w.start() + 1, w.end() - 1), e, "mid_word")
        # several lines, line start to line start
        i = pick()
        j = min(len(lines) - 1, i + rng.randint(2, 8))
        add(lines[i][0], _line_end(source, lines[j][1]), "multi_line")
        # a block's end: the last lines before a line at lower indentation
        ends = [
            x
            for x in code[:-1]
            if len(indent_of(lines[x][2])) > len(indent_of(lines[code[code.index(x) + 1]][2]))
        ]
        if ends:
            x = rng.choice(ends)
            k = code.index(x)
            first = code[max(0, k - rng.randint(0, 3))]
            # sometimes the closing line goes with it
            last = code[k + 1] if rng.random() < 0.4 else x
            add(lines[first][0], _line_end(source, lines[last][1]), "block_end")
        # mid-line, several lines, before a rest of line that is only closers
        openers = [
            x
            for x in code
            if lines[x][2].rstrip().endswith(("(", "[", "{")) and lines[x][2].strip()
        ]
        if openers:
            x = rng.choice(openers)
            s, e, t = lines[x]
            body = t.rstrip()
            k = code.index(x)
            for y in code[k + 1 : k + 15]:
                ty = lines[y][2]
                if ty.strip()[:1] in _CLOSERS and rest_is_closers(ty.strip()[:1]):
                    close_col = ty.index(ty.strip()[:1])
                    if len(body) > len(indent_of(body)) + 1:
                        add(s + len(body), lines[y][0] + close_col, "mid_line_multi")
                    break
        # a random span (HumanEval random-span style)
        a = rng.randint(lines[code[0]][0], len(source) - 1)
        b = min(len(source), a + rng.randint(1, 160))
        add(a, b, "random_span")
        # random spans that start at a line start or inside its indentation and end anywhere
        # (mid-line, mid-word, inside the next line's indentation): the held-out random-span
        # layouts where whitespace handling decides
        i = pick()
        s, e, t = lines[i]
        col = rng.randint(0, len(indent_of(t)))
        add(s + col, min(len(source), s + col + rng.randint(1, 240)), "span_at_indent")
        # a long middle (10-30 whole lines): a syntax cut must not stop inside it
        i = pick()
        j = min(len(lines) - 1, i + rng.randint(10, 30))
        add(lines[i][0], _line_end(source, lines[j][1]), "long_lines")
    return holes


# --- checking a finalized answer ---------------------------------------------------------------


def _norm_lines(text: str) -> list[str]:
    return [x.rstrip() for x in LSP_LINE_BREAK.split(text)]


def expected_document(hole: Hole) -> str:
    """The document a perfect suggestion leaves (what `check` compares with).

    Mid-line, where the policy allows one line only, that is the middle's first line. Before a
    blank rest of line, trailing blank lines of the middle are not suggested (ghost text does
    not end in empty lines), so they are not expected either.
    """
    middle = hole.middle
    if not hole.allowed_lines:
        middle = LSP_LINE_BREAK.split(middle, maxsplit=1)[0]
    if not hole.after.strip():
        middle = middle.rstrip()
    return hole.prefix + middle + hole.suffix


def check(hole: Hole, edit) -> tuple[bool, bool]:
    """(ok, exact) for a finalized `edit` (completion.types.Edit) of `hole`.

    exact: the document after accepting is `expected_document`. ok: exact where the policy
    allows the whole middle; elsewhere the suggestion is a prefix of the middle (cut where the
    policy ends it, never damaged).
    """
    ctx = hole.context
    got = edit.apply(ctx.prefix, ctx.suffix)
    exact = same_document(got, expected_document(hole)) or same_document(got, full_document(hole))
    if hole.middle.strip() in _BARE_MARKERS and not edit.text:
        return True, False  # a bare comment marker is not worth showing (drop_short)
    if exact or hole.allowed_lines:
        return exact, exact
    said = "\n".join(_norm_lines(edit.at_cursor)).rstrip()
    middle = "\n".join(_norm_lines(hole.middle))
    return middle.startswith(said), exact


def exact_verdict(hole: Hole, edit) -> str:
    """How a finalized perfect answer (the exact middle) came back, strictly.

    "whole": the document after accepting is the original (or `expected_document`). Otherwise
    the suggestion must be a documented policy cut of the middle, else "damaged":
    "one_line": mid-line before code, or in a string or comment, the middle's first line (in a
    language with `;`, up to the first complete statement of it, `block_end`'s single-line
    rule); "statement": mid-line before closers, whole lines up to the line that closes the
    statement begun on the cursor line; "definition": whole lines up to the end of the
    definition around the cursor (the next line of the middle is at or left of its header);
    "bare_marker": a bare comment marker is not shown (`drop_short`).
    """
    ctx = hole.context
    got = edit.apply(ctx.prefix, ctx.suffix)
    if same_document(got, full_document(hole)):
        return "whole"
    if same_document(got, expected_document(hole)):
        return "whole" if hole.allowed_lines else "one_line"
    if hole.middle.strip() in _BARE_MARKERS and not edit.text:
        return "bare_marker"
    if hole.allowed_lines:
        return "damaged"
    said = _norm_lines(edit.at_cursor)
    while len(said) > 1 and not said[-1]:
        said.pop()
    mid = _norm_lines(hole.middle)
    n = len(said)
    mid_line = bool(hole.before.strip())
    from completion.cursor import analyze

    cur = analyze(ctx)
    if said != mid[:n]:
        first = mid[0]
        one = said[0] if n == 1 else None
        if one and first.startswith(one) and one.rstrip().endswith(";") and mid_line:
            rest = first[len(one) :].strip()
            return "one_line" if rest else "damaged"
        # the first line's end re-typed the closers after the cursor (part of the edit range)
        if (
            n == 1
            and mid_line
            and first.startswith(said[0])
            and ((said[0] + hole.after).rstrip() == first.rstrip())
        ):
            return "one_line"
        return "damaged"
    if n == 1 and (mid_line or cur.in_string or cur.in_comment):
        if not (mid_line and rest_is_closers(hole.after) and not cur.in_string):
            return "one_line"
    if mid_line and rest_is_closers(hole.after):
        from completion.postprocess.scan import balance

        missing, _ = balance(hole.before + "\n".join(mid[:n]), cur.lang.line_comment)
        opened = balance(hole.before, cur.lang.line_comment)[1]
        if missing >= 0 and balance("\n".join(mid[:n]), cur.lang.line_comment)[0] >= opened:
            return "statement"
        if n == 1:
            return "one_line"
    if _ends_definition(hole, n):
        return "definition"
    return "damaged"


def _ends_definition(hole: Hole, n: int) -> bool:
    """Whether the middle's line after its first `n` lines leaves the definition around the
    cursor (or, at top level, the block the cursor line opens)."""
    later = [x for x in LSP_LINE_BREAK.split(hole.middle)[n:] if x.strip()]
    if not later:
        return False
    grammar = _GRAMMARS.get(hole.language_id)
    header = syntax.enclosing_definition_line(grammar, hole.source, hole.code_start)
    if header is None:
        above = [x for x in LSP_LINE_BREAK.split(hole.prefix)[:-1] if x.strip()]
        limit = width(indent_of(above[-1])) if above else 0
    else:
        limit = width(indent_of(LSP_LINE_BREAK.split(hole.source)[header]))
    return width(indent_of(later[0])) <= limit


def full_document(hole: Hole) -> str:
    """The document with the whole middle back (also right where the policy cuts earlier)."""
    middle = hole.middle.rstrip() if not hole.after.strip() else hole.middle
    return hole.prefix + middle + hole.suffix


def same_document(got: str, want: str) -> bool:
    """Equal up to trailing whitespace on each line."""
    return _norm_lines(got) == _norm_lines(want)


def first_difference(got: str, want: str) -> str:
    a, b = _norm_lines(got), _norm_lines(want)
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"line {i}: got {x!r} want {y!r}"
    return f"{len(a)} lines vs {len(b)}"


class HoleRunner:
    """Finalizes raw outputs for one hole the way the pipeline does (`prepare`'s mode and stop
    strings, an engine that stops at them, `postprocess`, `to_edit`), analyzing the cursor once."""

    def __init__(self, hole: Hole, stop: tuple[str, ...]) -> None:
        from completion.cursor import analyze

        self.hole = hole
        first = analyze(hole.context)
        self.stop = tuple(stop) + (() if first.multiline else ("\n",))
        self.cur = analyze(hole.context, mode=first.mode, stop=self.stop)

    def finalize(self, raw: str):
        from completion.pipeline import to_edit
        from completion.postprocess import postprocess

        cut = min([i for s in self.stop if (i := raw.find(s)) != -1] or [len(raw)])
        raw = raw[:cut]
        return to_edit(postprocess(raw, self.cur), raw, self.cur)
