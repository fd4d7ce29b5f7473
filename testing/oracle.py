"""A stand-in engine for the infilling benchmark: it knows the canonical middle of each problem.

Benchmarks and tests use it to prove that postprocessing keeps a perfect answer intact and cuts
the overruns real models produce. It is not a model and never ships as one.
"""

from __future__ import annotations

import random
import zlib
from collections import Counter
from collections.abc import AsyncIterator
from typing import Protocol

from completion.templates import FimTemplate
from inference.base import Engine, EngineInfo, Generation, GenerationRequest


class OracleProblem(Protocol):
    """What the oracle needs from a benchmark problem."""

    task_id: str
    suffix: str
    canonical_solution: str

    @property
    def uri(self) -> str: ...


def oracle_output(p: OracleProblem, mode: str = "overrun") -> tuple[str, str]:
    """(raw output, overrun kind): the canonical middle plus a realistic overrun, or with
    `mode="exact"` the canonical middle alone (kind "exact")."""
    middle = p.canonical_solution
    if mode == "exact":
        return middle, "exact"
    rng = random.Random(zlib.crc32(p.task_id.encode("utf-8")))
    suffix_lines = p.suffix.splitlines(keepends=True)
    kinds = ["repeat", "closer"] + (["suffix"] if suffix_lines else [])
    kind = rng.choice(sorted(kinds))
    last = next((x for x in reversed(middle.splitlines()) if x.strip()), "")
    if kind == "suffix":
        over = "".join(suffix_lines[: rng.randint(1, 3)])
    elif kind == "repeat":
        over = last + "\n"
    else:
        ws = last[: len(last) - len(last.lstrip())]
        over = ws[:-4] + rng.choice([")", "]", "}"]) + "\n"
    if not middle.endswith("\n") and suffix_lines:
        # a middle that ends mid-line: the model goes on with the rest of the line and more
        return middle + "".join(suffix_lines[: rng.randint(1, 3)]), "suffix"
    if not middle.endswith("\n") and over:
        middle += "\n"
    return middle + over, kind


class _TextGeneration(Generation):
    def __init__(self, engine: str, text: str) -> None:
        super().__init__(engine)
        self._text = text

    async def __aiter__(self) -> AsyncIterator[str]:  # type: ignore[override]
        self.stats.generated_tokens = len(self._text.split())
        self.stats.finish_reason = "stop"
        for chunk in self._text.splitlines(keepends=True):
            yield chunk

    def cancel(self) -> None:
        pass


class OracleEngine(Engine):
    """Answers each request with `oracle_output` of the problem whose document it is for."""

    def __init__(
        self, problems: list[OracleProblem], template: FimTemplate, mode: str = "overrun"
    ) -> None:
        self.mode = mode
        self._by_uri = {p.uri: p for p in problems}
        self._info = EngineInfo("oracle", "oracle", special_tokens=list(template.markers))
        self.kinds: Counter[str] = Counter()
        self.calls = 0

    @property
    def info(self) -> EngineInfo:
        return self._info

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def start(self, request: GenerationRequest) -> Generation:
        self.calls += 1
        problem = self._by_uri[request.cache_key or ""]
        raw, kind = oracle_output(problem, self.mode)
        self.kinds[kind] += 1
        cut = min([i for s in request.stop if s and (i := raw.find(s)) != -1] or [len(raw)])
        return _TextGeneration("oracle", raw[:cut])
