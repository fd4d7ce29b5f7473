"""The completion stream stops a model that loops, also inside one line (no newline stop ever
comes there), and keeps what full postprocessing of the whole output would keep."""

from __future__ import annotations

import asyncio

from cmpl_helpers import ctx_at_marker

from completion.cursor import analyze
from completion.postprocess import postprocess
from completion.postprocess.stream import collect
from inference.base import Generation, GenerationCancelled


class _Chunks(Generation):
    def __init__(self, text: str, size: int = 4) -> None:
        super().__init__("chunks")
        self.text, self.size = text, size
        self.cancelled = False
        self.sent = 0

    async def __aiter__(self):
        for i in range(0, len(self.text), self.size):
            if self.cancelled:
                raise GenerationCancelled()
            self.sent = i + self.size
            yield self.text[i : i + self.size]
            await asyncio.sleep(0)

    def cancel(self) -> None:
        self.cancelled = True


def test_a_loop_within_one_line_is_stopped():
    cur = analyze(ctx_at_marker('msg = "█"\n'))
    raw = "hello there, world, " * 40  # a single-line hole: only a newline would stop it
    gen = _Chunks(raw)
    res = asyncio.run(collect(gen, cur))
    assert res.stopped_early and gen.cancelled
    assert gen.sent < len(raw) // 5
    assert res.raw == "hello there, world, "
    assert postprocess(res.raw, cur) == postprocess(raw, cur)


def test_repetitive_code_is_not_stopped():
    cur = analyze(ctx_at_marker("def f(d):\n    █\n"))
    raw = "".join(f"x{i} = d[{i}]\n    " for i in range(20)) + "return x0"
    gen = _Chunks(raw)
    res = asyncio.run(collect(gen, cur))
    assert not res.stopped_early and res.raw == raw
    assert postprocess(res.raw, cur).count(" = d[") == 20
