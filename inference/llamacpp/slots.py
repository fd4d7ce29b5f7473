"""Which KV sequence holds which document, and what tokens are in it.

A generation owns its slot while it runs. The next request for the same document waits for
that slot (the older request was cancelled, it lets go within one decode step) so it can reuse
the prefix; any other request takes the least recently used idle slot.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field


@dataclass
class Slot:
    seq: int
    key: str | None = None
    #: The tokens whose KV the target sequence holds, and the draft's (same seq id there).
    tokens: list[int] = field(default_factory=list)
    draft_tokens: list[int] = field(default_factory=list)
    busy: bool = False
    last_used: int = 0


class SlotTable:
    def __init__(self, n_slots: int) -> None:
        self.slots = [Slot(seq=i) for i in range(n_slots)]
        self._cond = threading.Condition()
        self._clock = itertools.count(1)

    def acquire(self, key: str | None, timeout: float = 60.0) -> Slot:
        """The document's own slot (after its previous owner let go), else the least recently
        used idle one. Only as many generations run at once as there are worker threads, so
        with more slots than workers one is always free soon."""
        with self._cond:

            def ready() -> Slot | None:
                mine = next((s for s in self.slots if key is not None and s.key == key), None)
                if mine is not None:
                    return None if mine.busy else mine
                idle = [s for s in self.slots if not s.busy]
                return min(idle, key=lambda s: s.last_used) if idle else None

            slot = self._cond.wait_for(ready, timeout)
            if slot is None:
                raise TimeoutError("no free KV slot")
            # a slot taken over from another document keeps its tokens: the decoder still
            # reuses whatever prefix they share (a common header), and drops the rest
            slot.key = key
            slot.busy = True
            slot.last_used = next(self._clock)
            return slot

    def borrow(self, timeout: float = 60.0) -> Slot:
        """The least recently used idle slot, for work of the engine's own (a measurement) that
        leaves its document, its tokens and its place in the LRU order as they were."""
        with self._cond:

            def idle() -> Slot | None:
                free = [s for s in self.slots if not s.busy]
                return min(free, key=lambda s: s.last_used) if free else None

            slot = self._cond.wait_for(idle, timeout)
            if slot is None:
                raise TimeoutError("no free KV slot")
            slot.busy = True
            return slot

    def release(self, slot: Slot) -> None:
        with self._cond:
            slot.busy = False
            self._cond.notify_all()
