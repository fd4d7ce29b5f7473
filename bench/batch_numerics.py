"""Why greedy outputs of llama.cpp strategies can part: measuring batch numerics.

Tandem's speculative loop is exact logic: it accepts a drafted token only where the target's own
greedy pick agrees (`inference.speculation`). But the pick is made on logits the target
computed for a *batch* (the drafted tokens verified in one pass), and llama.cpp's CPU kernels
are not batch-invariant: a batch of tokens gets slightly different logits than the same tokens
fed one at a time (upstream: "we use different kernels for different batch sizes",
ggml-org/llama.cpp#23335; also #25618, #4479). Where plain decoding's top-2 logit margin is
smaller than that gap, the two can pick different tokens, and from then on the outputs differ.

This module measures both sides for `tandem bench engines`:

* `batch_logit_gaps`: max |logit(batch) - logit(one at a time)| per position of a verify-sized
  batch fed after the real prompt, on the engine's own context;
* `MarginRecorder`: the top-2 logit margin of every greedy pick of a run;
* `divergence`: where a strategy's tokens part from plain's, and plain's margin there.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


def top2_margin(logits: np.ndarray) -> float:
    """The gap between the largest and second-largest logit: how far greedy is from a tie."""
    top = np.partition(logits, -2)[-2:]
    return float(top[1] - top[0])


@dataclass
class MarginRecorder:
    """A greedy picker that also records (token, top-2 margin) for every pick it makes."""

    pick: Callable[[np.ndarray], int]
    picks: list[tuple[int, float]] = field(default_factory=list)

    def __call__(self, logits: np.ndarray) -> int:
        tok = self.pick(logits)
        self.picks.append((tok, top2_margin(logits)))
        return tok


def batch_logit_gaps(ctx, seq: int, prefix_len: int, tokens: list[int]) -> list[float]:
    """Per position i of `tokens`: max over the vocabulary of |logits when `tokens` are fed as
    one batch - logits when they are fed one at a time|, at positions prefix_len + i.

    `ctx` is an `inference.llamacpp.context.KvContext` whose sequence `seq` holds KV for exactly
    `prefix_len` tokens; it holds exactly those again on return. Both passes start from the same
    prefix KV, so any difference is the batch's doing."""
    batch_rows: list[np.ndarray] = []
    single_rows: list[np.ndarray] = []

    def keep_into(rows: list[np.ndarray]) -> Callable[[np.ndarray], int]:
        def pick(logits: np.ndarray) -> int:
            rows.append(np.array(logits, dtype=np.float32, copy=True))
            return 0

        return pick

    ctx.keep(seq, prefix_len)
    try:
        ctx.eval(seq, tokens, prefix_len, len(tokens), keep_into(batch_rows))
        ctx.keep(seq, prefix_len)
        for i, tok in enumerate(tokens):
            ctx.eval(seq, [tok], prefix_len + i, 1, keep_into(single_rows))
    finally:
        ctx.keep(seq, prefix_len)
    return [float(np.abs(b - s).max()) for b, s in zip(batch_rows, single_rows, strict=True)]


def first_divergence(a: list[int], b: list[int]) -> int | None:
    """The first index where two token lists differ (a length difference counts), or None."""
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def margin_summary(margins: list[float]) -> dict:
    if not margins:
        return {}
    return {
        "min": round(min(margins), 5),
        "median": round(statistics.median(margins), 5),
        "steps": len(margins),
    }


def explain(
    plain: list[int],
    plain_margins: list[float],
    others: dict[str, list[int]],
    gap: float | None,
) -> dict:
    """For each of `others` that parts from `plain`: the token index and plain's top-2 margin
    there; `explained_by_batch_numerics` says whether every such margin is below the measured
    batch gap (None when nothing parted or no gap was measured).

    "Below the gap" is the conservative test: one logit moving by the gap already closes such a
    margin (two logits moving in opposite directions close up to twice the gap)."""
    at: dict[str, int] = {}
    margins: dict[str, float | None] = {}
    for name, toks in others.items():
        i = first_divergence(plain, toks)
        if i is None:
            continue
        at[name] = i
        margins[name] = round(plain_margins[i], 5) if i < len(plain_margins) else None
    explained: bool | None = None
    if margins and gap is not None:
        explained = all(m is not None and m < gap for m in margins.values())
    return {
        "first_divergent_token": at,
        "margin_at_divergence": margins,
        "explained_by_batch_numerics": explained,
    }
