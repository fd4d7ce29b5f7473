"""Adaptive choice of speculative strategy per task kind.

The engine measures milliseconds per generated token for each (kind, strategy) it runs and keeps
an exponential moving average. The preferred strategy (prompt lookup for edits, the draft for FIM)
stays only while it beats plain decoding; plain decoding is re-measured now and then so the choice
follows the workload. The result can never settle on something slower than plain decoding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from inference.base import Strategy, TaskKind


@dataclass
class _Ema:
    value: float | None = None
    samples: int = 0

    def add(self, x: float, alpha: float = 0.3) -> None:
        self.value = x if self.value is None else (1 - alpha) * self.value + alpha * x
        self.samples += 1


@dataclass
class StrategySelector:
    has_draft: bool = False
    #: Re-measure plain decoding every `explore_every` requests of a kind.
    explore_every: int = 8
    #: A strategy must be at least this much faster than plain to be kept (hysteresis).
    margin: float = 1.03
    _ms_per_token: dict[tuple[str, str], _Ema] = field(default_factory=dict)
    _count: dict[str, int] = field(default_factory=dict)

    def preferred(self, kind: TaskKind) -> Strategy:
        if kind == "fim" and self.has_draft:
            return "draft"
        return "prompt_lookup"

    def choose(self, kind: TaskKind, requested: Strategy = "auto") -> Strategy:
        if requested != "auto":
            if requested == "draft" and not self.has_draft:
                return "prompt_lookup"
            return requested
        n = self._count.get(kind, 0)
        self._count[kind] = n + 1
        pref = self.preferred(kind)
        spec = self._ms_per_token.get((kind, pref))
        plain = self._ms_per_token.get((kind, "plain"))
        if spec is None or spec.samples < 2:
            return pref  # measure the candidate first
        if plain is None or plain.samples < 2 or n % self.explore_every == 0:
            return "plain"
        return pref if spec.value * self.margin < plain.value else "plain"

    def record(self, kind: TaskKind, strategy: str, ms: float, tokens: int) -> None:
        if tokens < 4:  # too short to say anything about per-token cost
            return
        self._ms_per_token.setdefault((kind, strategy), _Ema()).add(ms / tokens)

    def snapshot(self) -> dict[str, float]:
        return {f"{k}/{s}": round(e.value or 0.0, 3) for (k, s), e in self._ms_per_token.items()}
