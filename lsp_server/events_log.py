"""The local suggestions events log: one JSON object per line, for `tandem stats`.

Where: the `eventsLog` setting, else `$XDG_STATE_HOME/tandem/events.jsonl` (by default
`~/.local/state/tandem/events.jsonl`). `eventsLogEnabled = false` turns it off. Nothing here
ever leaves the machine, and no code or document text is written: only ids, the language,
sizes, latencies and speculative-decoding counts.

Event shapes (all have "ts", seconds since the epoch, and "event")::

    {"event": "suggestion", "id", "language", "kind", "latencyMs", "cached", "chars",
     "candidates", "strategy", "draftedTokens", "acceptedTokens"}
    {"event": "shown", "id", "language"}
    {"event": "accepted", "id", "language", "chars"}
    {"event": "partial", "id", "language", "chars"}      # chars: newly accepted characters
    {"event": "speculation", "language", "draftedTokens", "acceptedTokens"}
        # speculative counts that landed after a suggestion was logged (vLLM's, read later)
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def default_path() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(state) / "tandem" / "events.jsonl"


def resolve_path(setting: str | None) -> Path:
    return Path(os.path.expanduser(setting)) if setting else default_path()


class EventsLog:
    """Appends events; a write failure is reported once and turns the log off (never a crash)."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.enabled = False
        self._failed_for: Path | None = None

    def configure(self, enabled: bool, setting: str | None) -> None:
        self.enabled = enabled
        self.path = resolve_path(setting) if enabled else None

    def append(self, event: str, **fields: Any) -> None:
        if not self.enabled or self.path is None or self._failed_for == self.path:
            return
        record = {"ts": round(time.time(), 3), "event": event, **fields}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record, separators=(",", ":")) + "\n")
        except OSError as exc:
            self._failed_for = self.path
            log.warning("events log %s not writable (%s); not logging events", self.path, exc)
