"""vLLM's speculative-decoding counters from its Prometheus `/metrics` page.

vLLM reports speculation server-wide, not per request. `MetricsPoller` reads the counters in the
background and hands what accrued to the requests that ran (see its docstring for the rules).
The text format is parsed with `prometheus_client.parser` when it is installed (it is in the vLLM
venv, not in Tandem's) and otherwise with the small parser below, which handles what vLLM emits:
`name{labels} value`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

DRAFTS = "vllm:spec_decode_num_drafts_total"
DRAFT_TOKENS = "vllm:spec_decode_num_draft_tokens_total"
ACCEPTED_TOKENS = "vllm:spec_decode_num_accepted_tokens_total"
ACCEPTED_PER_POS = "vllm:spec_decode_num_accepted_tokens_per_pos_total"

_SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r"(?:\{(?P<labels>.*)\})?"
    r"\s+(?P<value>\S+)(?:\s+\S+)?\s*$"
)
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def _unescape(value: str) -> str:
    return (
        value.replace("\\\\", "\x00").replace('\\"', '"').replace("\\n", "\n").replace("\x00", "\\")
    )


def _parse_value(text: str) -> float:
    lowered = text.lower()
    if lowered in ("+inf", "inf"):
        return math.inf
    if lowered == "-inf":
        return -math.inf
    return float(text)


def parse_samples_simple(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Parse Prometheus text exposition into (name, labels, value); comments are skipped."""
    out: list[tuple[str, dict[str, str], float]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m is None:
            continue
        labels = {k: _unescape(v) for k, v in _LABEL.findall(m.group("labels") or "")}
        try:
            out.append((m.group("name"), labels, _parse_value(m.group("value"))))
        except ValueError:
            continue
    return out


def parse_samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        return parse_samples_simple(text)
    try:
        return [
            (s.name, dict(s.labels), float(s.value))
            for family in text_string_to_metric_families(text)
            for s in family.samples
        ]
    except ValueError:  # be lenient: the small parser skips what it does not understand
        return parse_samples_simple(text)


@dataclass
class SpecCounters:
    """Cumulative speculative-decoding counters (summed over models/engines on the server), or
    a share of them (`minus`, `scaled`, `plus`)."""

    drafts: float = 0.0
    draft_tokens: float = 0.0
    accepted_tokens: float = 0.0
    accepted_per_position: dict[int, float] = field(default_factory=dict)
    #: False when the page has no spec-decode counters (speculation is off on that server).
    present: bool = False

    @classmethod
    def from_metrics_text(cls, text: str) -> SpecCounters:
        c = cls()
        for name, labels, value in parse_samples(text):
            if name == DRAFTS:
                c.drafts += value
            elif name == DRAFT_TOKENS:
                c.draft_tokens += value
            elif name == ACCEPTED_TOKENS:
                c.accepted_tokens += value
            elif name == ACCEPTED_PER_POS:
                try:
                    pos = int(labels.get("position", ""))
                except ValueError:
                    continue
                c.accepted_per_position[pos] = c.accepted_per_position.get(pos, 0.0) + value
            else:
                continue
            c.present = True
        return c

    def restarted_since(self, before: SpecCounters) -> bool:
        """Whether the server restarted in between: a cumulative counter went down."""
        return (
            self.drafts < before.drafts
            or self.draft_tokens < before.draft_tokens
            or self.accepted_tokens < before.accepted_tokens
            or any(v < before.accepted_per_position.get(p, 0.0)
                   for p, v in self.accepted_per_position.items())
        )  # fmt: skip

    def minus(self, before: SpecCounters) -> SpecCounters:
        """Counters accrued since `before`. Never negative: after a server restart (any counter
        went down) everything since the restart, i.e. the counters themselves."""
        if self.restarted_since(before):
            before = SpecCounters(present=before.present)
        return SpecCounters(
            drafts=self.drafts - before.drafts,
            draft_tokens=self.draft_tokens - before.draft_tokens,
            accepted_tokens=self.accepted_tokens - before.accepted_tokens,
            accepted_per_position={
                p: v - before.accepted_per_position.get(p, 0.0)
                for p, v in self.accepted_per_position.items()
            },
            present=self.present and before.present,
        )

    def plus(self, other: SpecCounters) -> SpecCounters:
        positions = set(self.accepted_per_position) | set(other.accepted_per_position)
        return SpecCounters(
            drafts=self.drafts + other.drafts,
            draft_tokens=self.draft_tokens + other.draft_tokens,
            accepted_tokens=self.accepted_tokens + other.accepted_tokens,
            accepted_per_position={
                p: self.accepted_per_position.get(p, 0.0) + other.accepted_per_position.get(p, 0.0)
                for p in sorted(positions)
            },
            present=self.present or other.present,
        )

    def scaled(self, factor: float) -> SpecCounters:
        return SpecCounters(
            drafts=self.drafts * factor,
            draft_tokens=self.draft_tokens * factor,
            accepted_tokens=self.accepted_tokens * factor,
            accepted_per_position={p: v * factor for p, v in self.accepted_per_position.items()},
            present=self.present,
        )

    def is_zero(self) -> bool:
        return not (self.drafts or self.draft_tokens or self.accepted_tokens)


#: A ticket's outcome: its share of the counters, or None when it cannot be known (the server
#: stopped answering /metrics, the poller closed, or no reading before it ran).
OnSettled = Callable[["SpecCounters | None"], None]


@dataclass(eq=False)
class SpecTicket:
    """One request's claim on a server's counters, from `MetricsPoller.begin` until settled."""

    base: str
    on_settled: OnSettled
    began_at: float
    #: Tokens the request generated so far (the engine updates it as text streams, and sets the
    #: server's own count at the end): the weight when several requests share counts.
    tokens: int = 0
    #: `tokens` at the last attribution (only tokens generated since then weigh in the next).
    tokens_at_split: int = 0
    credit: SpecCounters = field(default_factory=lambda: SpecCounters(present=True))
    ended_at: float | None = None
    #: The request's counts are complete once a poll started at or after this time.
    settle_at: float = math.inf
    done: bool = False
    #: Sent before the baseline reading came back: part of its work may be inside the baseline,
    #: so its share is unknown (settled with None, never a partial count shown as exact).
    uncertain: bool = False


@dataclass
class _Server:
    tickets: list[SpecTicket] = field(default_factory=list)
    #: The last reading (None before the first).
    previous: SpecCounters | None = None
    #: Counts read since the last attribution, not yet given to any request.
    pending: SpecCounters = field(default_factory=lambda: SpecCounters(present=True))
    #: The next reading is a fresh baseline: the server was idle before this request began, and
    #: what accrued while it was idle belongs to nobody here.
    rebase: bool = True
    last_poll: float = -math.inf
    #: Set once the baseline reading after an idle spell is in (or failed): requests wait for
    #: it before they are sent (`wait_baseline`). None: no baseline pending.
    baseline: asyncio.Event | None = None
    task: asyncio.Task | None = None
    #: Set when a request ends or goes (the poll loop waits on it while nothing has ended).
    wake: asyncio.Event | None = None


class MetricsPoller:
    """Reads `/metrics` in the background and attributes the counters to requests.

    Rate: at most once per `interval` seconds per server, and only when a reading is needed: a
    baseline when a request begins on an idle server, and after requests end (the last such
    poll is the trailing one; then polling stops until the next request). Each request gets its
    numbers later, through `on_settled`; only the first after an idle spell waits, for the
    baseline (`wait_baseline`, bounded), so that none of its work falls inside it.

    Attribution, per server: the counts read since the last attribution stay pending until a
    poll finds requests that ended (at least `settle_delay` before it started). Then the pending
    counts are split over every open request by the tokens each generated since the last
    attribution: the ended ones receive their share and are settled; the running ones keep
    theirs as credit and go on accruing. A request alone on the server thus gets exactly what
    the server counted between the reading before it began and the reading after it ended (vLLM
    records a step's counters before it streams that step's tokens). When several of ours
    overlap, the split follows the tokens each received, which on a server that streams in
    bursts is approximate. Other clients of the same server are invisible: what they cause while
    our requests run is counted as ours. What accrued while none of ours ran is dropped (the
    first reading after an idle spell is a new baseline). A restart (counters going down) counts
    from zero, never negative.
    """

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[SpecCounters | None]],
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        settle_delay: float = 0.05,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._fetch = fetch
        self.interval = interval
        self.settle_delay = settle_delay
        self._clock = clock
        self._sleep = sleep
        self._servers: dict[str, _Server] = {}
        #: Every poll's time, per server (tests check the rate).
        self.polls: dict[str, list[float]] = {}

    def _server(self, base: str) -> _Server:
        return self._servers.setdefault(base, _Server())

    def latest(self, base: str) -> SpecCounters | None:
        """The last reading of `base` (None before the first)."""
        server = self._servers.get(base)
        return server.previous if server else None

    def open_tickets(self, base: str) -> int:
        server = self._servers.get(base)
        return len(server.tickets) if server else 0

    def begin(self, base: str, on_settled: OnSettled) -> SpecTicket:
        """A request is about to be sent to `base` (call it before sending, so the first reading
        after an idle spell comes before the request's work). Polling runs while tickets are
        open. `on_settled` is called exactly once, from the event loop."""
        server = self._server(base)
        now = self._clock()
        if not server.tickets:  # idle until now: start from a fresh reading if one can go now
            can_read_now = now - server.last_poll >= self.interval
            server.rebase = server.previous is None or can_read_now
            # the request waits for a baseline that goes now; one due later would come after it
            server.baseline = asyncio.Event() if server.rebase and can_read_now else None
        ticket = SpecTicket(base, on_settled, began_at=now)
        if server.rebase and server.baseline is None:
            ticket.uncertain = True  # its work starts before the baseline: counts unknown
        server.tickets.append(ticket)
        loop = asyncio.get_running_loop()
        if server.task is None or server.task.done() or server.task.get_loop() is not loop:
            # (a task of another, finished event loop would never run again)
            server.wake = asyncio.Event()
            server.task = loop.create_task(self._run(base, server))
        return ticket

    async def wait_baseline(self, ticket: SpecTicket, timeout: float = 1.0) -> None:
        """Before sending the request: wait (up to `timeout`) for the baseline reading when one
        is due, so the server's counts for this request all come after it. (Sent at once, a
        short request could be done before the server answered /metrics: its counts were then
        in the baseline and it got 0.) Costs one /metrics read, only for the first request after
        an idle spell; a reading slower than `timeout` leaves this request's counts unknown."""
        server = self._servers.get(ticket.base)
        event = server.baseline if server is not None else None
        if event is None or event.is_set():
            return
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            ticket.uncertain = True

    def progress(self, ticket: SpecTicket, tokens: int) -> None:
        """Tokens the request has generated so far (weights a split among overlapping ones)."""
        ticket.tokens = max(ticket.tokens, tokens)

    def end(self, ticket: SpecTicket, tokens: int | None = None) -> None:
        """The request ended (answered, failed or cancelled): it is settled by the first poll
        that starts `settle_delay` from now. `tokens`: the server's count of generated tokens."""
        if ticket.ended_at is not None or ticket.done:
            return
        if tokens is not None:
            ticket.tokens = tokens
        ticket.ended_at = self._clock()
        ticket.settle_at = ticket.ended_at + self.settle_delay
        self._wake(ticket.base)

    def abandon(self, ticket: SpecTicket) -> None:
        """The request never ran there (it failed before the answer began, e.g. failover): drop
        the ticket without settling it."""
        server = self._servers.get(ticket.base)
        if server is not None and ticket in server.tickets:
            server.tickets.remove(ticket)
        ticket.done = True
        self._wake(ticket.base)

    def _wake(self, base: str) -> None:
        server = self._servers.get(base)
        if server is not None and server.wake is not None:
            server.wake.set()

    def _due(self, server: _Server) -> float | None:
        """When the next reading is needed (None: not until a request ends). Never sooner than
        `interval` after the last one."""
        if server.rebase:
            needed = -math.inf
        else:
            ended = [t.settle_at for t in server.tickets if t.ended_at is not None]
            if not ended:
                return None
            needed = min(ended)
        return max(needed, server.last_poll + self.interval)

    async def _run(self, base: str, server: _Server) -> None:
        try:
            while server.tickets:
                due = self._due(server)
                if due is None:  # requests running, none ended: nothing to read yet
                    assert server.wake is not None
                    server.wake.clear()
                    await server.wake.wait()
                    continue
                wait = due - self._clock()
                if wait > 0:
                    await self._sleep(wait)
                    continue  # tickets may have come, ended or gone meanwhile: look again
                server.last_poll = started = self._clock()
                self.polls.setdefault(base, []).append(started)
                try:
                    counters = await self._fetch(base)
                except Exception as exc:  # a poll must never take a request down
                    log.debug("reading %s/metrics failed: %s", base, exc)
                    counters = None
                if counters is None:  # no counters there (or it is down): nothing to attribute
                    self._settle_all(server, None)
                    server.previous, server.rebase = None, True
                    return
                self._attribute(server, counters, started)
                if server.baseline is not None:
                    server.baseline.set()  # the requests waiting for it may go now
        finally:
            if server.baseline is not None:
                server.baseline.set()  # never leave a request waiting on a poller that stopped
            try:
                mine = asyncio.current_task() is server.task
            except RuntimeError:  # closed by the garbage collector, its event loop long gone
                mine = False
            if mine:
                server.task = None

    def _attribute(self, server: _Server, counters: SpecCounters, started: float) -> None:
        """Fold one reading (taken at `started`) into the server's accounts; settle the tickets
        whose requests ended before it."""
        rebase = server.previous is None or server.rebase
        if not rebase:
            server.pending = server.pending.plus(counters.minus(server.previous))
        server.previous, server.rebase = counters, False
        ripe = [t for t in server.tickets if t.settle_at <= started]
        if rebase:
            # Nothing read before these requests began: what they did so far is in the baseline.
            server.pending = SpecCounters(present=True)
            for t in server.tickets:
                t.tokens_at_split = t.tokens
            for t in ripe:
                self._settle(server, t, None)
            return
        if not ripe:
            return  # keep accruing until a request ends
        weights = {t: max(0, t.tokens - t.tokens_at_split) for t in server.tickets}
        if not any(weights.values()):  # no tokens seen since the last split: the ended ones
            weights = {t: 1 for t in ripe}
        total = sum(weights.values())
        for t, w in weights.items():
            if w:
                t.credit = t.credit.plus(server.pending.scaled(w / total))
            t.tokens_at_split = t.tokens
        server.pending = SpecCounters(present=True)
        for t in ripe:
            self._settle(server, t, t.credit)

    def _settle(self, server: _Server, ticket: SpecTicket, counts: SpecCounters | None) -> None:
        if ticket in server.tickets:
            server.tickets.remove(ticket)
        if ticket.done:
            return
        ticket.done = True
        if ticket.uncertain:
            counts = None
        try:
            ticket.on_settled(counts)
        except Exception:  # a consumer's bug must not stop the attribution of the others
            log.exception("speculation stats callback failed")

    def _settle_all(self, server: _Server, counts: SpecCounters | None) -> None:
        for t in list(server.tickets):
            self._settle(server, t, counts)

    async def close(self) -> None:
        """Stop polling; open tickets are settled with None (their counts stay unknown)."""
        loop = asyncio.get_running_loop()
        tasks = [s.task for s in self._servers.values() if s.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*(t for t in tasks if t.get_loop() is loop), return_exceptions=True)
        for server in self._servers.values():
            server.task = None
            self._settle_all(server, None)
