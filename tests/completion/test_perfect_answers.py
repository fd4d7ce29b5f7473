"""Perfect-answer property test: a model that answers exactly the middle gets it back.

Thousands of holes are cut, by a seeded generator, in real code: the stdlib, the C headers that
ship with Python, the VS Code extension's TypeScript, and Go / Rust / Java files in
fixtures/corpus (a third of the files with CRLF line ends; Go indents with tabs). Holes sit at
line starts, inside indentation, mid-line, mid-word, across several lines, at block ends, long
middles of 10-30 lines, random spans, and random spans that start at a line start or inside the
indentation and end anywhere (the held-out random-span layouts).

The exact middle must come back as the original document in every case, or as a documented
policy cut (`testing.holes.exact_verdict`): mid-line before code, or in a string or comment, one
line; mid-line before closers, the lines of the open statement; at the end of the definition
around the cursor where the middle runs on into the next one. No floor.

The middle followed by each realistic overrun (the suffix's next lines, the last line again, a
stray closer, half of the next line, a run-on into a new function) must come back as the middle
too; some of those cannot be told from a correct answer by the text alone, so these hold floors
at the measured rates (see the readme).

The harness is shown to fail: each defect the pipeline once had is put back into the finalized
suggestions, and the exact-middle check must report damaged answers for it.
"""

from __future__ import annotations

import glob
import os
import random
import sysconfig
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from completion.cursor import indent_of
from completion.postprocess import FILTERS
from completion.postprocess.base import as_inserted
from completion.templates import template_by_name
from completion.types import Edit
from testing.holes import (
    Hole,
    HoleRunner,
    check,
    cut_holes,
    exact_verdict,
    excerpt,
    first_difference,
)
from textkit import syntax

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
SEED = 20260101
STDLIB_FILES = 15
POSITIONS = ("line_start", "in_indent", "mid_line", "block")

needs_grammars = pytest.mark.skipif(
    not all(syntax.has_grammar(g) for g in ("python", "c", "typescript", "go", "rust", "java")),
    reason="tree-sitter grammar wheels missing",
)


def _sources() -> list[tuple[str, str, str]]:
    """(language id, file name, text) for the corpus, deterministic."""
    rng = random.Random(SEED)
    std = sorted(glob.glob(os.path.join(sysconfig.get_paths()["stdlib"], "*.py")))
    rng.shuffle(std)
    include = sorted(glob.glob(os.path.join(sysconfig.get_paths()["include"], "*.h")))
    rng.shuffle(include)
    picked = [("python", p) for p in std[:STDLIB_FILES]]
    picked += [("c", p) for p in include[:12]]
    # a frozen copy of the VS Code extension's sources: the sample must not shift when the
    # extension changes (the floors below were measured on exactly these files)
    picked += [("typescript", str(p)) for p in sorted((CORPUS / "typescript").glob("*.ts"))]
    picked += [("javascript", str(CORPUS / "typescript" / "esbuild.mjs"))]
    picked += [("go", str(p)) for p in sorted(CORPUS.glob("*.go"))]
    picked += [("rust", str(p)) for p in sorted(CORPUS.glob("*.rs"))]
    picked += [("java", str(p)) for p in sorted(CORPUS.glob("*.java"))]
    out = []
    for i, (lang, path) in enumerate(picked):
        if not os.path.exists(path):
            continue
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        text = excerpt(text, rng)
        if i % 3 == 0:
            text = text.replace("\n", "\r\n")
        out.append((lang, os.path.basename(path), text))
    return out


@dataclass
class Case:
    """One hole, its runner, and how the exact middle came back."""

    name: str
    hole: Hole
    runner: HoleRunner
    exact: Edit
    verdict: str


@dataclass
class Run:
    cases: list[Case]
    #: (position kind, hole kind, overrun) -> cases / failures, overruns only
    total: Counter
    bad: Counter
    examples: dict


def _describe(name: str, hole: Hole, raw: str, edit: Edit) -> tuple:
    ctx = hole.context
    got = edit.apply(ctx.prefix, ctx.suffix)
    return (name, hole.kind, hole.middle, raw, edit.text, first_difference(got, hole.source))


