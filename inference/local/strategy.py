"""Adaptive choice of speculative strategy per task kind.

The engine measures milliseconds per generated token for each (kind, strategy) it runs and keeps
an exponential moving average. The fastest measured strategy is used; a speculative one only
while it beats plain decoding by a margin. Now and then another candidate is re-measured, in
turn, so the choice follows the workload; one that keeps losing is re-measured less and less
often. It can never settle on something slower than plain decoding.

Measuring a slow strategy is a slow answer for the user, so what is measured first is what is
safe or known to pay: for completions, plain decoding, then prompt lookup only once a replay of
finished runs (`note_lookup_replay`, see `inference/lookup_shadow.py`) shows that lookup would
have accepted enough tokens per pass; for edits, which copy their input, prompt lookup and then
plain. A draft model, and a lookup the replays do not favour, wait for the first exploration
round (`explore_every` requests in). An engine that can replay its draft model over a finished
answer (`note_draft_replay`: one teacher-forced pass of the draft says how many of its proposals
the target would have accepted) never runs a draft the replays do not favour, and measures one
they do at once: learning that a draft loses then costs no slow answer.

Every generation counts, short and cancelled ones too: the engine charges each run the time only
that strategy spends (decode after the first token, plus a draft model's own prefill), divided by
the tokens it produced (at least one). So a stream of one-token completions charges plain ~0 and
the draft its prefill: plain wins, as it should. A candidate that is tried `measure_tries` times
without ever reporting (every try cancelled before its first token) stops being tried until the
next exploration round; until plain itself is measured, plain is the answer.
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
    #: Every `explore_every` requests of a kind, re-measure one of the strategies not in use.
    explore_every: int = 8
    #: A strategy that keeps losing is re-measured half as often each time (8, 16, 32, 64
    #: requests apart), up to this gap; when the best strategy changes, the gaps start over.
    max_explore_gap: int = 64
    #: A speculative strategy must be at least this much faster than plain to be used.
    margin: float = 1.03
    _ms_per_token: dict[tuple[str, str], _Ema] = field(default_factory=dict)
    _count: dict[str, int] = field(default_factory=dict)
    _explored: dict[str, int] = field(default_factory=dict)
    _gap: dict[tuple[str, str], int] = field(default_factory=dict)
    _due: dict[tuple[str, str], int] = field(default_factory=dict)
    _best_seen: dict[str, str] = field(default_factory=dict)
    #: Times a candidate was handed out to be measured, measured or not.
    _tries: dict[tuple[str, str], int] = field(default_factory=dict)
    #: Samples each candidate needs before the selector settles. One: every measuring run of a
    #: slow candidate is a slow answer for the user; exploration refines the estimates later.
    min_samples: int = 1
    #: A candidate handed out this many times without `min_samples` measurements is skipped.
    measure_tries: int = 4
    #: Prompt lookup is measured early only when replays of finished runs show at least this
    #: many tokens per target pass, passes weighed by `pass_cost` (1.0: no faster than plain).
    lookup_promise: float = 1.3
    #: Finished runs replayed one after the other before replays thin out.
    replay_warmup: int = 3
    #: Per kind: tokens per pass prompt lookup would have made, replayed on finished runs.
    _replay: dict[str, _Ema] = field(default_factory=dict)
    #: The draft model is run for real only when replays show at least this many tokens per
    #: target pass: each pass also pays the draft's own steps, so it needs more than lookup.
    draft_promise: float = 1.6
    #: Per kind: tokens per pass the draft model would have made (engines that can replay it).
    _draft_replay: dict[str, _Ema] = field(default_factory=dict)
    #: What each verified position beyond the first adds to a target pass, in one-token steps
    #: (a pass of width w costs 1 + slope * (w - 1)); None: not measured, passes count alike.
    #: The llama.cpp engine measures it (Gemma 3 270M's huge output layer makes it large);
    #: lookup replays are scored in these costs, so lookup looks promising only where it
    #: would be faster, not merely make several tokens per pass. A property of the engine and
    #: machine, not of the workload: `reset` keeps it.
    verify_slope: float | None = None

    def pass_cost(self, width: int) -> float:
        """A target pass verifying `width` positions, in one-token steps."""
        return 1.0 + (self.verify_slope or 0.0) * max(0, width - 1)

    def candidates(self, kind: TaskKind) -> list[Strategy]:
        """In order of preference: the draft for FIM, prompt lookup for edits; plain last."""
        if kind == "fim" and self.has_draft:
            return ["draft", "prompt_lookup", "plain"]
        if self.has_draft:
            return ["prompt_lookup", "draft", "plain"]
        return ["prompt_lookup", "plain"]

    def preferred(self, kind: TaskKind) -> Strategy:
        return self.candidates(kind)[0]

    def choose(self, kind: TaskKind, requested: Strategy = "auto") -> Strategy:
        if requested != "auto":
            if requested == "draft" and not self.has_draft:
                return "prompt_lookup"
            return requested
        n = self._count.get(kind, 0)
        self._count[kind] = n + 1
        cands = self.candidates(kind)
        for c in self._measure_first(kind):  # the safe or promising candidates, in order
            ema = self._ms_per_token.get((kind, c))
            tries = self._tries.get((kind, c), 0)
            if (ema is None or ema.samples < self.min_samples) and tries < self.measure_tries:
                self._tries[(kind, c)] = tries + 1
                return c
        best = self._best(kind, cands)
        if self._best_seen.get(kind) != best:  # the workload changed: re-measure sooner
            self._best_seen[kind] = best
            for c in cands:
                self._gap.pop((kind, c), None)
                self._due.pop((kind, c), None)
        if n and n % self.explore_every == 0:  # now and then, re-measure another one in turn
            others = [
                c
                for c in cands
                if c != best
                and n >= self._due.get((kind, c), 0)
                and not (c == "prompt_lookup" and self._lookup_unpromising(kind))
                and not (c == "draft" and self._draft_unpromising(kind))
            ]
            if others:
                k = self._explored.get(kind, 0)
                self._explored[kind] = k + 1
                c = others[k % len(others)]
                gap = self._gap.get((kind, c), self.explore_every)
                self._due[(kind, c)] = n + gap
                self._gap[(kind, c)] = min(self.max_explore_gap, 2 * gap)
                return c
        return best

    def _measure_first(self, kind: TaskKind) -> list[Strategy]:
        """What is measured before anything is chosen: for edits prompt lookup, then plain; for
        completions plain, then prompt lookup once replays show it would pay."""
        draft = ["draft"] if self._draft_promising(kind) else []
        if kind != "fim":
            return ["prompt_lookup", "plain", *draft]
        lookup = self._replayed(self._replay, kind)
        promising = lookup is not None and lookup >= self.lookup_promise
        return ["plain", *(["prompt_lookup"] if promising else []), *draft]

    @staticmethod
    def _replayed(replays: dict[str, _Ema], kind: TaskKind) -> float | None:
        """Tokens per pass the replays of `kind` show (None: not replayed yet)."""
        replay = replays.get(kind)
        return None if replay is None else (replay.value or 0.0)

    def _replay_due(self, replays: dict[str, _Ema], kind: TaskKind) -> bool:
        """Every one of the first `replay_warmup` finished runs, then one in `explore_every`,
        to follow a changing workload."""
        replay = replays.get(kind)
        if replay is None or replay.samples < self.replay_warmup:
            return True
        return self._count.get(kind, 0) % self.explore_every == 0

    def _lookup_unpromising(self, kind: TaskKind) -> bool:
        lookup = self._replayed(self._replay, kind)
        return lookup is not None and lookup < self.lookup_promise

    def _draft_promising(self, kind: TaskKind) -> bool:
        draft = self._replayed(self._draft_replay, kind)
        return self.has_draft and draft is not None and draft >= self.draft_promise

    def _draft_unpromising(self, kind: TaskKind) -> bool:
        draft = self._replayed(self._draft_replay, kind)
        return draft is not None and draft < self.draft_promise

    def wants_draft_replay(self, kind: TaskKind, strategy: str) -> bool:
        """Whether a finished run should be replayed through the draft model: runs that did not
        use it, as often as lookup replays (`_replay_due`)."""
        if not self.has_draft or strategy == "draft":
            return False
        return self._replay_due(self._draft_replay, kind)

    def note_draft_replay(self, kind: TaskKind, tokens_per_pass: float) -> None:
        """A finished run, replayed: the draft would have made `tokens_per_pass` per pass."""
        self._draft_replay.setdefault(kind, _Ema()).add(tokens_per_pass)

    def wants_lookup_replay(self, kind: TaskKind, strategy: str) -> bool:
        """Whether a finished run should be replayed for prompt lookup: completions that ran
        without it (an edit measures lookup for real first anyway), at `_replay_due`'s pace (a
        replay costs about a millisecond of CPU for 64 tokens after a 4k-token prompt)."""
        if kind != "fim" or strategy == "prompt_lookup":
            return False
        return self._replay_due(self._replay, kind)

    def note_lookup_replay(self, kind: TaskKind, speedup: float) -> None:
        """A finished run, replayed: lookup would have made `speedup` tokens per one-token
        step's worth of target passes (tokens per pass where passes cost alike, `pass_cost`)."""
        self._replay.setdefault(kind, _Ema()).add(speedup)

    def _best(self, kind: TaskKind, cands: list[Strategy]) -> Strategy:
        """The fastest measured candidate; plain unless one beats it by `margin`. Without a
        measurement of plain there is nothing to beat: plain."""
        plain_ema = self._ms_per_token.get((kind, "plain"))
        if plain_ema is None or plain_ema.value is None:
            return "plain"
        plain = plain_ema.value
        best, best_ms = "plain", plain
        for c in cands:
            ema = self._ms_per_token.get((kind, c))
            if ema is None or ema.value is None:
                continue
            ms = ema.value
            if c != "plain" and ms * self.margin < plain and ms < best_ms:
                best, best_ms = c, ms
        return best

    def record(self, kind: TaskKind, strategy: str, ms: float, tokens: int) -> None:
        """`ms`: what this strategy cost beyond the prefill every strategy pays; `tokens`: what
        it produced. Any run counts, however short, finished or cancelled."""
        if ms < 0:
            return
        self._ms_per_token.setdefault((kind, strategy), _Ema()).add(ms / max(1, tokens))

    def reset(self) -> None:
        """Forget everything learned (a benchmark starts each workload from scratch)."""
        for d in (self._ms_per_token, self._count, self._explored, self._gap, self._due):
            d.clear()
        self._replay.clear()
        self._draft_replay.clear()
        self._best_seen.clear()
        self._tries.clear()

    def snapshot(self) -> dict[str, float]:
        """ms per token by kind/strategy, and kind/lookup_replay (tokens per pass replayed)."""
        out = {f"{k}/{s}": round(e.value or 0.0, 3) for (k, s), e in self._ms_per_token.items()}
        out.update(
            {f"{k}/lookup_replay": round(e.value or 0.0, 3) for k, e in self._replay.items()}
        )
        out.update(
            {f"{k}/draft_replay": round(e.value or 0.0, 3) for k, e in self._draft_replay.items()}
        )
        return out
