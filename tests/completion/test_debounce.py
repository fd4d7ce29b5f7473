"""Adaptive debounce (fake clock) and the service's newest-wins: superseded requests never
reach the engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from cmpl_helpers import ctx_at_marker

from completion.debounce import AdaptiveDebounce, DebounceConfig, Trigger
from completion.service import CompletionOptions, CompletionService, Superseded
from inference.base import Engine, EngineInfo, Generation, GenerationRequest


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, ms: float) -> None:
        self.t += ms / 1000


MID_WORD = Trigger.at("    result = tot", "al\n    return result\n")
AFTER_PAREN_AT_LINE_END = Trigger.at("    result = total(", "\n    return result\n")
NEW_LINE_AT_DOC_END = Trigger.at("def f():\n    ", "")


def _typed(d: AdaptiveDebounce, clock: FakeClock, gaps_ms: list[float], trigger: Trigger):
    delays = []
    for gap in gaps_ms:
        clock.advance(gap)
        delays.append(d.on_request(trigger))
    return delays


def test_the_first_keystroke_after_a_pause_does_not_wait():
    clock = FakeClock()
    d = AdaptiveDebounce(clock=clock)
    assert d.on_request(MID_WORD) == 0.0
    clock.advance(5000)  # a pause
    assert d.on_request(MID_WORD) == 0.0
    assert d.typing_gap_ms is None  # a pause is not a typing gap


def test_it_learns_the_typing_gap_and_waits_longer_than_one_gap():
    clock = FakeClock()
    d = AdaptiveDebounce(clock=clock)
    delays = _typed(d, clock, [0, 40, 40, 40, 40, 40], MID_WORD)
    assert d.typing_gap_ms == pytest.approx(40)
    # mid-word: rate_max (3.0) x 40 ms
    assert delays[-1] == pytest.approx(120.0)
    assert delays[-1] > d.typing_gap_ms  # the next keystroke comes first: no generation

    slow = AdaptiveDebounce(clock=(c2 := FakeClock()))
    assert _typed(slow, c2, [0, 90, 90, 90], MID_WORD)[-1] == pytest.approx(270.0)


def test_the_trigger_position_is_weighed():
    clock = FakeClock()
    d = AdaptiveDebounce(clock=clock)
    _typed(d, clock, [0, 60, 60, 60], MID_WORD)
    assert d.context_score(MID_WORD) == 0.0
    assert d.context_score(AFTER_PAREN_AT_LINE_END) == pytest.approx(0.9)
    assert d.context_score(NEW_LINE_AT_DOC_END) == pytest.approx(1.0)
    clock.advance(60)
    mid = d.on_request(MID_WORD)
    clock.advance(60)
    paren = d.on_request(AFTER_PAREN_AT_LINE_END)
    clock.advance(60)
    newline = d.on_request(NEW_LINE_AT_DOC_END)
    assert mid > paren > newline >= 1.25 * 60  # never below the floor of one gap and a bit
    assert mid == pytest.approx(180.0) and newline == pytest.approx(90.0)


def test_the_expected_response_time_is_subtracted_within_clamps():
    clock = FakeClock()
    d = AdaptiveDebounce(DebounceConfig(max_ms=300), clock=clock)
    _typed(d, clock, [0, 80, 80, 80], MID_WORD)
    clock.advance(80)
    assert d.on_request(MID_WORD) == pytest.approx(240.0)
    d.on_response(200.0)  # a slow model: the wait shrinks by half the response time
    clock.advance(80)
    assert d.on_request(MID_WORD) == pytest.approx(140.0)
    d.on_response(2000.0)  # very slow: down to the floor, one gap and a quarter
    clock.advance(80)
    assert d.on_request(MID_WORD) == pytest.approx(100.0)
    clock.advance(250)  # a slow typist: capped at max_ms
    d2 = AdaptiveDebounce(DebounceConfig(max_ms=300), clock=(c2 := FakeClock()))
    assert _typed(d2, c2, [0, 400, 400, 400], MID_WORD)[-1] == 300.0


def test_an_explicit_request_never_waits():
    clock = FakeClock()
    d = AdaptiveDebounce(clock=clock)
    _typed(d, clock, [0, 40, 40], MID_WORD)
    clock.advance(40)
    assert d.on_request(Trigger.at("x = tot", "", manual=True)) == 0.0


# --- the service: superseded requests never reach the engine --------------------------------


class _Gen(Generation):
    def __init__(self, text: str) -> None:
        super().__init__("fake")
        self._text = text

    async def __aiter__(self) -> AsyncIterator[str]:  # type: ignore[override]
        yield self._text

    def cancel(self) -> None:
        pass


class CountingEngine(Engine):
    def __init__(self) -> None:
        self.calls: list[GenerationRequest] = []

    @property
    def info(self) -> EngineInfo:
        return EngineInfo("fake", "fake", special_tokens=["<fim_prefix>", "<file_sep>"])

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def start(self, request: GenerationRequest) -> Generation:
        self.calls.append(request)
        return _Gen("values)\n")


class ManualSleep:
    """An injected sleep that only returns when the test says time has passed."""

    def __init__(self) -> None:
        self.waiting: list[tuple[float, asyncio.Future]] = []

    async def __call__(self, seconds: float) -> None:
        fut = asyncio.get_running_loop().create_future()
        self.waiting.append((seconds, fut))
        await fut

    def elapse(self) -> None:
        for _, fut in self.waiting:
            if not fut.done():
                fut.set_result(None)
        self.waiting.clear()


async def test_a_typing_storm_reaches_the_engine_once_for_the_last_keystroke():
    clock, sleep, engine = FakeClock(), ManualSleep(), CountingEngine()
    service = CompletionService(AdaptiveDebounce(clock=clock), sleep=sleep)

    async def get_engine():
        return engine

    doc = "def f(xs):\n    return total(█\n"
    tasks = []
    for i, typed in enumerate("abcdefghij"):
        clock.advance(40)
        ctx = ctx_at_marker(doc.replace("█", typed * (i + 1) + "█"))
        tasks.append(asyncio.ensure_future(service.request(ctx, get_engine)))
        await asyncio.sleep(0)  # the request registers and starts waiting
    await asyncio.sleep(0)
    sleep.elapse()  # every debounce wait ends; only the newest request is still alive
    results = await asyncio.gather(*tasks, return_exceptions=True)
    # the first keystroke after a pause goes at once (no rhythm known yet) ...
    assert results[0].text == "values)" and results[0].debounce_ms == 0
    # ... the eight in the middle were superseded while they waited, the last one answers
    assert all(isinstance(r, Superseded) for r in results[1:-1]), results
    assert results[-1].text == "values)" and results[-1].debounce_ms > 40
    assert len(engine.calls) == 2  # eight superseded requests never reached the engine
    assert service.dropped_before_engine == 8


async def test_a_request_cancelled_while_it_waits_never_reaches_the_engine():
    clock, sleep, engine = FakeClock(), ManualSleep(), CountingEngine()
    service = CompletionService(AdaptiveDebounce(clock=clock), sleep=sleep)

    async def get_engine():
        return engine

    for _ in range(3):  # learn a rhythm so the next request waits
        clock.advance(50)
        service.debounce.on_request(MID_WORD)
    clock.advance(50)
    task = asyncio.ensure_future(service.request(ctx_at_marker("x = tot█\n"), get_engine))
    for _ in range(5):
        await asyncio.sleep(0)
    assert sleep.waiting  # it is waiting
    task.cancel()  # $/cancelRequest
    with pytest.raises(asyncio.CancelledError):
        await task
    sleep.elapse()
    await asyncio.sleep(0)
    assert engine.calls == []


async def test_debounce_off_goes_straight_to_the_engine():
    sleep, engine = ManualSleep(), CountingEngine()
    service = CompletionService(sleep=sleep)

    async def get_engine():
        return engine

    opts = CompletionOptions(debounce=False)
    for i in range(3):
        await service.request(ctx_at_marker(f"x{i} = █\n"), get_engine, opts)
    assert len(engine.calls) == 3 and not sleep.waiting
