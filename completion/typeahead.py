"""Typeahead: while the user types what the last suggestion says, show the rest of it.

No engine call: the next keystroke's prefix is the old prefix plus typed text; if that text is
a prefix of the suggestion, the remainder is still the suggestion. Once the user diverges (or
has typed all of it), it is a miss and a real completion runs. A request with nothing typed
since (same prefix) is a miss too: the editor asked again, so it gets a fresh generation.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class _Entry:
    prefix: str
    suggestion: str


class TypeaheadCache:
    """The last suggestion per document (a few documents, least recently used dropped)."""

    def __init__(self, capacity: int = 64) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def remember(self, uri: str, prefix: str, suggestion: str) -> None:
        if not suggestion:
            self._entries.pop(uri, None)
            return
        self._entries[uri] = _Entry(prefix, suggestion)
        self._entries.move_to_end(uri)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def lookup(self, uri: str, prefix: str) -> str | None:
        """The rest of the remembered suggestion, or None (diverged, fully typed, unknown)."""
        entry = self._entries.get(uri)
        if entry is None or not prefix.startswith(entry.prefix):
            return None
        typed = prefix[len(entry.prefix) :]
        if not typed:
            # Nothing typed: a new request at the same place (explicit re-trigger, or the editor
            # asking again) gets a fresh generation, as the server expects.
            return None
        if len(typed) >= len(entry.suggestion) or not entry.suggestion.startswith(typed):
            return None
        self._entries.move_to_end(uri)
        return entry.suggestion[len(typed) :]

    def forget(self, uri: str) -> None:
        self._entries.pop(uri, None)
