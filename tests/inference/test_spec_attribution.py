"""MetricsPoller's attribution of vLLM's server-wide speculative counters to requests.

Pure: a fake `/metrics` (a counter the test bumps), a fake clock whose sleeps end only when the
test advances it, and the real poller. The scripts mirror what happens on a server: the
counters grow while requests run, requests end, the poller reads in the background.
"""

from __future__ import annotations

import asyncio

import pytest

from inference.base import GenerationStats
from inference.openai.engine import apply_spec_counts
from inference.openai.metrics import MetricsPoller, SpecCounters, SpecTicket

BASE = "http://vllm:8000"


class FakeTime:
    """`clock` and `sleep` for the poller; sleeps end when `advance` passes their deadline."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future]] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        fut = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, fut))
        await fut

    async def settle(self) -> None:
        for _ in range(20):  # let the poll loop run to its next wait
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        """Move time forward in small steps, waking sleepers whose deadline passed."""
        end = self.now + seconds
        while self.now < end - 1e-12:
            self.now = min(end, self.now + 0.01)
            for item in list(self._sleepers):
                if item[0] <= self.now + 1e-9:
                    self._sleepers.remove(item)
                    fut = item[1]
                    if not fut.done() and not fut.get_loop().is_closed():  # (a dead loop's)
                        fut.set_result(None)
            await self.settle()


class FakeServer:
    """vLLM's cumulative counters; `fetch` is the poller's reader of `/metrics`."""

    def __init__(self) -> None:
        self.counters = SpecCounters(present=True)
        self.reads: list[float] = []
        self.available = True

    def run(self, draft_tokens: float, accepted: float, drafts: float | None = None) -> None:
        """The server verified drafts: its counters grow."""
        c = self.counters
        self.counters = SpecCounters(
            drafts=c.drafts + (draft_tokens / 4 if drafts is None else drafts),
            draft_tokens=c.draft_tokens + draft_tokens,
            accepted_tokens=c.accepted_tokens + accepted,
            present=True,
        )

    def restart(self) -> None:
        self.counters = SpecCounters(present=True)

    async def fetch(self, base: str) -> SpecCounters | None:
        assert base == BASE
        self.reads.append(round(self.clock(), 6))
        await asyncio.sleep(0)
        return SpecCounters(**vars(self.counters)) if self.available else None


class Harness:
    def __init__(self, interval: float = 1.0) -> None:
        self.time = FakeTime()
        self.server = FakeServer()
        self.server.clock = self.time.clock  # type: ignore[attr-defined]
        self.poller = MetricsPoller(
            self.server.fetch,
            interval=interval,
            clock=self.time.clock,
            settle_delay=0.05,
            sleep=self.time.sleep,
        )
        self.results: dict[str, SpecCounters | None] = {}

    async def begin(self, name: str) -> SpecTicket:
        ticket = self.poller.begin(BASE, lambda counts: self.results.__setitem__(name, counts))
        await self.time.settle()
        return ticket

    def drafted(self, name: str) -> tuple[float, float]:
        counts = self.results[name]
        assert counts is not None
        return round(counts.draft_tokens, 6), round(counts.accepted_tokens, 6)


async def test_one_short_request_gets_exactly_its_counts():
    """The defect: a request shorter than the poll interval got nothing (its counts went to the
    next request). Now it is settled by the poll after it ended."""
    h = Harness()
    h.server.run(100, 50)  # someone else's work before: not ours
    a = await h.begin("a")
    assert h.server.reads == [0.0]  # the baseline, read as the request is sent
    await h.time.advance(0.2)
    h.server.run(12, 9)
    h.poller.end(a, tokens=16)
    assert "a" not in h.results  # not settled yet: the text went back without waiting
    await h.time.advance(0.5)
    assert "a" not in h.results  # at most one read per second
    await h.time.advance(0.4)
    assert h.drafted("a") == (12, 9)
    assert h.server.reads == [0.0, 1.0]
    await h.poller.close()


async def test_two_overlapping_requests_split_by_generated_tokens():
    h = Harness()
    a = await h.begin("a")
    b = await h.begin("b")
    await h.time.advance(0.3)
    h.server.run(40, 20)
    h.poller.end(a, tokens=30)
    h.poller.end(b, tokens=10)
    await h.time.advance(1.0)
    assert h.drafted("a") == (30, 15)
    assert h.drafted("b") == (10, 5)
    assert h.server.reads == [0.0, 1.0]  # one baseline, one read settled both
    await h.poller.close()


async def test_a_request_that_ends_while_another_runs():
    h = Harness()
    a = await h.begin("a")
    await h.time.advance(0.5)
    h.server.run(20, 10)  # a's first 20 tokens
    h.poller.progress(a, 20)
    b = await h.begin("b")
    await h.time.advance(0.3)
    h.server.run(20, 10)  # 10 more of a's, 10 of b's
    h.poller.progress(a, 30)
    h.poller.end(b, tokens=10)
    await h.time.advance(0.3)  # the read at 1.0 settles b; a keeps its share and goes on
    assert h.drafted("b") == (10, 5) and "a" not in h.results
    assert h.poller.open_tickets(BASE) == 1
    await h.time.advance(0.9)
    h.server.run(20, 10)
    h.poller.end(a, tokens=50)
    await h.time.advance(1.2)
    assert h.drafted("a") == (50, 25)  # 30 before b's settlement + 20 after: nothing lost
    assert h.server.reads[:2] == [0.0, 1.0] and len(h.server.reads) == 3
    assert h.server.reads[2] >= 2.0 + h.poller.settle_delay  # read after a ended, not sooner
    await h.poller.close()


async def test_a_server_restart_never_gives_negative_counts():
    h = Harness()
    h.server.run(1000, 800)
    a = await h.begin("a")
    await h.time.advance(0.2)
    h.server.restart()  # the counters start again from zero
    h.server.run(8, 4)
    h.poller.end(a, tokens=8)
    await h.time.advance(1.0)
    assert h.drafted("a") == (8, 4)  # what accrued since the restart
    # a request right after (no fresh baseline: the last read was just now) starts from the
    # restarted counters
    b = await h.begin("b")
    h.server.run(4, 4)
    h.poller.end(b, tokens=4)
    await h.time.advance(1.2)
    assert h.drafted("b") == (4, 4)
    await h.poller.close()


def test_counter_arithmetic_after_a_restart():
    before = SpecCounters(drafts=10, draft_tokens=40, accepted_tokens=20, present=True)
    # draft tokens went down, the others not: still a restart, all counters count from zero
    after = SpecCounters(drafts=12, draft_tokens=5, accepted_tokens=21, present=True)
    d = after.minus(before)
    assert (d.drafts, d.draft_tokens, d.accepted_tokens) == (12, 5, 21)
    grown = SpecCounters(drafts=13, draft_tokens=52, accepted_tokens=29, present=True)
    d = grown.minus(before)
    assert (d.drafts, d.draft_tokens, d.accepted_tokens) == (3, 12, 9)
    half = d.scaled(0.5).plus(d.scaled(0.5))
    assert (half.drafts, half.draft_tokens, half.accepted_tokens) == (3, 12, 9)


async def test_polling_stops_after_the_trailing_poll_and_keeps_the_rate():
    h = Harness()
    for i in range(3):  # back-to-back short requests, like completions while typing
        t = await h.begin(f"r{i}")
        h.server.run(4, 2)
        await h.time.advance(0.1)
        h.poller.end(t, tokens=4)
        await h.time.advance(0.1)
    await h.time.advance(2.0)
    assert all(h.drafted(f"r{i}")[0] > 0 for i in range(3))
    assert sum(h.drafted(f"r{i}")[0] for i in range(3)) == 12  # every count went somewhere
    reads = h.server.reads
    assert all(b - a >= 1.0 - 1e-9 for a, b in zip(reads, reads[1:], strict=False)), reads
    n = len(reads)
    await h.time.advance(5.0)  # idle: no more reads
    assert len(h.server.reads) == n
    assert h.poller._servers[BASE].task is None  # the loop ended
    # nothing runs: no ticket, no polling; a long request that has not ended is not polled
    long = await h.begin("long")
    await h.time.advance(5.0)
    assert len(h.server.reads) == n + 1  # only its baseline (the server was idle > 1 s)
    h.poller.end(long, tokens=1)
    await h.time.advance(1.0)
    assert len(h.server.reads) == n + 2 and "long" in h.results
    await h.poller.close()


async def test_no_counters_or_a_failing_server_settle_with_unknown_counts():
    h = Harness()
    h.server.available = False
    a = await h.begin("a")
    assert h.results == {"a": None} and a.done  # settled at once: no spec counts there
    assert h.poller.open_tickets(BASE) == 0
    h.server.available = True
    b = await h.begin("b")
    await h.poller.close()  # shutting down with a request open: settled, unknown
    assert h.results["b"] is None and b.done


async def test_an_abandoned_ticket_is_never_settled_and_stops_polling():
    h = Harness()
    a = await h.begin("a")
    h.poller.abandon(a)  # the endpoint failed before answering: failover elsewhere
    await h.time.advance(3.0)
    assert "a" not in h.results and h.server.reads == [0.0]


def test_apply_spec_counts_fills_the_stats():
    stats = GenerationStats(engine="openai", generated_tokens=20, target_forward_passes=20)
    apply_spec_counts(stats, SpecCounters(drafts=4, draft_tokens=16, accepted_tokens=12.4))
    assert (stats.drafted_tokens, stats.accepted_tokens) == (16, 12)
    assert stats.target_forward_passes == 8 and stats.strategy == "speculative"
    labelled = GenerationStats(generated_tokens=5, strategy="prompt_lookup")
    apply_spec_counts(labelled, SpecCounters(drafts=1, draft_tokens=2, accepted_tokens=3), "x")
    assert labelled.strategy == "prompt_lookup" and labelled.accepted_tokens == 2


async def test_generation_stats_settle_late_once():
    stats = GenerationStats(engine="openai")
    seen: list[int] = []
    stats.on_settled(lambda s: seen.append(s.drafted_tokens))
    assert stats.settled and seen == [0]  # never deferred: final at once
    stats.defer()
    assert not stats.settled
    stats.on_settled(lambda s: seen.append(s.drafted_tokens))
    stats.on_settled(lambda s: 1 / 0)  # a broken reader does not stop the others
    stats.on_settled(lambda s: seen.append(-s.drafted_tokens))
    assert not await stats.wait_settled(timeout=0.01)
    waiter = asyncio.ensure_future(stats.wait_settled(timeout=5))
    await asyncio.sleep(0)
    stats.drafted_tokens = 7
    stats.settle()
    assert await waiter and seen == [0, 7, -7]
    stats.settle()  # a second settle calls nobody again
    assert seen == [0, 7, -7]
    assert "settled" not in stats.to_dict() and "_late" not in stats.to_dict()


@pytest.mark.parametrize("interval", [1.0, 0.5])
async def test_counts_between_requests_on_an_idle_server_are_not_ours(interval):
    h = Harness(interval)
    a = await h.begin("a")
    h.server.run(8, 8)
    h.poller.end(a, tokens=8)
    await h.time.advance(interval + 0.1)
    assert h.drafted("a") == (8, 8)
    h.server.run(500, 1)  # another client, while none of ours ran
    await h.time.advance(3.0)
    b = await h.begin("b")  # idle for long: a fresh baseline first
    h.server.run(4, 2)
    h.poller.end(b, tokens=4)
    await h.time.advance(interval + 0.1)
    assert h.drafted("b") == (4, 2)
    await h.poller.close()


def test_a_poller_used_from_a_new_event_loop_still_settles():
    """An engine outlives an event loop (e.g. `connect_blocking`, then the server's loop): a poll
    task left on the old loop must not keep the new loop's requests waiting."""
    h = Harness()
    seen: dict[str, SpecCounters | None] = {}

    async def first() -> None:  # a request ends, and its loop with it, before the next read
        old = h.poller.begin(BASE, lambda c: seen.__setitem__("old", c))
        await h.time.settle()
        h.poller.end(old, tokens=3)

    async def second() -> None:
        await h.time.advance(2.0)
        t = h.poller.begin(BASE, lambda c: seen.__setitem__("new", c))
        await h.time.settle()
        h.server.run(4, 2)
        h.poller.end(t, tokens=4)
        await h.time.advance(1.2)
        await h.poller.close()

    old_loop = asyncio.new_event_loop()
    old_loop.run_until_complete(first())
    old_loop.close()  # closed with the poll task still pending on it (never to run again)
    asyncio.run(second())
    assert seen["new"] is not None and seen["new"].draft_tokens == 4
    assert "old" in seen  # settled (its counts unknown), never left hanging


async def test_the_first_request_after_idle_waits_for_its_baseline():
    """The CI flake (drafted_tokens 0): the baseline read raced the request, and a short
    request's work landed inside it. Now the request waits for the baseline; one that cannot
    wait (the read is slower than the bound) gets unknown counts, never a partial count."""
    h = Harness()
    release = asyncio.Event()
    fast = h.server.fetch

    async def slow_fetch(base: str) -> SpecCounters | None:
        await release.wait()
        return await fast(base)

    h.poller._fetch = slow_fetch
    a = await h.begin("a")
    waiting = asyncio.ensure_future(h.poller.wait_baseline(a, timeout=30))
    await h.time.settle()
    assert not waiting.done()  # the request is not sent before the baseline is in
    release.set()
    await h.time.settle()
    await asyncio.wait_for(waiting, 5)
    assert not a.uncertain
    h.server.run(12, 9)  # the request's work, after its baseline
    h.poller.end(a, tokens=16)
    await h.time.advance(1.1)
    assert h.drafted("a") == (12, 9)
    # too slow a baseline: the request goes, and its counts are unknown
    release.clear()
    await h.time.advance(2.0)  # idle long enough for a fresh baseline
    b = await h.begin("b")
    await h.poller.wait_baseline(b, timeout=0.05)
    assert b.uncertain
    h.server.run(30, 20)  # (part of it may land inside the late baseline)
    release.set()
    h.poller.end(b, tokens=16)
    await h.time.advance(1.1)
    assert "b" in h.results and h.results["b"] is None
    await h.poller.close()
