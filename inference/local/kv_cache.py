"""Per-document KV caches, so the next keystroke only prefills the tokens that changed."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


def truncate_cache(cache: Any, length: int) -> None:
    """Keep the first `length` positions of a transformers cache (crop takes a negative count)."""
    current = cache.get_seq_length()
    if length < current:
        cache.crop(length - current)


def common_prefix_len(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


@dataclass
class CacheEntry:
    """`cache` holds KV for exactly `tokens` (for the target, and optionally the draft)."""

    tokens: list[int]
    cache: Any
    draft_tokens: list[int] | None = None
    draft_cache: Any = None


class PrefixCacheStore:
    """A small LRU of cache entries keyed by document (the cache key of the request)."""

    def __init__(self, capacity: int = 4) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()

    def take(self, key: str | None) -> CacheEntry | None:
        """Remove and return the entry: a generation owns its cache while it runs."""
        if key is None:
            return None
        return self._entries.pop(key, None)

    def put(self, key: str | None, entry: CacheEntry) -> None:
        if key is None:
            return
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
