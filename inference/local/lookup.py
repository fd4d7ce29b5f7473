"""N-gram prompt lookup: propose the tokens that followed the last n-gram earlier in the context.

Edits copy their input, so the continuation is usually already in the prompt; one verification
pass of the target then accepts several tokens at once.
"""

from __future__ import annotations


def propose_from_lookup(
    tokens: list[int],
    corpus: list[int],
    num_tokens: int,
    max_ngram: int = 4,
    min_ngram: int = 1,
) -> list[int]:
    """Find the longest suffix n-gram of `tokens` in `corpus` (latest match wins) and return up
    to `num_tokens` tokens that followed it. `corpus` usually is prompt + generated + extra docs."""
    if num_tokens <= 0 or not tokens:
        return []
    for n in range(min(max_ngram, len(tokens)), min_ngram - 1, -1):
        pattern = tokens[-n:]
        first = pattern[0]
        best: list[int] = []
        # Scan backwards so the most recent occurrence wins (better for edits in progress),
        # but skip matches too close to the end to propose a full draft (in a repeating
        # pattern the latest match is followed by one token only).
        end = len(corpus) - n
        for start in range(end - 1, -1, -1):
            if corpus[start] != first or corpus[start : start + n] != pattern:
                continue
            follow = corpus[start + n : start + n + num_tokens]
            if len(follow) > len(best):
                best = follow
                if len(best) == num_tokens:
                    break
        if best:
            return best
    return []
