"""N-gram prompt lookup: propose the tokens that followed the last n-gram earlier in the context.

Edits copy their input, so the continuation is usually already in the prompt; one verification
pass of the target then accepts several tokens at once.

The search runs in C: the token ids are packed as 8-byte integers and the n-gram is found with
`bytes.rfind`/`find` (a hit at an offset that is not a whole token is skipped). A Python loop
over a 4k-token context cost milliseconds per decode step, and the selector's replays of finished
answers (`inference/lookup_shadow.py`) ran it once per step of each answer, on a thread that then
held the GIL while the next request was being served.
"""

from __future__ import annotations

from array import array

_WIDTH = array("q").itemsize


def _rfind(hay: bytes | bytearray, pat: bytes, end: int) -> int:
    """Token index of the last whole-token match of `pat` ending by byte `end`, or -1."""
    while True:
        at = hay.rfind(pat, 0, end)
        if at < 0 or at % _WIDTH == 0:
            return at // _WIDTH if at >= 0 else -1
        end = at + len(pat) - 1  # a match across token boundaries: look further back


def _find(hay: bytes | bytearray, pat: bytes, start: int, end: int) -> int:
    """Token index of the first whole-token match of `pat` in bytes [start, end), or -1."""
    while True:
        at = hay.find(pat, start, end)
        if at < 0 or at % _WIDTH == 0:
            return at // _WIDTH if at >= 0 else -1
        start = at + 1


def propose_from_lookup(
    tokens: list[int],
    corpus: list[int],
    num_tokens: int,
    max_ngram: int = 4,
    min_ngram: int = 1,
) -> list[int]:
    """Find the longest suffix n-gram of `tokens` in `corpus` (latest match wins) and return up
    to `num_tokens` tokens that followed it. `corpus` usually is prompt + generated + extra docs.

    A match must leave at least one token after it. The latest match that leaves a full draft
    wins (better for edits in progress); when none does (in a repeating pattern the latest match
    is followed by one token only), the one that leaves the most."""
    if num_tokens <= 0 or not tokens or not corpus:
        return []
    return propose_packed(tokens, corpus, pack(corpus), num_tokens, max_ngram, min_ngram)


def pack(tokens: list[int]) -> bytearray:
    """`corpus` as `propose_packed` searches it; extend it with `pack(new_tokens)`."""
    return bytearray(array("q", tokens).tobytes())


def propose_packed(
    tokens: list[int],
    corpus: list[int],
    packed: bytes | bytearray,
    num_tokens: int,
    max_ngram: int = 4,
    min_ngram: int = 1,
) -> list[int]:
    """`propose_from_lookup` with the corpus already packed (`pack`): a caller whose corpus
    grows by a few tokens per step keeps one buffer instead of packing it all each time."""
    if num_tokens <= 0 or not tokens:
        return []
    size = len(corpus)
    for n in range(min(max_ngram, len(tokens)), min_ngram - 1, -1):
        last = size - n - 1  # the latest start that leaves a follower
        if last < 0:
            continue
        pat = array("q", tokens[-n:]).tobytes()
        full = min(last, size - n - num_tokens)  # the latest start that leaves a full draft
        if full >= 0:
            start = _rfind(packed, pat, (full + n) * _WIDTH)
            if start >= 0:
                return corpus[start + n : start + n + num_tokens]
        start = _find(packed, pat, max(0, full + 1) * _WIDTH, (last + n) * _WIDTH)
        if start >= 0:
            return corpus[start + n : start + n + num_tokens]
    return []
