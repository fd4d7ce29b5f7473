"""bench spec's arithmetic: paired per-round ratios, identity against plain, acceptance."""

from __future__ import annotations

import asyncio

from bench import spec
from bench.spec import _summary
from inference.base import Engine, EngineInfo, Generation, GenerationRequest


def _run(seconds: float, text: str = "x", strategy: str = "plain", drafted=0, accepted=0):
    return {
        "text": text,
        "seconds": seconds,
        "tokens": 10,
        "strategy": strategy,
        "drafted": drafted,
        "accepted": accepted,
        "forward_passes": 5 if drafted else 10,
    }


def test_ratios_pair_runs_of_the_same_round():
    # the machine slows down 2x in round 2 for everyone: paired ratios stay exactly 2.0
    plain = [_run(1.0), _run(2.0), _run(1.0)]
    fast = [_run(s, strategy="prompt_lookup", drafted=8, accepted=6) for s in (0.5, 1.0, 0.5)]
    out = _summary(fast, plain, "x")
    assert out["ratio_vs_plain"] == 2.0
    assert out["acceptance_rate"] == 0.75
    assert out["tokens_per_forward_pass"] == 2.0
    assert out["identical"] is True


def test_a_different_output_is_reported_not_identical():
    plain = [_run(1.0), _run(1.0)]
    out = _summary([_run(1.0, "y"), _run(1.0)], plain, "x")
    assert out["identical"] is False and out["ratio_vs_plain"] == 1.0


class _Clock:
    now = 0.0

    def perf_counter(self) -> float:
        return self.now


class _Gen(Generation):
    def __init__(self, clock: _Clock, cost: float, strategy: str) -> None:
        super().__init__("fake")
        self._clock, self._cost = clock, cost
        self.stats.strategy, self.stats.generated_tokens = strategy, 10
        self.stats.target_forward_passes = 10

    async def __aiter__(self):
        self._clock.now += self._cost  # the run's duration, on the benchmark's clock
        yield "x = 1"

    def cancel(self) -> None:
        pass


class _Engine(Engine):
    """Costs per strategy; `auto` picks plain. Records the strategies it was asked for."""

    def __init__(self, clock: _Clock, plain_cost: float) -> None:
        self.clock, self.plain_cost, self.asked = clock, plain_cost, []

    @property
    def info(self) -> EngineInfo:
        return EngineInfo(name="fake", model="fake")

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def start(self, request: GenerationRequest) -> Generation:
        self.asked.append(request.strategy)
        cost = self.plain_cost * (0.5 if request.strategy == "prompt_lookup" else 1.0)
        chosen = "plain" if request.strategy == "auto" else request.strategy
        return _Gen(self.clock, cost, chosen)


def test_auto_is_compared_with_plain_on_its_own_engine(monkeypatch):
    # the auto engine is 10% slower than the first one for everything (an instance bias); auto
    # picks plain: against its own engine's plain it is 1.0x, against the other engine's 0.91x
    clock = _Clock()
    monkeypatch.setattr(spec, "time", clock)
    first, second = _Engine(clock, 1.0), _Engine(clock, 1.1)
    work = [spec.Workload("fim:w", "fim", GenerationRequest(prompt="p", max_tokens=8))]
    report = asyncio.run(spec.run_bench(first, work, 2, False, lambda _m: None, auto_engine=second))
    entry = report["fim:w"]
    assert entry["auto"]["ratio_vs_plain"] == 1.0
    assert entry["auto"]["ratio_vs_plain_other_engine"] == 0.91
    assert entry["plain_other_engine_vs_plain"] == 0.91
    assert entry["prompt_lookup"]["ratio_vs_plain"] == 2.0
    assert spec.PLAIN_ON_AUTO_ENGINE not in entry
    # the auto engine was asked for auto and forced plain only (warm-up and baseline)
    assert set(second.asked) == {"auto", "plain"} and "prompt_lookup" not in second.asked
    assert second.asked.count("auto") == 4  # 2 repeats x 2 for FIM