def _run_all() -> Run:
    stop = tuple(template_by_name("tandem-demo").stop)
    rng = random.Random(SEED)
    run = Run([], Counter(), Counter(), {})
    for lang, name, text in _sources():
        for hole in cut_holes(text, lang, f"file:///corpus/{name}", rng, per_kind=2):
            runner = HoleRunner(hole, stop)
            edit = runner.finalize(hole.middle)
            run.cases.append(Case(name, hole, runner, edit, exact_verdict(hole, edit)))
            for overrun, raw in hole.overruns(rng).items():
                out = runner.finalize(raw)
                key = (hole.position_kind, hole.kind, overrun)
                run.total[key] += 1
                if not check(hole, out)[0]:
                    run.bad[key] += 1
                    run.examples.setdefault(key, _describe(name, hole, raw, out))
    return run


@pytest.fixture(scope="module")
def corpus_run() -> Run:
    return _run_all()


#: Policy cuts allowed per cursor position (see `testing.holes.exact_verdict`). Outside the
#: line (line start, indentation, block) a perfect answer is cut only at the end of the
#: definition around the cursor (a run-on into the next one cannot be told from it otherwise),
#: or to one line inside a string or comment; "one_line" there is that, or a definition end
#: after the first line.
ALLOWED = {
    "line_start": {"whole", "definition", "one_line", "bare_marker"},
    "in_indent": {"whole", "definition", "one_line", "bare_marker"},
    "block": {"whole", "definition", "one_line", "bare_marker"},
    "mid_line": {"whole", "one_line", "statement", "bare_marker"},
}


@needs_grammars
def test_exact_middle_comes_back_unchanged(corpus_run: Run):
    """No floor: every exact middle comes back whole, or as a documented policy cut."""
    verdicts = Counter((c.hole.position_kind, c.verdict) for c in corpus_run.cases)
    assert len(corpus_run.cases) >= 700, len(corpus_run.cases)
    assert {c.hole.position_kind for c in corpus_run.cases} == set(POSITIONS)
    wrong = [
        (c.name, c.hole.kind, c.verdict, c.hole.before, c.hole.middle[:160], c.exact.text[:160])
        for c in corpus_run.cases
        if c.verdict not in ALLOWED[c.hole.position_kind]
    ]
    assert not wrong, f"{len(wrong)} damaged perfect answers:\n" + "\n".join(map(repr, wrong))
    for pos in POSITIONS:
        whole = verdicts[(pos, "whole")]
        n = sum(v for (p, _), v in verdicts.items() if p == pos)
        # the policy cuts are the exception: most perfect answers come back whole
        assert whole / n >= (0.75 if pos == "mid_line" else 0.9), (pos, dict(verdicts))


@needs_grammars
def test_multi_line_and_long_middles_come_back_whole(corpus_run: Run):
    """The held-out multi-line bar (100%): whole-line middles inside a definition."""
    cases = [c for c in corpus_run.cases if c.hole.kind in ("multi_line", "long_lines")]
    inside = [c for c in cases if c.hole.allowed_lines]
    assert len(inside) >= 100, len(inside)
    assert all(c.verdict == "whole" for c in inside), [
        (c.name, c.hole.middle[:80]) for c in inside if c.verdict != "whole"
    ]


#: Share of overrun cases (the middle plus one overrun) that must come back as the middle, per
#: cursor position: measured on this corpus, floors just under. What is left: half a line of
#: the suffix after a middle that ends mid-word or inside the next line's indentation, a
#: repeated or stray line inside a string, preprocessor blocks tree-sitter cannot parse (see
#: the readme, with numbers).
OVERRUN_FLOORS = {"line_start": 0.97, "in_indent": 0.94, "mid_line": 0.97, "block": 0.88}


@needs_grammars
def test_overruns_are_cut_back_to_the_middle(corpus_run: Run):
    total, bad = corpus_run.total, corpus_run.bad
    assert sum(total.values()) >= 1500, sum(total.values())
    report = "\n".join(
        f"{k}: {bad[k]}/{total[k]} e.g. {corpus_run.examples[k]!r}" for k in sorted(bad)
    )
    for pos, floor in OVERRUN_FLOORS.items():
        n = sum(v for k, v in total.items() if k[0] == pos)
        failed = sum(v for k, v in bad.items() if k[0] == pos)
        assert 1 - failed / n >= floor, f"{pos}: {1 - failed / n:.4f} < {floor} over {n}\n{report}"


