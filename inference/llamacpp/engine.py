"""`LlamaCppEngine`: GGUF models on llama.cpp (llama-cpp-python), with Tandem's own speculation.

Same contract as the transformers engine: generation runs on worker threads, off the event
loop; only the newest request per document runs; cancellation is checked once per decode step;
each document keeps its KV sequence so the next keystroke only prefills what changed.

Two generations may run at once (two worker threads): they own different KV sequences and
take turns on the context's lock, one decode step at a time, so a completion is not stuck
behind a long CodeChat answer for the whole answer.
"""

from __future__ import annotations

import asyncio
import codecs
import concurrent.futures
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from inference.base import (
    Engine,
    EngineError,
    EngineInfo,
    Generation,
    GenerationRequest,
    QueueGeneration,
)
from inference.llamacpp.context import KvContext
from inference.llamacpp.decoding import DecodeParams, LlamaDecoder, greedy
from inference.llamacpp.lookup_index import NgramIndex
from inference.llamacpp.model import GgufModel
from inference.llamacpp.slots import Slot, SlotTable
from inference.llamacpp.stream import BufferedQueueGeneration
from inference.local.strategy import StrategySelector
from inference.lookup_shadow import LookupReplayer
from inference.scheduling import PriorityGate, Ticket
from inference.stop import StopTextStream

log = logging.getLogger(__name__)

#: Worker threads, i.e. generations that run at once (a completion next to a chat answer).
WORKERS = 2


