"""Adaptive debounce: wait before generating about as long as the user's next keystroke takes.

Every keystroke asks for a completion, but while the user types, the next keystroke supersedes
the request a few tens of milliseconds later. A generation started for it is wasted work, and on
a busy CPU the wasted prefills are what make the *last* keystroke slow. So each request first
waits a little; a request superseded while it waits never reaches the engine.

How long, the way Tabby's agent does it:

* **Learn the typing rhythm.** The median of the recent gaps between requests (gaps longer than
  `pause_ms` are pauses, not typing, and are not learned).
* **Weigh the trigger position.** A score in [0, 1] of how likely the user wants a suggestion
  right here: after a non-word character (`(`, `.`, `=`, a space, a new line) counts
  `trigger_weight`, at the end of the line `line_end_weight`, at the end of the document
  `document_end_weight`. Mid-word, the user is most likely still typing the word: score ~0.
* **Wait** `rate * typing_gap`, where `rate` goes from `rate_max` (score 0) down to `rate_min`
  (score 1), **minus half the expected response time** (an EMA of recent generations: when the
  model is slow anyway, the suggestion should not also wait long), **within clamps**: never
  more than `max_ms`; while the user is typing, never less than `floor_factor * typing_gap`
  (the next keystroke most likely comes within one gap, so shorter waits save nothing); and no
  wait at all for an explicit request (the user asked) or when no typing rhythm is known yet
  (the first keystroke after a pause).

The clock is injected (`clock`, seconds), so the logic is tested without sleeping.
"""

from __future__ import annotations

import re
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

_WORD_CHAR = re.compile(r"[\w$]")


@dataclass(frozen=True)
class DebounceConfig:
    min_ms: float = 0.0
    max_ms: float = 300.0
    #: Gaps longer than this are pauses, not typing.
    pause_ms: float = 1000.0
    #: How many recent gaps the typing rhythm is learned from.
    history: int = 20
    #: Wait rate_max x the typing gap mid-word, rate_min x it at the most likely place.
    rate_min: float = 1.5
    rate_max: float = 3.0
    #: While typing, never wait less than this many typing gaps.
    floor_factor: float = 1.25
    #: Share of the expected response time taken off the wait.
    response_share: float = 0.5
    trigger_weight: float = 0.5
    line_end_weight: float = 0.4
    document_end_weight: float = 0.1


@dataclass(frozen=True)
class Trigger:
    """Where the request was made, as far as the debounce cares."""

    #: The character before the cursor ("" at the start of the document).
    before: str
    #: Only whitespace or closing brackets after the cursor on its line.
    line_end: bool
    #: Only whitespace after the cursor in the whole document.
    document_end: bool
    #: The user asked explicitly (invoked): no wait.
    manual: bool = False

    @classmethod
    def at(cls, prefix: str, suffix: str, manual: bool = False) -> Trigger:
        end = suffix.find("\n")
        rest_of_line = suffix if end < 0 else suffix[:end]  # never a copy of the whole suffix
        return cls(
            before=prefix[-1:],
            line_end=not rest_of_line.strip(" \t\r)]}>\"';,"),
            document_end=not suffix or suffix.isspace(),  # stops at the first character
            manual=manual,
        )


class AdaptiveDebounce:
    """Learns typing gaps and response times; `delay_ms` says how long the next request waits."""

    def __init__(
        self, config: DebounceConfig | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config or DebounceConfig()
        self.clock = clock
        self._gaps: deque[float] = deque(maxlen=self.config.history)
        self._last_request: float | None = None
        self._response_ms: float | None = None

    def context_score(self, trigger: Trigger) -> float:
        """0 (mid-word: the user is still typing) .. 1 (a new line at the end of the file)."""
        c = self.config
        score = 0.0
        if not _WORD_CHAR.match(trigger.before or " "):
            score += c.trigger_weight
        if trigger.line_end:
            score += c.line_end_weight
        if trigger.document_end:
            score += c.document_end_weight
        return min(1.0, score)

    @property
    def typing_gap_ms(self) -> float | None:
        """The user's typical gap between keystrokes (None: not typing lately)."""
        return statistics.median(self._gaps) if self._gaps else None

    @property
    def expected_response_ms(self) -> float | None:
        return self._response_ms

    def on_request(self, trigger: Trigger) -> float:
        """Record a request now; returns how many milliseconds it should wait."""
        c = self.config
        now = self.clock()
        gap = None if self._last_request is None else (now - self._last_request) * 1000
        self._last_request = now
        if gap is not None and gap <= c.pause_ms:
            self._gaps.append(gap)
        elif gap is not None:
            self._gaps.clear()  # after a pause, the old rhythm says little
        if trigger.manual:
            return 0.0
        typing = self.typing_gap_ms
        if typing is None or gap is None or gap > c.pause_ms:
            return c.min_ms  # the first keystroke after a pause: no reason to wait
        rate = c.rate_max - (c.rate_max - c.rate_min) * self.context_score(trigger)
        wait = rate * typing - c.response_share * (self._response_ms or 0.0)
        floor = max(c.min_ms, c.floor_factor * typing)
        return max(min(c.max_ms, floor), min(c.max_ms, wait))

    def on_response(self, ms: float, alpha: float = 0.3) -> None:
        """A generation took `ms` (prepare + generate + finalize)."""
        self._response_ms = (
            ms if self._response_ms is None else (1 - alpha) * self._response_ms + alpha * ms
        )
