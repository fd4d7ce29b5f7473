"""The decode loop: plain, n-gram prompt lookup and draft-model speculation, exact under greedy.

Runs in the engine's worker thread. Invariant: the target cache holds KV for `seq[:n_cached]`; a
step feeds `seq[n_cached:]` plus any drafted tokens in one forward pass, accepts the longest
drafted prefix the target agrees with, appends the target's own next token, and crops the cache
back. For sampling (temperature > 0) speculation falls back to plain decoding: correct rejection
sampling needs both distributions and buys little at temperature 0.2 on small models.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from inference.base import GenerationStats
from inference.local.kv_cache import CacheEntry, common_prefix_len, truncate_cache
from inference.local.lookup import propose_from_lookup
from inference.speculation import SpeculationState, draft_length, verify


@dataclass
class DecodeParams:
    max_tokens: int
    temperature: float
    eos_ids: set[int]
    strategy: str  # "plain" | "prompt_lookup" | "draft"
    lookup_tokens: list[int]
    num_speculative: int = 8
    top_p: float = 0.95


class Decoder:
    """One generation's state; `run` yields token lists as they are accepted."""

    def __init__(self, target: Any, draft: Any | None, device: str) -> None:
        self.target = target
        self.draft = draft
        self.device = device

    @torch.inference_mode()
    def _forward(self, model: Any, tokens: list[int], cache: Any, keep: int) -> torch.Tensor:
        """Logits of the last `keep` positions only: a 1.5k-token prefill would otherwise
        project every position onto the vocabulary for nothing."""
        ids = torch.tensor([tokens], dtype=torch.long, device=self.device)
        out = model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=keep)
        return out.logits[0, -keep:]

    def _new_cache(self, model: Any) -> Any:
        from transformers import DynamicCache

        return DynamicCache(config=model.config)

    def _reuse(
        self, model: Any, prompt: list[int], tokens: list[int] | None, cache: Any
    ) -> tuple[Any, int]:
        """Crop a previous cache to the longest common prefix (leaving >= 1 token to feed)."""
        if cache is None or tokens is None:
            return self._new_cache(model), 0
        keep = min(common_prefix_len(tokens, prompt), len(prompt) - 1, cache.get_seq_length())
        if keep <= 0:
            return self._new_cache(model), 0
        truncate_cache(cache, keep)
        return cache, keep

    def _pick(self, logits: torch.Tensor, params: DecodeParams) -> int:
        if params.temperature <= 0:
            return int(torch.argmax(logits).item())
        probs = torch.softmax(logits.float() / params.temperature, dim=-1)
        sorted_p, idx = torch.sort(probs, descending=True)
        keep = torch.cumsum(sorted_p, dim=-1) - sorted_p < params.top_p
        sorted_p = sorted_p * keep
        choice = torch.multinomial(sorted_p / sorted_p.sum(), 1)
        return int(idx[choice].item())

    def run(
        self,
        prompt: list[int],
        params: DecodeParams,
        stats: GenerationStats,
        previous: CacheEntry | None,
        should_stop: Callable[[], bool],
        emit: Callable[[list[int]], bool],
    ) -> CacheEntry:
        """Generate; `emit(tokens)` returns False to stop (stop sequence hit). Returns the cache
        entry to keep for the next request of the same document."""
        strategy = params.strategy
        if params.temperature > 0 or (strategy == "draft" and self.draft is None):
            strategy = "plain" if params.temperature > 0 else "prompt_lookup"
        stats.strategy = strategy
        stats.prompt_tokens = len(prompt)

        prev_tokens = previous.tokens if previous else None
        cache, n_cached = self._reuse(
            self.target, prompt, prev_tokens, previous.cache if previous else None
        )
        stats.prefix_tokens_reused = n_cached
        d_cache, d_cached = None, 0
        if strategy == "draft":
            d_prev = previous.draft_cache if previous else None
            d_cache, d_cached = self._reuse(
                self.draft, prompt, previous.draft_tokens if previous else None, d_prev
            )

        seq = list(prompt)
        lookup_corpus = params.lookup_tokens + prompt
        generated = 0
        spec = SpeculationState(
            k=params.num_speculative, k_max=32 if strategy == "prompt_lookup" else 16
        )
        finish = "length"
        t0 = time.perf_counter()

        while generated < params.max_tokens:
            if should_stop():
                finish = "cancelled"
                break
            budget = params.max_tokens - generated
            drafted: list[int] = []
            n_draft, spec = draft_length(spec, budget)
            if n_draft and strategy == "prompt_lookup":
                drafted = propose_from_lookup(seq, lookup_corpus + seq[len(prompt) :], n_draft)
            elif n_draft and strategy == "draft":
                t_draft = time.perf_counter()
                drafted, d_cached = self._draft_tokens(seq, d_cache, d_cached, n_draft)
                if stats.ttft_ms == 0.0:
                    stats.draft_prefill_ms += (time.perf_counter() - t_draft) * 1000

            fed = seq[n_cached:] + drafted
            logits = self._forward(self.target, fed, cache, keep=len(drafted) + 1)
            stats.target_forward_passes += 1
            # logits[i] predicts drafted[i]; the last row gives the target's own next token
            picks = (
                logits.argmax(dim=-1).tolist()  # one call for every row under greedy
                if params.temperature <= 0
                else [self._pick(row, params) for row in logits]
            )
            step = verify(drafted, picks, spec, budget=budget, eos_ids=params.eos_ids)
            spec = step.state
            if drafted:
                stats.drafted_tokens += len(drafted)
                stats.accepted_tokens += step.accepted
            new_tokens = step.tokens
            if step.stopped:
                finish = "stop"
            # crop the cache to what is valid: seq + the accepted drafts that survived the cuts
            n_cached = len(seq) + step.kv_valid
            seq.extend(new_tokens)
            truncate_cache(cache, n_cached)
            if d_cache is not None:
                d_cached = min(d_cached, n_cached)
                truncate_cache(d_cache, d_cached)
            generated += len(new_tokens)
            if new_tokens:
                if stats.ttft_ms == 0.0:
                    stats.ttft_ms = (time.perf_counter() - t0) * 1000
                if not emit(new_tokens):
                    finish = "stop"
            if finish == "stop":
                break

        stats.generated_tokens = generated
        stats.finish_reason = finish
        entry = CacheEntry(tokens=seq[: cache.get_seq_length()], cache=cache)
        if d_cache is not None:
            entry.draft_tokens = seq[: d_cache.get_seq_length()]
            entry.draft_cache = d_cache
        return entry

    def _draft_tokens(
        self, seq: list[int], d_cache: Any, d_cached: int, n: int
    ) -> tuple[list[int], int]:
        """Greedy draft of `n` tokens; the draft cache ends holding KV for seq + drafts[:-1]."""
        out: list[int] = []
        feed = seq[d_cached:]
        for _ in range(n):
            logits = self._forward(self.draft, feed, d_cache, keep=1)
            tok = int(torch.argmax(logits[-1]).item())
            out.append(tok)
            feed = [tok]
        return out, len(seq) + len(out) - 1
