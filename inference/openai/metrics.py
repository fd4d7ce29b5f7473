"""vLLM's speculative-decoding counters from its Prometheus `/metrics` page.

vLLM reports speculation server-wide, not per request, so per-request numbers are the difference
of two snapshots (see `SpecCounters.minus`), read in the background by `MetricsPoller`. The text format is parsed with
`prometheus_client.parser` when it is installed (it is in the vLLM venv, not in Tandem's) and
otherwise with the small parser below, which handles what vLLM emits: `name{labels} value`.
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
    """Cumulative speculative-decoding counters (summed over models/engines on the server)."""

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

    def minus(self, before: SpecCounters) -> SpecCounters:
        """Counters accrued since `before` (never negative: a server restart resets them)."""

        def d(a: float, b: float) -> float:
            return a - b if a >= b else a  # restarted in between: everything since the restart

        return SpecCounters(
            drafts=d(self.drafts, before.drafts),
            draft_tokens=d(self.draft_tokens, before.draft_tokens),
            accepted_tokens=d(self.accepted_tokens, before.accepted_tokens),
            accepted_per_position={
                p: d(v, before.accepted_per_position.get(p, 0.0))
                for p, v in self.accepted_per_position.items()
            },
            present=self.present and before.present,
        )


class MetricsPoller:
    """Reads `/metrics` in the background, at most once per `interval` seconds per server, and
    only while a request that may be speculative is running (plus one poll after the last one
    ends, so its counts land). Requests never wait for `/metrics`: they read the latest
    snapshot when they start and when they end, and report the difference. With 1 s between
    polls that difference is approximate: it counts what the server reported between the two
    polls that bracket the request (other requests' too), and a short request that ends before
    the next poll shows its counts in the next request's numbers instead.
    """

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[SpecCounters | None]],
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self.interval = interval
        self._clock = clock
        self._active: dict[str, int] = {}
        self._latest: dict[str, SpecCounters] = {}
        self._last_poll: dict[str, float] = {}
        self._tasks: dict[str, asyncio.Task] = {}
        #: Every poll's time, per server (tests check the rate).
        self.polls: dict[str, list[float]] = {}

    def latest(self, base: str) -> SpecCounters | None:
        return self._latest.get(base)

    def begin(self, base: str) -> SpecCounters | None:
        """A request starts on `base`: polling runs while any does. Returns the latest snapshot."""
        self._active[base] = self._active.get(base, 0) + 1
        task = self._tasks.get(base)
        if task is None or task.done():
            self._tasks[base] = asyncio.get_running_loop().create_task(self._run(base))
        return self._latest.get(base)

    def end(self, base: str) -> SpecCounters | None:
        """The request ended; returns the latest snapshot (the poll loop winds down)."""
        self._active[base] = max(0, self._active.get(base, 0) - 1)
        return self._latest.get(base)

    async def _run(self, base: str) -> None:
        trailing = True
        while self._active.get(base, 0) > 0 or trailing:
            if self._active.get(base, 0) == 0:
                trailing = False  # this is the poll after the last request ended
            wait = self._last_poll.get(base, -math.inf) + self.interval - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_poll[base] = self._clock()
            self.polls.setdefault(base, []).append(self._last_poll[base])
            try:
                counters = await self._fetch(base)
            except Exception as exc:  # a poll must never take a request down
                log.debug("reading %s/metrics failed: %s", base, exc)
                counters = None
            if counters is None:
                return  # no speculation counters there: stop asking
            self._latest[base] = counters

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
