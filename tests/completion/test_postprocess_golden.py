"""Golden before/after fixtures: a document with the cursor (█), the raw model output, and the
document after inserting the suggestion (█ then marks the end of the inserted text).

`fixtures/postprocess/<filter>/*.txt` run one filter alone (its own effect, nothing else);
`fixtures/pipeline/<language>/*.txt` run `prepare` + `finalize` end to end. A `prompt: prefix`
header runs the case in prefix mode (a model without FIM tokens: `completion.templates.PREFIX`);
`fixtures/pipeline/prefix/` holds real outputs of Gemma 3 270M base (issue 24).
"""

from __future__ import annotations

import pytest
from cmpl_helpers import CURSOR, Golden, ctx_at_marker, goldens, words

from completion.cursor import analyze
from completion.pipeline import finalize_edit, prepare
from completion.postprocess import FILTERS
from completion.templates import PREFIX, template_by_name

LANG_URI = {
    "python": "main.py",
    "javascript": "main.js",
    "typescript": "main.ts",
    "go": "main.go",
    "rust": "main.rs",
    "java": "Main.java",
    "c": "main.c",
    "cpp": "main.cpp",
}


def _ctx(g: Golden):
    lang = g.headers["language"]
    return ctx_at_marker(g.before, lang, "file:///ws/" + LANG_URI.get(lang, "main.txt"))


def _after(g: Golden, inserted: str) -> str:
    i = g.before.index(CURSOR)
    return g.before[:i] + inserted + CURSOR + g.before[i + len(CURSOR) :]


FILTER_CASES = goldens("postprocess")
PIPELINE_CASES = goldens("pipeline")


def _template(g: Golden):
    return PREFIX if g.headers.get("prompt") == "prefix" else template_by_name("tandem-demo")


@pytest.mark.parametrize("g", FILTER_CASES, ids=[g.id for g in FILTER_CASES])
def test_filter_golden(g: Golden):
    name = g.path.parent.name
    ctx = _ctx(g)
    plan = prepare(ctx, _template(g), words)
    cur = analyze(ctx, mode=g.headers.get("mode") or plan.mode, stop=tuple(plan.stop))
    cur.prefix_mode = plan.prompt_mode == "prefix"
    out = FILTERS[name](g.raw, cur)
    assert _after(g, out) == g.after, f"{name} on {g.raw!r} gave {out!r}"


@pytest.mark.parametrize("g", PIPELINE_CASES, ids=[g.id for g in PIPELINE_CASES])
def test_pipeline_golden(g: Golden):
    ctx = _ctx(g)
    plan = prepare(ctx, _template(g), words)
    if "mode" in g.headers:
        assert plan.mode == g.headers["mode"]
    edit = finalize_edit(g.raw, ctx, plan)
    out = edit.at_cursor
    if out:
        assert _after(g, out) == g.after, f"finalize({g.raw!r}) gave {out!r}"
        # the LSP edit (a range around the cursor) leaves the same document
        i = g.before.index(CURSOR)
        doc = edit.apply(ctx.prefix, ctx.suffix)
        assert doc == g.after[: g.after.index(CURSOR)] + g.after[g.after.index(CURSOR) + 1 :]
        assert i == len(ctx.prefix)
    else:
        assert g.after == g.before, "finalize dropped the suggestion"


def test_every_filter_and_language_has_fixtures():
    filters = {g.path.parent.name for g in FILTER_CASES}
    assert filters == set(FILTERS), set(FILTERS) - filters
    langs = {g.headers["language"] for g in FILTER_CASES + PIPELINE_CASES}
    assert set(LANG_URI) <= langs, set(LANG_URI) - langs
    assert {g.path.parent.name for g in PIPELINE_CASES} >= set(LANG_URI)
