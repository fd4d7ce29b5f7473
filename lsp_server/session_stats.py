"""Per-session suggestion numbers (shown / accepted / latency) and the health verdict.

Pure logic, no LSP: the server feeds it from completion requests and the clients'
`tandem/did*Completion` notifications, and puts `summary()` and `health()` into `tandem/status`,
the way Tabby's agent reports healthy / slow / error. Everything stays in memory here; the events
log (`lsp_server/events_log.py`) is the only thing written, and only locally.
"""

from __future__ import annotations

import itertools
import math
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Latencies kept for the percentiles (a session's recent behaviour, bounded memory).
LATENCY_WINDOW = 200
#: Suggestions remembered for attributing show/accept events (older ones are forgotten).
TRACKED_SUGGESTIONS = 500
#: Model-computed (not typeahead) requests needed before "slow" can be said.
MIN_SAMPLES_FOR_SLOW = 3


def percentile(values: Sequence[float], p: float) -> float | None:
    """Linear-interpolated percentile (p in 0..100), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    if lo == hi:
        return float(ordered[lo])
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo))


@dataclass
class Suggestion:
    """What the server handed out under one id: for attributing the client's events."""

    id: str
    language: str
    chars: int
    shown: bool = False
    accepted: bool = False
    #: Longest partial acceptance reported (characters of the suggestion).
    partial_chars: int = 0


@dataclass
class SessionStats:
    """Counters for one server session. Ids are unique per session (`new_id`)."""

    suggestions: int = 0
    shown: int = 0
    accepted: int = 0
    partially_accepted: int = 0
    accepted_chars: int = 0
    drafted_tokens: int = 0
    accepted_tokens: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))
    _items: OrderedDict[str, Suggestion] = field(default_factory=OrderedDict)
    _ids: Iterable[int] = field(default_factory=lambda: itertools.count(1))

    def new_id(self) -> str:
        return f"s{next(self._ids)}"  # type: ignore[call-overload]

    def record_request(self, latency_ms: float, cached: bool, stats: dict | None) -> None:
        """A completion request answered (model or typeahead). Typeahead answers are not model
        latency, so they do not enter the percentiles."""
        if not cached:
            self.latencies_ms.append(float(latency_ms))
        stats = stats or {}
        self.drafted_tokens += int(stats.get("drafted_tokens") or 0)
        self.accepted_tokens += int(stats.get("accepted_tokens") or 0)

    def record_late_stats(self, reported: dict | None, final: dict | None) -> None:
        """Numbers an engine filled in after the answer went out (the openai engine's share of
        vLLM's speculative counters): count what `final` adds to what `record_request` saw."""
        reported, final = reported or {}, final or {}
        for key in ("drafted_tokens", "accepted_tokens"):
            gained = int(final.get(key) or 0) - int(reported.get(key) or 0)
            setattr(self, key, max(0, getattr(self, key) + gained))

    def record_suggestion(self, sid: str, language: str, chars: int) -> None:
        self.suggestions += 1
        self._items[sid] = Suggestion(sid, language, chars)
        while len(self._items) > TRACKED_SUGGESTIONS:
            self._items.popitem(last=False)

    def lookup(self, sid: Any) -> Suggestion | None:
        return self._items.get(sid) if isinstance(sid, str) else None

    def did_show(self, sid: Any) -> Suggestion | None:
        """First show of a known suggestion counts; repeats (redraws) and unknown ids do not.
        Returns the suggestion when this event counted."""
        item = self.lookup(sid)
        if item is None or item.shown:
            return None
        item.shown = True
        self.shown += 1
        return item

    def did_accept(self, sid: Any) -> Suggestion | None:
        item = self.lookup(sid)
        if item is None or item.accepted:
            return None
        if not item.shown:  # accepted implies it was shown (clients without show events)
            self.did_show(sid)
        item.accepted = True
        self.accepted += 1
        self.accepted_chars += item.chars - item.partial_chars
        if item.partial_chars:
            self.partially_accepted -= 1  # now counted as a full accept
        return item

    def did_partially_accept(self, sid: Any, accepted_length: Any) -> Suggestion | None:
        """`accepted_length`: characters of the suggestion accepted so far (cumulative)."""
        item = self.lookup(sid)
        if item is None or item.accepted or not isinstance(accepted_length, int):
            return None
        length = max(0, min(accepted_length, item.chars))
        if length <= item.partial_chars:
            return None
        if not item.shown:
            self.did_show(sid)
        if item.partial_chars == 0:
            self.partially_accepted += 1
        self.accepted_chars += length - item.partial_chars
        item.partial_chars = length
        return item

    def summary(self) -> dict[str, Any]:
        """The `session` object of `tandem/status` (see lsp_server/protocol.py)."""
        taken = self.accepted + self.partially_accepted
        lat = list(self.latencies_ms)
        p50, p90 = percentile(lat, 50), percentile(lat, 90)
        return {
            "suggestions": self.suggestions,
            "shown": self.shown,
            "accepted": self.accepted,
            "partiallyAccepted": self.partially_accepted,
            "acceptanceRate": round(taken / self.shown, 4) if self.shown else None,
            "acceptedChars": self.accepted_chars,
            "latencyP50Ms": round(p50, 1) if p50 is not None else None,
            "latencyP90Ms": round(p90, 1) if p90 is not None else None,
            "speculativeAcceptance": (
                round(self.accepted_tokens / self.drafted_tokens, 4)
                if self.drafted_tokens
                else None
            ),
        }


def health(
    p50_ms: float | None,
    samples: int,
    error: str | None,
    engine: str,
    device: str,
    slow_ms: float,
) -> dict[str, str]:
    """healthy / slow (with a hint) / error (with the reason), like Tabby's agent health."""
    if error:
        return {"state": "error", "reason": error}
    if p50_ms is not None and samples >= MIN_SAMPLES_FOR_SLOW and p50_ms > slow_ms:
        return {
            "state": "slow",
            "reason": f"median suggestion latency {p50_ms:.0f} ms (> {slow_ms:.0f} ms)",
            "hint": slow_hint(engine, device),
        }
    return {"state": "healthy"}


def slow_hint(engine: str, device: str) -> str:
    on_cpu = device.startswith("cpu") or device == ""
    if engine == "local" and on_cpu:
        return (
            "large model on CPU: try a GGUF model with the llama.cpp engine, a smaller model, "
            "or a draft model for speculative decoding"
        )
    if engine == "local":
        return "try a smaller model or a draft model (speculative decoding), or lower maxTokens"
    if engine == "llamacpp":  # already the fast CPU path: the machine or the model is the issue
        return (
            "on a busy machine set `threads` below the core count (llama.cpp's threads spin); "
            "else try a smaller or more quantized GGUF, or lower maxTokens"
        )
    return (
        "the inference server is slow: check its load, use a smaller model, or enable "
        "speculative decoding there"
    )
