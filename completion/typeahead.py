"""Typeahead: serve the rest of the last suggestion while the user types into it.

When the new document prefix is the old prefix plus characters that match the start of the
suggestion shown, the remainder is returned with no model call. Diverging clears the entry.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class _Entry:
    prefix: str
    suggestion: str


class TypeaheadCache:
    def __init__(self, capacity: int = 32) -> None:
        self._entries: dict[str, _Entry] = {}
        self._capacity = capacity

    def remember(self, uri: str, prefix: str, suggestion: str) -> None:
        if not suggestion:
            return
        self._entries.pop(uri, None)
        self._entries[uri] = _Entry(prefix, suggestion)
        while len(self._entries) > self._capacity:
            self._entries.pop(next(iter(self._entries)))

    def lookup(self, uri: str, prefix: str) -> str | None:
        """The remaining suggestion, or None (diverged, fully typed, or nothing cached)."""
        entry = self._entries.get(uri)
        if entry is None or not prefix.startswith(entry.prefix):
            if entry is not None:
                del self._entries[uri]
            return None
        typed = prefix[len(entry.prefix) :]
        if not typed or not entry.suggestion.startswith(typed) or typed == entry.suggestion:
            if typed:
                del self._entries[uri]
            return None
        return entry.suggestion[len(typed) :]
