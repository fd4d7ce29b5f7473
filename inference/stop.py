"""Incremental text emission with stop sequences.

Token-by-token decoding can split a multi-byte character or a stop sequence across steps; this
holds back exactly the tail that might still turn into one, so the editor never sees half a
character or the beginning of a stop string.
"""

from __future__ import annotations


class StopTextStream:
    def __init__(self, stop: list[str]) -> None:
        self.stop = [s for s in stop if s]
        self.emitted = 0
        self.stopped = False
        self.text = ""

    def update(self, full_text: str) -> str:
        """Feed the whole decoded output so far; return the new text that is safe to show."""
        if self.stopped:
            return ""
        self.text = full_text
        cut = len(full_text)
        for s in self.stop:
            i = full_text.find(s, max(0, self.emitted - len(s) + 1))
            if i != -1 and i < cut:
                cut = i
                self.stopped = True
        if self.stopped:
            self.text = full_text[:cut]
            delta = full_text[self.emitted : cut]
            self.emitted = cut
            return delta
        safe = len(full_text)
        while safe > self.emitted and full_text[safe - 1] == "\ufffd":
            safe -= 1  # an incomplete UTF-8 sequence: wait for its remaining bytes
        for s in self.stop:
            for n in range(min(len(s) - 1, safe - self.emitted), 0, -1):
                if full_text[safe - n : safe] == s[:n]:
                    safe -= n
                    break
        delta = full_text[self.emitted : safe]
        self.emitted = safe
        return delta

    def flush(self) -> str:
        """At the end of generation, release whatever was held back (unless stopped)."""
        if self.stopped:
            return ""
        delta = self.text[self.emitted :]
        self.emitted = len(self.text)
        return delta
