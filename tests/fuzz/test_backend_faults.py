"""Backend faults against `OpenAIEngine`, from a real in-test HTTP server: closed connections,
HTTP 500, a hang, a trickle, garbage, a stream cut mid-way; failover, deadlines, the breaker."""

from __future__ import annotations

import asyncio

import pytest

from completion.templates import template_by_name
from inference.base import EngineError, GenerationRequest
from inference.openai.engine import Deadlines, OpenAIEngine
from tests.fuzz.harness import ANSWER_TEXT, Backend, count

#: Short deadlines keep the suite quick; the bound below only proves "answered, not hung".
FAST = {"fim": Deadlines(first_token_s=3.0, total_s=5.0)}
ANSWERED_WITHIN = 40.0


@pytest.fixture
def backends():
    made: list[Backend] = []

    def make(mode: str = "ok", **kw) -> Backend:
        b = Backend(mode, **kw)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


def _engine(*urls: str, **kw) -> OpenAIEngine:
    return OpenAIEngine(
        list(urls),
        model="m",
        fim_tokens=template_by_name("starcoder").tokens,
        spec_metrics=False,
        retry_backoff=0.01,
        connect_retries=0,
        deadlines=FAST,
        discover_timeout=5.0,
        **kw,
    )


async def _complete(eng: OpenAIEngine) -> str:
    gen = eng.start(GenerationRequest(prompt="def add(a, b):\n", max_tokens=16))
    return await asyncio.wait_for(gen.text(), ANSWERED_WITHIN)


@pytest.mark.parametrize("fault", ["closed", "http500", "hang", "garbage", "nested"])
async def test_failover_on_a_fault_before_the_first_token(backends, fault):
    """Before the first token nothing was shown: the second endpoint answers instead."""
    bad, good = backends(fault, hang_s=12.0), backends("ok")
    eng = _engine(bad.url, good.url)
    try:
        assert await _complete(eng) == ANSWER_TEXT
        assert good.hits["/v1/completions"] == 1 and bad.hits["/v1/completions"] >= 0
        count("backend faults", f"failover/{fault}")
    finally:
        await eng.close()


async def test_a_pathologically_nested_event_is_a_bad_answer_not_a_crash(backends):
    """`[[[…` 200,000 deep: Python's JSON parser raised RecursionError, which skipped the
    failover ("maximum recursion depth exceeded"); now it is that server's invalid JSON."""
    eng = _engine(backends("nested").url)
    try:
        with pytest.raises(EngineError) as err:
            await _complete(eng)
        assert "invalid JSON" in str(err.value) and "recursion" not in str(err.value)
        count("backend faults", "nested event")
    finally:
        await eng.close()


async def test_all_endpoints_failing_is_one_clear_error(backends):
    a, b = backends("http500"), backends("hang", hang_s=12.0)
    eng = _engine(a.url, b.url)
    try:
        with pytest.raises(EngineError) as err:
            await _complete(eng)
        msg = str(err.value)  # discovery: the 500, then the hung one until the deadline
        assert "HTTP 500" in msg and "engine dead" in msg and "model discovery" in msg
        count("backend faults", "all endpoints down")
    finally:
        await eng.close()


async def test_a_trickling_stream_ends_at_the_overall_deadline(backends):
    slow = backends("trickle", trickle_s=3.0)
    eng = _engine(slow.url)
    try:
        await eng.connect()  # discovery is quick here; the request itself trickles
        with pytest.raises(EngineError, match=r"did not finish within the 5 s deadline for fim"):
            await _complete(eng)
        count("backend faults", "trickle")
    finally:
        await eng.close()


async def test_a_stream_cut_after_the_first_token_is_an_error_not_a_retry(backends):
    cut, good = backends("midstream_close"), backends("ok")
    eng = _engine(cut.url, good.url)
    try:
        await eng.connect()
        with pytest.raises(EngineError, match=r"lost the connection .* mid-generation"):
            await _complete(eng)
        assert good.hits["/v1/completions"] == 0  # text was already streamed: never re-sent
        count("backend faults", "mid-stream close")
    finally:
        await eng.close()


async def test_circuit_breaker_skips_a_failing_endpoint_for_a_while(backends):
    a, b = backends("http500"), backends("ok")
    eng = _engine(a.url, b.url, breaker_cooldown=60.0)
    try:
        assert await _complete(eng) == ANSWER_TEXT
        tried = sum(a.hits.values())
        assert tried >= 1
        eng._preferred = 0  # as if the first endpoint were preferred again
        for _ in range(3):
            assert await _complete(eng) == ANSWER_TEXT
        assert sum(a.hits.values()) == tried  # skipped while its breaker is open
        eng.breaker.cooldown = 0.0
        eng.breaker.failed(a.url)  # cooldown over at once: tried again
        a.mode = "ok"
        eng._preferred = 0
        assert await _complete(eng) == ANSWER_TEXT
        assert a.hits["/v1/completions"] == 1
        count("backend faults", "circuit breaker")
    finally:
        await eng.close()


async def test_health_check_reports_a_dead_backend(backends):
    dead = backends("closed")
    eng = _engine(dead.url)
    try:
        with pytest.raises(EngineError, match=r"inference server"):
            await asyncio.wait_for(eng.health_check(timeout=5.0), ANSWERED_WITHIN)
        count("backend faults", "health check")
    finally:
        await eng.close()
