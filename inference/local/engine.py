"""`LocalEngine`: the default, in-process engine (transformers + torch).

Generation runs off the event loop on two worker threads: one for completions ("fim"), one for
CodeChat ("chat"/"edit"). A `PriorityGate` (inference/scheduling.py) makes them take turns one
decode step at a time, and a CodeChat generation parks between two steps while any completion
is waiting or running, so a keystroke never waits for a 768-token answer to finish. Requests
with the same `cache_key` replace each other (only the newest runs), cancellation is checked
once per decode step, and each key keeps its KV cache so the next keystroke reuses the common
token prefix.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from pathlib import Path

from inference.base import (
    Engine,
    EngineError,
    EngineInfo,
    Generation,
    GenerationRequest,
    QueueGeneration,
)
from inference.local.decoding import DecodeParams, Decoder
from inference.local.kv_cache import PrefixCacheStore
from inference.local.loading import LoadedModel, load_model_dir
from inference.local.strategy import StrategySelector
from inference.lookup_shadow import LookupReplayer
from inference.scheduling import URGENT_KINDS, PriorityGate, Ticket
from inference.stop import StopTextStream

log = logging.getLogger(__name__)


#: Prompt tokens the draft replay reads before the answer: the draft's picks depend mostly on the
#: nearby text, and a forward pass over the whole prompt would cost a real draft seconds on a CPU.
DRAFT_REPLAY_CONTEXT = 512


class LocalEngine(Engine):
    def __init__(
        self,
        target: LoadedModel,
        draft: LoadedModel | None = None,
        num_speculative: int = 8,
        cache_capacity: int = 4,
    ) -> None:
        if draft is not None and draft.tokenizer.get_vocab() != target.tokenizer.get_vocab():
            raise EngineError("draft model must share the target's tokenizer (vocabularies differ)")
        self.target = target
        self.draft = draft
        self.tokenizer = target.tokenizer
        self.num_speculative = num_speculative
        self.selector = StrategySelector(has_draft=draft is not None)
        self._replayer = LookupReplayer(
            self.selector, num_speculative, draft_matches=self._draft_matches if draft else None
        )
        self._caches = PrefixCacheStore(cache_capacity)
        self._info: EngineInfo | None = None
        self.gate = PriorityGate()
        # one worker per class of work: a completion must be able to run while a CodeChat
        # generation is parked between two steps
        self._urgent_pool = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="tandem-fim"
        )
        self._background_pool = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="tandem-chat"
        )
        self._latest: dict[str, QueueGeneration] = {}
        self._lock = threading.Lock()
        self._decoder = Decoder(target.model, draft.model if draft else None, target.device)
        eos = self.tokenizer.eos_token_id
        self._eos_ids = {eos} if eos is not None else set()
        gen_cfg = getattr(target.model, "generation_config", None)
        extra = getattr(gen_cfg, "eos_token_id", None)
        if isinstance(extra, int):
            self._eos_ids.add(extra)
        elif isinstance(extra, list):
            self._eos_ids.update(extra)

    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        draft_dir: str | Path | None = None,
        device: str = "auto",
        num_speculative: int = 8,
    ) -> LocalEngine:
        target = load_model_dir(model_dir, device=device)
        draft = load_model_dir(draft_dir, device=target.device) if draft_dir else None
        return cls(target, draft, num_speculative=num_speculative)

    @property
    def info(self) -> EngineInfo:
        # built once: every completion and status notification reads it
        if self._info is None:
            self._info = self._build_info()
        return self._info

    def _build_info(self) -> EngineInfo:
        tok = self.tokenizer
        specials = list(tok.all_special_tokens) + [
            t.content if hasattr(t, "content") else str(t)
            for t in getattr(tok, "added_tokens_decoder", {}).values()
        ]
        return EngineInfo(
            name="local",
            model=str(self.target.path),
            special_tokens=sorted(set(specials)),
            has_chat_template=bool(getattr(tok, "chat_template", None)),
            max_context_tokens=int(
                getattr(self.target.model.config, "max_position_embeddings", 4096) or 4096
            ),
            device=str(self.target.device),
        )

    def _draft_matches(self, prompt: list[int], output: list[int]) -> list[bool]:
        """The draft model's teacher-forced picks over a finished answer (one forward pass over
        the end of the prompt and the answer) against the answer's tokens: what the selector's
        draft replay needs (`inference/lookup_shadow.py`). On the replay thread; the models are
        read-only, as when a completion and a CodeChat answer run at once."""
        import torch

        assert self.draft is not None
        context = prompt[-DRAFT_REPLAY_CONTEXT:]
        if not context:
            return [False] * len(output)
        ids = torch.tensor([context + output], device=self.draft.device)
        with torch.inference_mode():
            logits = self.draft.model(ids).logits[0]
        first = len(context) - 1  # the logits at position p pick the token at p + 1
        picks = logits[first : first + len(output)].argmax(-1).tolist()
        return [p == t for p, t in zip(picks, output, strict=True)]

    def count_tokens(self, text: str) -> int:
        # The Rust tokenizer directly: a third of `tokenizer.encode`'s cost (30 against 90 µs a
        # line), and the budget fitter counts a few lines per keystroke.
        fast = getattr(self.tokenizer, "_tokenizer", None)
        if fast is not None and hasattr(fast, "encode"):
            return len(fast.encode(text, add_special_tokens=False).ids)
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def count_tokens_many(self, texts: list[str]) -> list[int]:
        fast = getattr(self.tokenizer, "_tokenizer", None)  # the Rust tokenizer: one batch call
        if fast is None or not hasattr(fast, "encode_batch"):
            return super().count_tokens_many(texts)
        return [len(e.ids) for e in fast.encode_batch(texts, add_special_tokens=False)]

    def render_chat(self, messages: list[dict[str, str]]) -> str | None:
        if not getattr(self.tokenizer, "chat_template", None):
            return None
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )

    def start(self, request: GenerationRequest) -> Generation:
        gen = QueueGeneration("local", asyncio.get_running_loop())
        if request.cache_key is not None:
            with self._lock:
                older = self._latest.get(request.cache_key)
                if older is not None:
                    older.cancel()  # only the newest request per document runs
                self._latest[request.cache_key] = gen
        ticket = self.gate.admit(request.kind)
        pool = self._urgent_pool if request.kind in URGENT_KINDS else self._background_pool
        try:
            pool.submit(self._run, request, gen, ticket)
        except RuntimeError:  # shut down (engine closed or replaced)
            ticket.done()
            raise EngineError("the engine is closed") from None
        return gen

    def _prompt_text(self, request: GenerationRequest) -> str:
        if request.prompt is not None:
            return request.prompt
        rendered = self.render_chat(request.messages or [])
        if rendered is None:
            raise EngineError(
                "this model has no chat template; configure `tandem.promptFormat` for chat"
            )
        return rendered

    def _encode_prompt(self, request: GenerationRequest) -> list[int]:
        """A raw prompt (FIM) gets the special tokens the tokenizer adds itself, i.e. BOS exactly
        for the families that want one (DeepSeek-Coder, Codestral, Code Llama, CodeGemma), as
        `tokenizer(prompt)` and inference servers do. A chat template writes its own BOS, so
        rendered chat is encoded as it is."""
        if request.prompt is not None:
            return self.tokenizer.encode(request.prompt, add_special_tokens=True)
        return self.tokenizer.encode(self._prompt_text(request), add_special_tokens=False)

    def _run(self, request: GenerationRequest, gen: QueueGeneration, ticket: Ticket) -> None:
        stats = gen.stats
        t0 = time.perf_counter()
        try:
            if gen.cancelled:
                stats.finish_reason = "cancelled"
                gen.finish()
                return
            prompt_ids = self._encode_prompt(request)
            if not prompt_ids:
                prompt_ids = [next(iter(self._eos_ids))] if self._eos_ids else [0]
            lookup_ids = (
                self.tokenizer.encode(request.lookup_text, add_special_tokens=False)
                if request.lookup_text
                else []
            )
            strategy = self.selector.choose(request.kind, request.strategy)
            params = DecodeParams(
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                eos_ids=self._eos_ids,
                strategy=strategy,
                lookup_tokens=lookup_ids,
                num_speculative=self.num_speculative,
            )
            out_ids: list[int] = []
            stream = StopTextStream(request.stop)

            first_wait = [0.0]  # gate wait before the first token (it is inside TTFT)

            def emit(tokens: list[int]) -> bool:
                if not out_ids:
                    first_wait[0] = ticket.waited_ms
                out_ids.extend(tokens)
                gen.push(stream.update(self.tokenizer.decode(out_ids, skip_special_tokens=True)))
                return not stream.stopped

            with self._lock:
                previous = self._caches.take(request.cache_key)

            def should_stop() -> bool:
                # once per decode step: wait for this request's turn at the gate
                return gen.cancelled or not ticket.step(lambda: gen.cancelled)

            try:
                entry = self._decoder.run(prompt_ids, params, stats, previous, should_stop, emit)
            finally:
                ticket.end_step()
            with self._lock:
                self._caches.put(request.cache_key, entry)
            gen.push(stream.flush())
            stats.total_ms = (time.perf_counter() - t0) * 1000
            # Every run teaches the selector, short and cancelled ones too: decode time after the
            # first token (time parked at the gate excluded), plus what only the draft spends
            # before it (the target's prefill is the same for every strategy), per token made.
            decode_ms = (
                stats.total_ms - stats.ttft_ms - (ticket.waited_ms - first_wait[0])
                if stats.generated_tokens
                else 0.0
            ) + stats.draft_prefill_ms
            # only the engine's own choices teach it: a forced strategy (settings, benchmarks)
            # says nothing about what `auto` would have got
            if request.strategy == "auto" and (stats.generated_tokens or stats.draft_prefill_ms):
                self.selector.record(
                    request.kind, stats.strategy, decode_ms, stats.generated_tokens
                )
            gen.finish()
            if request.strategy == "auto" and request.temperature <= 0:
                self._replayer.submit(request.kind, stats.strategy, prompt_ids, out_ids)
        except Exception as exc:  # report, never kill the worker thread
            log.exception("generation failed")
            stats.finish_reason = "error"
            stats.total_ms = (time.perf_counter() - t0) * 1000
            gen.fail(
                exc if isinstance(exc, EngineError) else EngineError(f"generation failed: {exc}")
            )
        finally:
            ticket.done()
            if request.cache_key is not None:
                with self._lock:
                    if self._latest.get(request.cache_key) is gen:
                        del self._latest[request.cache_key]

    async def close(self) -> None:
        with self._lock:
            for g in self._latest.values():
                g.cancel()
        for pool in (self._urgent_pool, self._background_pool):
            pool.shutdown(wait=False, cancel_futures=True)
        self._replayer.close()
        self._caches.clear()