def default_threads() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class LlamaCppEngine(Engine):
    def __init__(
        self,
        target: GgufModel,
        draft: GgufModel | None = None,
        *,
        n_threads: int | None = None,
        n_ctx: int = 4096,
        n_slots: int = 4,
        num_speculative: int = 8,
        n_ubatch: int | None = None,
    ) -> None:
        """`n_ubatch` (see `KvContext`): 1 makes the target's verify batches bitwise equal to
        plain one-token steps, so greedy speculation is token-identical to plain decoding by
        construction (the tests use it to check the loop's logic); the default (llama.cpp's
        512) is much faster and may part from plain where two logits nearly tie."""
        if draft is not None and not target.same_vocab(draft):
            raise EngineError("draft GGUF must share the target's vocabulary (token lists differ)")
        if n_slots <= WORKERS:
            raise ValueError(f"n_slots must exceed the {WORKERS} worker threads")
        self.target_model = target
        self.draft_model = draft
        self.n_threads = n_threads or default_threads()
        self.n_ctx = min(n_ctx, target.n_ctx_train) if target.n_ctx_train > 0 else n_ctx
        self.num_speculative = num_speculative
        self.target = KvContext(
            target, n_seq=n_slots, n_ctx_seq=self.n_ctx, n_threads=self.n_threads, n_ubatch=n_ubatch
        )
        self.draft = (
            KvContext(draft, n_seq=n_slots, n_ctx_seq=self.n_ctx, n_threads=self.n_threads)
            if draft is not None
            else None
        )
        self.decoder = LlamaDecoder(self.target, self.draft)
        self.slots = SlotTable(n_slots)
        self.selector = StrategySelector(has_draft=draft is not None)
        self._selector_lock = threading.Lock()
        self._replayer = LookupReplayer(
            self.selector,
            num_speculative,
            self._selector_lock,
            measure_verify_slope=self.measure_verify_slope,
        )
        self._pool = concurrent.futures.ThreadPoolExecutor(
            WORKERS, thread_name_prefix="tandem-llama"
        )
        self._latest: dict[str, QueueGeneration] = {}
        self._lock = threading.Lock()
        self._lookup_cache: OrderedDict[str, NgramIndex | None] = OrderedDict()
        self._closed = False
        self._eos_ids = set(target.eog_ids)
        if target.eos_id >= 0:
            self._eos_ids.add(target.eos_id)
        #: Called once per decode step, on the worker thread, with the request's kind: it may
        #: block (a step-level priority gate holding chat while a completion runs) and
        #: returning True cancels the generation.
        self.step_hook: Callable[[str], bool] | None = None
        #: Completions first: CodeChat steps yield while a completion waits or runs
        #: (inference/scheduling.py); two workers and per-document KV slots make that possible.
        self.gate = PriorityGate()

    @classmethod
    def load(
        cls,
        model_path: str | Path,
        draft_path: str | Path | None = None,
        n_threads: int | None = None,
        n_ctx: int = 4096,
        num_speculative: int = 8,
        n_ubatch: int | None = None,
    ) -> LlamaCppEngine:
        target = GgufModel(model_path)
        draft = GgufModel(draft_path) if draft_path else None
        try:
            engine = cls(
                target,
                draft,
                n_threads=n_threads,
                n_ctx=n_ctx,
                num_speculative=num_speculative,
                n_ubatch=n_ubatch,
            )
        except Exception:
            target.close()
            if draft is not None:
                draft.close()
            raise
        if target.chat_template:
            # render once now (off the event loop): the jinja machinery takes seconds to
            # import, and a template that cannot render is reported at load, not at first chat
            try:
                engine.render_chat([{"role": "user", "content": "hi"}])
            except Exception as exc:
                log.warning("the GGUF's chat template does not render: %s", exc)
        return engine

    @property
    def info(self) -> EngineInfo:
        return EngineInfo(
            name="llamacpp",
            model=str(self.target_model.path),
            special_tokens=list(self.target_model.special_tokens),
            has_chat_template=bool(self.target_model.chat_template),
            max_context_tokens=self.n_ctx,
            device=f"cpu ({self.n_threads} thread{'s' if self.n_threads != 1 else ''})",
        )

    def count_tokens(self, text: str) -> int:
        return len(self.target_model.tokenize(text, add_bos=False))

    def render_chat(self, messages: list[dict[str, str]]) -> str | None:
        template = self.target_model.chat_template
        if not template:
            return None
        from transformers.utils.chat_template_utils import render_jinja_template

        m = self.target_model
        rendered, _ = render_jinja_template(
            [messages],
            chat_template=template,
            add_generation_prompt=True,
            bos_token=m.token_text(m.bos_id),
            eos_token=m.token_text(m.eos_id),
        )
        text = rendered[0]
        # the template writes BOS itself; tokenizing adds it again when the GGUF says so
        bos = m.token_text(m.bos_id)
        if m.add_bos and bos and text.startswith(bos):
            text = text[len(bos) :]
        return text

    def start(self, request: GenerationRequest) -> Generation:
        gen = BufferedQueueGeneration("llamacpp", asyncio.get_running_loop())
        if self._closed:
            gen.fail(EngineError("engine is closed"))
            return gen
        if request.cache_key is not None:
            with self._lock:
                older = self._latest.get(request.cache_key)
                if older is not None:
                    older.cancel()  # only the newest request per document runs
                self._latest[request.cache_key] = gen
        ticket = self.gate.admit(request.kind)  # a completion counts from now on
        self._pool.submit(self._run, request, gen, ticket)
        return gen

    def _prompt_text(self, request: GenerationRequest) -> str:
        if request.prompt is not None:
            return request.prompt
        rendered = self.render_chat(request.messages or [])
        if rendered is None:
            raise EngineError(
                "this GGUF has no chat template (tokenizer.chat_template); "
                "configure `tandem.promptFormat` for chat"
            )
        return rendered

    def _lookup_index(self, text: str) -> NgramIndex | None:
        """The open documents' n-gram index, or None while it is being built.

        The documents are the same text on every keystroke, so the index is cached; building
        it (tokenizing 200k characters measured 275 ms, indexing 1.7 s on a busy CPU) runs on
        its own thread, and requests meanwhile look up in the prompt and output only."""
        if not text:
            return None
        with self._lock:
            if text in self._lookup_cache:
                self._lookup_cache.move_to_end(text)
                return self._lookup_cache[text]
            self._lookup_cache[text] = None  # building
            while len(self._lookup_cache) > 4:
                self._lookup_cache.popitem(last=False)
        threading.Thread(
            target=self._build_lookup_index, args=(text,), name="tandem-ngram", daemon=True
        ).start()
        return None

    def _build_lookup_index(self, text: str) -> None:
        try:
            index = NgramIndex(self.target_model.tokenize(text, add_bos=False))
        except Exception:  # a lookup aid only: never fail a request over it
            log.exception("indexing the open documents failed")
            return
        with self._lock:
            if text in self._lookup_cache:
                self._lookup_cache[text] = index

    def measure_verify_slope(self, width: int, repeats: int = 3) -> float:
        """What each verified position beyond the first adds to a target pass, in one-token
        steps (`StrategySelector.verify_slope`), timed on this context: the fastest of
        `repeats` one-token steps against the fastest of as many passes of `width` positions,
        all with logits, each timed inside the context's lock, fed
        after a document's KV (an idle slot's, rolled back after, so its prefix stays).

        Where every position costs little beyond reading the weights once, the slope is near
        0; on Gemma 3 270M each position also computes a 262,144-word output row, and a wide
        pass costs several steps. Runs once, on the replay thread, when lookup first looks
        promising; each pass takes the context's lock like a decode step."""
        slot = self.slots.borrow()
        ctx, seq = self.target, slot.seq
        try:
            base = len(slot.tokens)
            tail = (slot.tokens or [max(self.target_model.bos_id, 0)])[-width:]
            tokens = (tail * width)[:width]
            if base + width > ctx.n_ctx_seq:
                ctx.keep(seq, 0)
                slot.tokens, base = [], 0
            one: list[float] = []
            wide: list[float] = []
            for _ in range(repeats):
                for n, times in ((1, one), (width, wide)):
                    ctx.eval(seq, tokens[:n], base, n, greedy)  # the decoder's own picker
                    times.append(ctx.last_eval_s)  # its own work, not a wait for the lock
                    ctx.keep(seq, base)
        except Exception:  # an estimate: never fail anything over it
            log.exception("measuring the cost of a verify pass failed")
            return 0.0
        finally:
            self.slots.release(slot)
        # the least disturbed of each (a busy machine only ever adds time)
        slope = (min(wide) / min(one) - 1) / max(1, width - 1)
        log.info("llama.cpp verify pass of %d positions: slope %.3f per position", width, slope)
        return max(0.0, slope)

    def _choose(self, request: GenerationRequest) -> str:
        with self._selector_lock:
            return self.selector.choose(request.kind, request.strategy)

    def _record(self, kind: str, strategy: str, ms: float, tokens: int) -> None:
        with self._selector_lock:
            self.selector.record(kind, strategy, ms, tokens)  # type: ignore[arg-type]

    def _run(self, request: GenerationRequest, gen: QueueGeneration, ticket: Ticket) -> None:
        stats = gen.stats
        t0 = time.perf_counter()
        slot: Slot | None = None
        try:
            if gen.cancelled:
                stats.finish_reason = "cancelled"
                gen.finish()
                return
            model = self.target_model
            prompt = model.tokenize(self._prompt_text(request), add_bos=model.add_bos)
            if not prompt:
                prompt = [model.bos_id if model.bos_id >= 0 else next(iter(self._eos_ids), 0)]
            room = self.n_ctx - len(prompt)
            if room < 1:
                raise EngineError(
                    f"prompt has {len(prompt)} tokens, the context holds {self.n_ctx} "
                    "(raise `contextSize`)"
                )
            strategy = self._choose(request)
            params = DecodeParams(
                max_tokens=min(request.max_tokens, room),
                temperature=request.temperature,
                eos_ids=self._eos_ids,
                strategy=strategy,
                lookup_index=self._lookup_index(request.lookup_text)
                if strategy == "prompt_lookup"
                else None,
                num_speculative=self.num_speculative,
            )
            stream = StopTextStream(request.stop)
            utf8 = codecs.getincrementaldecoder("utf-8")("replace")
            text_parts: list[str] = []
            piece = model.piece

            out_ids: list[int] = []

            def emit(tokens: list[int]) -> bool:
                out_ids.extend(tokens)
                # incremental: decode only the new tokens' bytes (the decoder holds back a
                # split multi-byte character), never the whole output again
                text_parts.append(utf8.decode(b"".join(piece(t) for t in tokens)))
                gen.push(stream.update("".join(text_parts)) if request.stop else text_parts[-1])
                return not stream.stopped

            hook, kind = self.step_hook, request.kind

            def should_stop() -> bool:
                # once per decode step: wait for this request's turn at the gate
                if not ticket.step(cancelled=lambda: gen.cancelled):
                    return True
                if hook is not None and hook(kind):
                    gen.cancel()  # stopped from outside: the consumer sees a cancellation
                return gen.cancelled

            slot = self.slots.acquire(request.cache_key)
            self.decoder.run(prompt, params, stats, slot, should_stop, emit)
            tail = utf8.decode(b"", final=True)
            if request.stop:
                if tail:
                    text_parts.append(tail)
                    gen.push(stream.update("".join(text_parts)))
                gen.push(stream.flush())
            else:
                gen.push(tail)
            stats.total_ms = (time.perf_counter() - t0) * 1000
            # only the engine's own choices teach it: a forced strategy (settings, benchmarks)
            # says nothing about what `auto` would have got
            auto = request.strategy == "auto"
            if auto and stats.finish_reason != "cancelled":
                # decode time plus the draft's own work before the first token (see local)
                decode_ms = stats.total_ms - stats.ttft_ms + stats.draft_prefill_ms
                self._record(request.kind, stats.strategy, decode_ms, stats.generated_tokens - 1)
            gen.finish()
            if auto and request.temperature <= 0:
                self._replayer.submit(request.kind, stats.strategy, prompt, out_ids)
        except Exception as exc:  # report, never kill the worker thread
            log.exception("llama.cpp generation failed")
            stats.finish_reason = "error"
            stats.total_ms = (time.perf_counter() - t0) * 1000
            if slot is not None:  # the KV may be ahead of what the slot says: start it over
                self.target.keep(slot.seq, 0)
                if self.draft is not None:
                    self.draft.keep(slot.seq, 0)
                slot.tokens, slot.draft_tokens = [], []
            gen.fail(
                exc if isinstance(exc, EngineError) else EngineError(f"generation failed: {exc}")
            )
        finally:
            ticket.done()
            if slot is not None:
                self.slots.release(slot)
            if request.cache_key is not None:
                with self._lock:
                    if self._latest.get(request.cache_key) is gen:
                        del self._latest[request.cache_key]

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._lock:
            for g in self._latest.values():
                g.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._replayer.close()
        # free native memory only once the workers and a replay under way (which may measure
        # on the target's context) have stopped
        await asyncio.to_thread(self._pool.shutdown, True)
        await asyncio.to_thread(self._replayer.close, True)
        for ctx in (self.draft, self.target):
            if ctx is not None:
                ctx.close()
        for m in (self.draft_model, self.target_model):
            if m is not None:
                m.close()
