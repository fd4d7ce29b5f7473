"""Tandem's verified speculative loop on llama.cpp: plain, n-gram prompt lookup, draft model.

Same algorithm as the transformers engine (`inference.local.decoding`), on llama.cpp's own KV
cache. Invariant: the target sequence holds KV for `seq[:n_cached]`. A step feeds
`seq[n_cached:]` plus the drafted tokens in one batch, with logits only for the positions that
verify a draft (and the bonus token), accepts the longest drafted prefix the target agrees
with, and removes the rejected positions from the sequence (`llama_memory_seq_rm`). Under
greedy decoding the output is the target's own argmax chain, whatever was drafted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from inference.base import GenerationStats
from inference.llamacpp.context import KvContext, Picker
from inference.llamacpp.lookup_index import NgramIndex, propose
from inference.llamacpp.slots import Slot
from inference.local.kv_cache import common_prefix_len
from inference.speculation import SpeculationState, draft_length, verify


@dataclass
class DecodeParams:
    max_tokens: int
    temperature: float
    eos_ids: set[int]
    strategy: str  # "plain" | "prompt_lookup" | "draft"
    #: The open documents' n-grams (prompt lookup copies from them too), or None.
    lookup_index: NgramIndex | None
    num_speculative: int = 8
    top_p: float = 0.95


def greedy(logits: np.ndarray) -> int:
    return int(logits.argmax())


def sampler(temperature: float, top_p: float, rng: np.random.Generator, top_k: int = 40) -> Picker:
    """Top-k (llama.cpp's default 40), then temperature + nucleus sampling. Partitioning first
    keeps a step O(vocab) instead of sorting 150k logits (~10 ms) per token. Speculation is off
    when sampling, as in the local engine."""

    def pick(logits: np.ndarray) -> int:
        k = min(top_k, logits.shape[0])
        top = np.argpartition(logits, -k)[-k:]
        z = logits[top].astype(np.float64) / temperature
        order = np.argsort(-z)
        top, z = top[order], z[order]
        p = np.exp(z - z[0])
        p /= p.sum()
        keep = np.cumsum(p) - p < top_p
        p = p * keep
        return int(top[rng.choice(k, p=p / p.sum())])

    return pick


class LlamaDecoder:
    """Runs one generation on a slot of the target (and draft) context."""

    def __init__(self, target: KvContext, draft: KvContext | None) -> None:
        self.target = target
        self.draft = draft
        self._rng = np.random.default_rng()
        #: The target's greedy picker (an instance attribute so a benchmark can wrap it to
        #: record each step's logit margin; the draft model always uses plain `greedy`).
        self.greedy: Picker = greedy

    @staticmethod
    def _reuse(ctx: KvContext, seq: int, cached: list[int], prompt: list[int]) -> int:
        """Keep the longest common token prefix (leaving >= 1 prompt token to feed, whose
        logits give the first new token) and remove the rest of the sequence."""
        keep = min(common_prefix_len(cached, prompt), len(prompt) - 1)
        keep = max(keep, 0)
        ctx.keep(seq, keep)
        return keep

    def run(
        self,
        prompt: list[int],
        params: DecodeParams,
        stats: GenerationStats,
        slot: Slot,
        should_stop: Callable[[], bool],
        emit: Callable[[list[int]], bool],
    ) -> None:
        """Generate; `should_stop()` is called once per decode step (cancellation, and the hook
        for a step-level priority gate); `emit(tokens)` returns False to stop (stop sequence).
        On return `slot.tokens` / `slot.draft_tokens` describe exactly what the KV holds."""
        strategy = params.strategy
        if params.temperature > 0:
            strategy = "plain"
        elif strategy == "draft" and self.draft is None:
            strategy = "prompt_lookup"
        stats.strategy = strategy
        stats.prompt_tokens = len(prompt)
        pick = (
            self.greedy
            if params.temperature <= 0
            else sampler(params.temperature, params.top_p, self._rng)
        )
        seq_id = slot.seq
        target = self.target
        n_cached = self._reuse(target, seq_id, slot.tokens, prompt)
        slot.tokens = list(prompt[:n_cached])
        stats.prefix_tokens_reused = n_cached
        d_cached = 0
        if strategy == "draft" and self.draft is not None:
            d_cached = self._reuse(self.draft, seq_id, slot.draft_tokens, prompt)
            slot.draft_tokens = list(prompt[:d_cached])

        seq = list(prompt)
        generated = 0
        spec = SpeculationState(
            k=params.num_speculative, k_max=32 if strategy == "prompt_lookup" else 16
        )
        finish = "length"
        t0 = time.perf_counter()
        try:
            # A long prompt is prefilled chunk by chunk, each chunk one step: cancellation and
            # the priority gate act between chunks, and the chunks done stay reusable.
            while len(seq) - n_cached > target.n_batch:
                if should_stop():
                    finish = "cancelled"
                    return
                chunk = seq[n_cached : n_cached + target.n_batch]
                target.eval(seq_id, chunk, n_cached, 0, pick)
                n_cached += len(chunk)
                slot.tokens = seq[:n_cached]
            while generated < params.max_tokens:
                if should_stop():
                    finish = "cancelled"
                    break
                budget = params.max_tokens - generated
                drafted: list[int] = []
                n_draft, spec = draft_length(spec, budget)
                if n_draft and strategy == "prompt_lookup":
                    drafted = propose(seq, seq, params.lookup_index, n_draft)
                elif n_draft and strategy == "draft":
                    t_draft = time.perf_counter()
                    drafted, d_cached = self._draft_tokens(seq, seq_id, d_cached, n_draft)
                    slot.draft_tokens = (seq + drafted)[:d_cached]
                    if stats.ttft_ms == 0.0:
                        stats.draft_prefill_ms += (time.perf_counter() - t_draft) * 1000

                fed = seq[n_cached:] + drafted
                picks = target.eval(seq_id, fed, n_cached, len(drafted) + 1, pick)
                stats.target_forward_passes += 1
                step = verify(drafted, picks, spec, budget=budget, eos_ids=params.eos_ids)
                spec = step.state
                if drafted:
                    stats.drafted_tokens += len(drafted)
                    stats.accepted_tokens += step.accepted
                new_tokens = step.tokens
                if step.stopped:
                    finish = "stop"
                # roll the KV back to what is valid: seq + the accepted drafts that survived
                kept = len(seq) + step.kv_valid
                seq.extend(new_tokens)
                if kept < n_cached + len(fed):
                    target.keep(seq_id, kept)
                n_cached = kept
                slot.tokens = seq[:n_cached]
                if self.draft is not None and strategy == "draft" and d_cached > n_cached:
                    d_cached = n_cached
                    self.draft.keep(seq_id, d_cached)
                    slot.draft_tokens = seq[:d_cached]
                generated += len(new_tokens)
                if new_tokens:
                    if stats.ttft_ms == 0.0:
                        stats.ttft_ms = (time.perf_counter() - t0) * 1000
                    if not emit(new_tokens):
                        finish = "stop"
                if finish == "stop":
                    break
        finally:
            stats.generated_tokens = generated
            stats.finish_reason = finish

    def _draft_tokens(
        self, seq: list[int], seq_id: int, d_cached: int, n: int
    ) -> tuple[list[int], int]:
        """Greedy draft of `n` tokens; the draft sequence ends holding seq + drafts[:-1]."""
        assert self.draft is not None
        out: list[int] = []
        feed = seq[d_cached:]
        pos = d_cached
        for _ in range(n):
            tok = self.draft.eval(seq_id, feed, pos, 1, greedy)[0]
            pos += len(feed)
            out.append(tok)
            feed = [tok]
        return out, len(seq) + len(out) - 1
