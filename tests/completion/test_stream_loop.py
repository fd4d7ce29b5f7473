"""The completion stream stops a model that loops, also inside one line (no newline stop ever
comes there), and keeps what full postprocessing of the whole output would keep."""

from __future__ import annotations

import asyncio

from cmpl_helpers import ChunkedGeneration, ctx_at_marker

from completion.cursor import analyze
from completion.postprocess import postprocess
from completion.postprocess.stream import collect


def test_a_loop_within_one_line_is_stopped():
    cur = analyze(ctx_at_marker('msg = "█"\n'))
    raw = "hello there, world, " * 40  # a single-line hole: only a newline would stop it
    gen = ChunkedGeneration(raw, size=4)
    res = asyncio.run(collect(gen, cur))
    assert res.stopped_early and gen.cancelled
    assert gen.sent < len(raw) // 5
    assert res.raw == "hello there, world, "
    assert postprocess(res.raw, cur) == postprocess(raw, cur)


def test_repetitive_code_is_not_stopped():
    cur = analyze(ctx_at_marker("def f(d):\n    █\n"))
    raw = "".join(f"x{i} = d[{i}]\n    " for i in range(20)) + "return x0"
    gen = ChunkedGeneration(raw, size=4)
    res = asyncio.run(collect(gen, cur))
    assert not res.stopped_early and res.raw == raw
    assert postprocess(res.raw, cur).count(" = d[") == 20
