"""The local suggestions events log: one JSON object per line, for `tandem stats`.

Where: the `eventsLog` setting, else `$XDG_STATE_HOME/tandem/events.jsonl` (by default
`~/.local/state/tandem/events.jsonl`). `eventsLogEnabled = false` turns it off. What a path
may be (no symlink, an existing directory, our own file): see `EventsLog`. Nothing here
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

import errno
import json
import logging
import os
import stat
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
    """Appends events; a refused or failing path is reported once and turns the log off (never
    a crash, never a write into a file that is not ours).

    The path is a setting a workspace may carry, so writing is careful:

    * a symlink is never followed (`O_NOFOLLOW`): the log cannot be redirected into a file
      elsewhere;
    * only the default state directory (`$XDG_STATE_HOME/tandem`) is created (mode 0700); for a
      path the user set, its directory must exist;
    * an existing file must already be a Tandem events log (its first line an event: `ts` and
      `event` keys) or be empty and named `*.jsonl`; anything else (a source file, a device, a
      FIFO) is refused.
    """

    def __init__(self) -> None:
        self.path: Path | None = None
        self.enabled = False
        self._default = False
        self._failed_for: Path | None = None
        self._checked: Path | None = None

    def configure(self, enabled: bool, setting: str | None) -> None:
        self.enabled = enabled
        self.path = resolve_path(setting) if enabled else None
        self._default = not setting

    def append(self, event: str, **fields: Any) -> None:
        if not self.enabled or self.path is None or self._failed_for == self.path:
            return
        record = {"ts": round(time.time(), 3), "event": event, **fields}
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8")
        try:
            if self._default:
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, _FLAGS, 0o600)
            try:
                if self._checked != self.path:
                    _check_is_events_log(fd, self.path)
                    self._checked = self.path
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError as exc:
            self._failed_for = self.path
            reason = "a symlink" if exc.errno == errno.ELOOP else exc.strerror or str(exc)
            log.warning("events log %s refused (%s); not logging events", self.path, reason)


#: Append, create if missing, never through a symlink, never block (a FIFO fails at once).
_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _check_is_events_log(fd: int, path: Path) -> None:
    """Raise OSError unless `fd` is a regular file that is (or may become) an events log."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise OSError(errno.EINVAL, "not a regular file")
    if info.st_size == 0:
        if path.suffix != ".jsonl":
            raise OSError(errno.EINVAL, "an empty file not named *.jsonl")
        return
    with open(path, "rb", opener=lambda p, _f: os.open(p, os.O_RDONLY | os.O_NOFOLLOW)) as f:
        first = f.readline(4096)
    try:
        event = json.loads(first)
    except (ValueError, RecursionError):
        event = None
    if not (isinstance(event, dict) and "ts" in event and "event" in event):
        raise OSError(errno.EINVAL, "the file exists and is not a Tandem events log")