# --- the harness fails on the old defects -----------------------------------------------------


def _strip_leading_whitespace(c: Case) -> Edit:
    """The completion's leading whitespace stripped (` if x:` -> `if x:` at column 11)."""
    text = c.exact.at_cursor.lstrip(" \t")
    return Edit(text, at_cursor=text)


def _reindent_first_line(c: Case) -> Edit:
    """The first line re-indented to the block (the line above, one step in after an opener)."""
    cur = c.runner.cur
    if cur.before.strip() or not c.exact.at_cursor.strip():
        return c.exact
    step = cur.indent_unit if cur.opens_block(cur.prev_line) else ""
    first, nl, rest = c.exact.at_cursor.partition("\n")
    line = indent_of(cur.prev_line) + step + first.lstrip(" \t")
    return Edit(line + nl + rest, replace_before=len(cur.before), at_cursor=line + nl + rest)


def _mid_line_first_line_only(c: Case) -> Edit:
    """Every mid-line multi-line middle cut to its first line (the undecided old policy)."""
    if not c.runner.cur.before.strip():
        return c.exact
    first = c.exact.text.split("\n", 1)[0].rstrip("\r")
    return Edit(first, c.exact.replace_before, c.exact.replace_after, first)


def _trailing_newline_and_indent(c: Case) -> Edit:
    """A trailing newline plus the cursor line's indentation the model never wrote."""
    cur = c.runner.cur
    if cur.before.strip() or not c.exact.text or c.exact.text.endswith(("\n", "\r")):
        return c.exact
    extra = "\n" + cur.line_indent
    return Edit(c.exact.text + extra, c.exact.replace_before, 0, c.exact.at_cursor + extra)


def _old_syntax_cut(text: str, cur) -> str:
    """The syntax cut as it was: the fewest tree-sitter errors anywhere in the suggestion, over
    at most 16 candidate ends (a long middle followed by a stray closer was cut inside)."""
    if not cur.multiline or "\n" not in text.rstrip("\n") or cur.in_comment or cur.in_string:
        return text
    ends = [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    if not text.endswith("\n"):
        ends.append(len(text))
    cands = [text[:e] for e in ends if text[:e].strip()]
    if len(cands) > 16:
        cands = cands[:15] + [cands[-1]]
    pre, suf = syntax.code_window(cur.prefix, cur.suffix)
    best, best_err = text, None
    for cand in reversed(cands):
        err = syntax.count_errors(cur.lang.grammar, pre + as_inserted(cand, cur) + suf)
        if err is None:
            return text
        if best_err is None or err < best_err:
            best, best_err = cand, err
        if err == 0:
            break
    return best


DEFECTS = {
    "strip_leading_whitespace": _strip_leading_whitespace,
    "reindent_first_line": _reindent_first_line,
    "mid_line_first_line_only": _mid_line_first_line_only,
    "trailing_newline_and_indent": _trailing_newline_and_indent,
}


@needs_grammars
@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_the_harness_finds_each_old_defect_put_back(corpus_run: Run, defect: str):
    put_back = DEFECTS[defect]
    damaged = [
        c for c in corpus_run.cases if exact_verdict(c.hole, put_back(c)) not in ALLOWED[c.hole.position_kind]
    ]  # fmt: skip
    assert len(damaged) >= 5, (defect, len(damaged))


@needs_grammars
def test_the_harness_finds_the_old_syntax_cut_inside_long_middles(
    corpus_run: Run, monkeypatch: pytest.MonkeyPatch
):
    """Long middles followed by a stray closer: the old syntax cut stopped inside them."""
    rng = random.Random(SEED)
    raws = []
    for c in corpus_run.cases:
        mid = c.hole.middle
        if c.hole.kind == "long_lines" and c.hole.allowed_lines and mid.endswith("\n"):
            last = [x for x in mid.splitlines() if x.strip()][-1]
            raws.append((c, mid + indent_of(last)[:-4] + rng.choice(")]}") + "\n"))
    assert len(raws) >= 40, len(raws)

    def failures() -> int:
        return sum(not check(c.hole, c.runner.finalize(raw))[0] for c, raw in raws)

    now = failures()
    monkeypatch.setitem(FILTERS, "syntax_truncate", _old_syntax_cut)
    old = failures()
    assert old >= 5 and old > now, (old, now, len(raws))
