"""Completions first: a step-granular priority gate between urgent and background generations.

A completion ("fim") is worth something only within a few hundred milliseconds; a CodeChat answer
("chat"/"edit") runs for seconds or minutes and nobody stares at each token. An engine that runs
them one after the other makes every keystroke wait behind the whole CodeChat answer. The gate
makes background generations yield *between decode steps* while any urgent request is waiting or
running, so a completion waits at most one background decode step.

It is engine-agnostic (no torch, no llama.cpp): plain threads and one condition variable. It
needs an engine that can run an urgent request while a background one is parked between two
steps, i.e. at least two workers (threads) with separate per-request state (KV caches); with a
single worker a parked background request would block the urgent one forever.

How to use it (the whole API)::

    gate = PriorityGate()

    # 1. where a request is submitted (any thread, before it is queued):
    ticket = gate.admit(request.kind)         # "fim" is urgent; "chat"/"edit" are background

    # 2. in the worker, once per decode step, before the step's forward pass:
    if not ticket.step(cancelled=lambda: gen.cancelled):
        break                                 # cancelled while it waited: stop now

    # 3. when the request ends, however it ends (finally:), exactly once:
    ticket.done()

`admit` counts an urgent request from the moment it is submitted, so background work yields
before the urgent request even reaches its worker. `step` for an urgent ticket only waits for a
background step already running (steps are mutually exclusive, which also keeps two threads from
fighting over the same cores); for a background ticket it waits while any urgent request is
admitted and not done. Background tickets wake when the last urgent one is done. `step` returns
False only when `cancelled()` became true while waiting.

A per-step callback (llama.cpp's, for instance) that cannot take the pause itself can call
`ticket.step(...)` from inside the callback: it blocks the generating thread there, between two
tokens, which is exactly the pause wanted. Remember to release the step when the callback
returns: `ticket.step()` holds the step lock until the next `step()` or `done()` (or an explicit
`ticket.end_step()` after the forward pass).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: Kinds that must never wait for a long generation.
URGENT_KINDS = frozenset({"fim"})

#: How often a waiting step re-checks its `cancelled()` callback (seconds).
_POLL_S = 0.05


@dataclass
class GateStats:
    """What the gate did, for tests and benchmark reports."""

    urgent_admitted: int = 0
    background_admitted: int = 0
    #: Decode steps a background request spent parked because an urgent one was in the way.
    background_yields: int = 0
    waits_by_kind: dict[str, int] = field(default_factory=dict)


class PriorityGate:
    """Urgent requests run their steps while background requests wait between steps."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._urgent_active = 0
        self._step_owner: Ticket | None = None
        self.stats = GateStats()

    def admit(self, kind: str) -> Ticket:
        """Register a request at submission; returns its ticket (call `done()` at the end)."""
        urgent = kind in URGENT_KINDS
        with self._cond:
            if urgent:
                self._urgent_active += 1
                self.stats.urgent_admitted += 1
            else:
                self.stats.background_admitted += 1
        return Ticket(self, kind, urgent)

    @property
    def urgent_active(self) -> int:
        with self._cond:
            return self._urgent_active

    # -- used by Ticket ---------------------------------------------------------------------

    def _step(self, ticket: Ticket, cancelled: Callable[[], bool]) -> bool:
        with self._cond:
            if self._step_owner is ticket:
                self._step_owner = None  # the previous step of this ticket is over
                self._cond.notify_all()
            yielded = False
            t0 = time.perf_counter()
            while True:
                blocked_by_urgent = not ticket.urgent and self._urgent_active > 0
                if self._step_owner is None and not blocked_by_urgent:
                    self._step_owner = ticket
                    ticket.waited_ms += (time.perf_counter() - t0) * 1000
                    return True
                if blocked_by_urgent and not yielded:
                    yielded = True
                    self.stats.background_yields += 1
                    self.stats.waits_by_kind[ticket.kind] = (
                        self.stats.waits_by_kind.get(ticket.kind, 0) + 1
                    )
                if cancelled():
                    ticket.waited_ms += (time.perf_counter() - t0) * 1000
                    return False
                self._cond.wait(_POLL_S)

    def _end_step(self, ticket: Ticket) -> None:
        with self._cond:
            if self._step_owner is ticket:
                self._step_owner = None
                self._cond.notify_all()

    def _done(self, ticket: Ticket) -> None:
        with self._cond:
            if self._step_owner is ticket:
                self._step_owner = None
            if ticket.urgent:
                self._urgent_active -= 1
            self._cond.notify_all()


class Ticket:
    """One admitted request's pass through the gate."""

    def __init__(self, gate: PriorityGate, kind: str, urgent: bool) -> None:
        self.gate = gate
        self.kind = kind
        self.urgent = urgent
        #: Time spent waiting for turns (a benchmark or the strategy selector subtracts it).
        self.waited_ms = 0.0
        self._done = False

    def step(self, cancelled: Callable[[], bool] = lambda: False) -> bool:
        """Wait for this request's turn to run one decode step; False: cancelled meanwhile."""
        if self._done:
            raise RuntimeError("step() after done()")
        return self.gate._step(self, cancelled)

    def end_step(self) -> None:
        """Release the step early (optional: the next `step()` or `done()` releases it too)."""
        self.gate._end_step(self)

    def done(self) -> None:
        """The request ended (finished, cancelled or failed). Idempotent."""
        if not self._done:
            self._done = True
            self.gate._done(self)
