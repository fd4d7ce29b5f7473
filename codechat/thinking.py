"""Hide `<think>…</think>` reasoning from the user, also while the answer streams."""

from __future__ import annotations

OPEN, CLOSE = "<think>", "</think>"


def _partial_suffix(buf: str, tag: str) -> int:
    """Length of the longest suffix of `buf` that is a proper prefix of `tag`."""
    for n in range(min(len(tag) - 1, len(buf)), 0, -1):
        if buf.endswith(tag[:n]):
            return n
    return 0


class ThinkFilter:
    """Feed streamed deltas, get back only the visible text.

    `inside=True` starts in reasoning mode: templates of reasoning models (DeepSeek-R1, ...) put
    the opening `<think>` in the prompt, so the answer begins inside it. An unterminated `<think>`
    hides everything after it until `</think>` arrives (or forever).
    """

    def __init__(self, inside: bool = False) -> None:
        self.inside = inside
        self._buf = ""
        self._emitted = False

    def feed(self, delta: str) -> str:
        self._buf += delta
        out: list[str] = []
        while True:
            if self.inside:
                i = self._buf.find(CLOSE)
                if i < 0:
                    keep = _partial_suffix(self._buf, CLOSE)
                    self._buf = self._buf[len(self._buf) - keep :] if keep else ""
                    break
                self._buf = self._buf[i + len(CLOSE) :].lstrip()
                self.inside = False
                continue
            i = self._buf.find(OPEN)
            if i >= 0:
                out.append(self._buf[:i])
                self._buf = self._buf[i + len(OPEN) :]
                self.inside = True
                continue
            keep = _partial_suffix(self._buf, OPEN)
            out.append(self._buf[: len(self._buf) - keep])
            self._buf = self._buf[len(self._buf) - keep :]
            break
        text = "".join(out)
        if not self._emitted:
            text = text.lstrip()
        self._emitted = self._emitted or bool(text)
        return text

    def flush(self) -> str:
        """End of stream: a held partial tag that never completed is ordinary text."""
        rest = "" if self.inside else self._buf
        self._buf = ""
        return rest


def strip_think(text: str, inside: bool = False) -> str:
    """The visible part of a complete answer (a stray leading `</think>` ends hidden reasoning)."""
    if not inside and CLOSE in text and OPEN not in text.split(CLOSE, 1)[0]:
        text = text.split(CLOSE, 1)[1]
    f = ThinkFilter(inside)
    return f.feed(text) + f.flush()
