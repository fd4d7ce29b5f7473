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

    `inside=True` starts in reasoning mode: templates of reasoning models (DeepSeek-R1, QwQ) put
    the opening `<think>` in the prompt, so the answer begins inside it. An unterminated `<think>`
    hides everything after it until `</think>` arrives (or forever).

    `inside=None`: not known (a server renders the template and Tandem cannot see it). Then
    nothing is shown until it is clear: a `</think>` arrives (what came before was reasoning),
    or the text opens with `<think>` itself, or `settle(False)` says the reasoning comes apart
    (the server's `reasoning_content`), or the stream ends without a `</think>` (`flush`: it was
    all answer). The user waits longer; reasoning never reaches the screen as answer.
    """

    def __init__(self, inside: bool | None = False) -> None:
        self.unknown = inside is None
        self.inside = bool(inside)
        self._buf = ""
        self._emitted = False

    def settle(self, inside: bool) -> str:
        """Decide an unknown start (no-op when known); returns the text that becomes visible."""
        if not self.unknown:
            return ""
        self.unknown, self.inside = False, inside
        held, self._buf = self._buf, ""
        return self.feed(held)

    def _resolve(self) -> bool:
        """In the unknown state, decide from the held text when it is clear; False: hold on."""
        head = self._buf.lstrip()
        if CLOSE in self._buf and not head.startswith(OPEN):
            self.unknown, self.inside = False, True  # reasoning opened by the prompt
            return True
        if head.startswith(OPEN):
            self.unknown, self.inside = False, False  # the model opens its own block
            return True
        return False

    def feed(self, delta: str) -> str:
        self._buf += delta
        if self.unknown and not self._resolve():
            return ""
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
        if self.unknown:  # never closed: no reasoning was opened by the prompt
            self.unknown = False
            held, self._buf = self._buf, ""
            return self.feed(held) + self.flush()
        rest = "" if self.inside else self._buf
        self._buf = ""
        return rest


def strip_think(text: str, inside: bool | None = False) -> str:
    """The visible part of a complete answer (a stray leading `</think>` ends hidden reasoning;
    `inside=None`, not known, reads the same way)."""
    if not inside and CLOSE in text and OPEN not in text.split(CLOSE, 1)[0]:
        text = text.split(CLOSE, 1)[1]
    f = ThinkFilter(inside)
    return f.feed(text) + f.flush()
