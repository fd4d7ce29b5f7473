"""Postprocessing on the stream: the generation is cancelled once the suggestion is over, and
the suggestion is the one full postprocessing of the whole output gives."""

from __future__ import annotations

import asyncio
import random

import pytest
from cmpl_helpers import ChunkedGeneration, ctx_at_marker

from completion.cursor import analyze
from completion.postprocess import postprocess
from completion.postprocess.stream import StreamWatch, collect
from completion.templates import template_by_name
from inference.base import GenerationCancelled
from testing.holes import HoleRunner, cut_holes, excerpt


def _collect(text: str, cur):
    gen = ChunkedGeneration(text)
    res = asyncio.run(collect(gen, cur))
    return res, gen


def test_block_end_stops_generation_early():
    doc = "def f(x):\n    y = x + 1\n█\n"
    cur = analyze(ctx_at_marker(doc))
    run_on = "".join(f"\ndef g{i}(a):\n    return a + {i}\n" for i in range(30))
    raw = "    return y\n" + run_on
    res, gen = _collect(raw, cur)
    assert res.stopped_early and gen.cancelled
    assert gen.sent < len(raw) // 4  # most of the run-on was never generated
    assert postprocess(res.raw, cur) == postprocess(raw, cur) == "    return y"


def test_suffix_typed_again_stops_generation():
    doc = "def f(xs):\n    out = []\n█\n    out.sort()\n    return out\n\n\nprint(f([3]))\n"
    cur = analyze(ctx_at_marker(doc))
    raw = "    out.extend(xs)\n    out.sort()\n    return out\n\n\nprint(f([3]))\n" * 5
    res, gen = _collect(raw, cur)
    assert res.stopped_early and gen.sent < len(raw)
    assert postprocess(res.raw, cur) == postprocess(raw, cur) == "    out.extend(xs)"


def test_mid_line_stops_once_a_complete_line_closed_the_statement():
    """Mid-line before a closer (multi-line allowed, the statement might span lines): the
    first line that closes the statement is the suggestion, so the stream stops at its
    newline instead of waiting for one more line (make run's list comprehension: 24 tokens
    for a one-line suggestion)."""
    doc = "def pending(tasks):\n    return [task for task in tasks if █]\n\n\nx = 1\n"
    cur = analyze(ctx_at_marker(doc))
    assert cur.mode == "inline" and cur.multiline
    raw = "not task.done]\n\n\ndef count_done(tasks):\n    return sum(1 for t in tasks)\n"
    res, gen = _collect(raw, cur)
    assert res.stopped_early and gen.cancelled
    assert "count_done" not in res.raw  # never generated
    assert postprocess(res.raw, cur) == postprocess(raw, cur) == "not task.done"
    # a statement still open at the line end goes on: not stopped at the first line
    assert not StreamWatch(cur).over("sorted(\n")


def test_single_line_modes_are_not_watched():
    cur = analyze(ctx_at_marker("x = foo(█, 2)\n"))
    assert not cur.multiline and not StreamWatch(cur).over("a\nb\nc\nd\n")


def test_a_newer_request_cancelling_the_generation_still_raises():
    class _Dropped(ChunkedGeneration):
        async def __aiter__(self):
            yield "    return"
            raise GenerationCancelled()

    cur = analyze(ctx_at_marker("def f(x):\n█\n"))
    with pytest.raises(GenerationCancelled):
        asyncio.run(collect(_Dropped(""), cur))


def test_stream_result_equals_full_postprocessing_on_real_code():
    """Overruns on holes in stdlib code: stopping early never changes the suggestion."""
    import glob
    import os
    import sysconfig

    rng = random.Random(5)
    files = sorted(glob.glob(os.path.join(sysconfig.get_paths()["stdlib"], "*.py")))
    rng.shuffle(files)
    stop = tuple(template_by_name("tandem-demo").stop)
    checked = stopped = 0
    for path in files[:6]:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = excerpt(f.read(), rng)
        for hole in cut_holes(text, "python", "file:///s.py", rng, per_kind=1):
            runner = HoleRunner(hole, stop)
            for raw in hole.overruns(rng).values():
                cut = min([i for s in runner.stop if (i := raw.find(s)) != -1] or [len(raw)])
                raw = raw[:cut]
                res, _ = _collect(raw, runner.cur)
                assert postprocess(res.raw, runner.cur) == postprocess(raw, runner.cur), raw
                checked += 1
                stopped += res.stopped_early
    assert checked >= 80 and stopped >= 5, (checked, stopped)
