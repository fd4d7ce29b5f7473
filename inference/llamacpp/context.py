"""One llama.cpp context holding a KV sequence per document slot.

llama.cpp keeps several independent sequences in one context (`n_seq_max`); with
`kv_unified=False` each gets its own stream of `n_ctx_seq` cells, so a decode step attends only
to its own document. The engine maps documents to sequence ids (`slots.py`) and the KV of a
sequence is edited in place: `keep(seq, n)` drops every position from `n` on
(`llama_memory_seq_rm`), which is all prefix reuse and speculative rollback need.

A context is not thread-safe: every decode (and the read of its logits) runs under one lock,
so two generations on two worker threads interleave step by step instead of corrupting state.
The decode itself runs on the process's one llama.cpp compute thread (`compute.py`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from inference.base import EngineError
from inference.llamacpp.compute import on_compute_thread
from inference.llamacpp.model import GgufModel

#: Picks the next token from one row of logits (greedy argmax, or a sampler).
Picker = Callable[[np.ndarray], int]
#: KV cache element types (ggml type ids: GGML_TYPE_F32 = 0, GGML_TYPE_F16 = 1).
KV_TYPES = {"f32": 0, "f16": 1}


class KvContext:
    def __init__(
        self,
        model: GgufModel,
        *,
        n_seq: int,
        n_ctx_seq: int,
        n_threads: int,
        n_batch: int = 512,
        n_ubatch: int | None = None,
        kv_type: str = "f16",
        flash_attn: bool = False,
    ) -> None:
        """`n_ubatch`: the tokens llama.cpp computes in one graph (default `n_batch`). 1 makes
        every batch bitwise equal to one-token steps, since llama.cpp's CPU kernels are not
        batch-invariant (a batch of 4+ tokens gets slightly different logits): exact, but a
        verify or prefill batch then costs as many passes as it has tokens. `kv_type`: "f16"
        (llama.cpp's default) or "f32" for the KV cache."""
        if kv_type not in KV_TYPES:
            raise ValueError(f"kv_type must be one of {sorted(KV_TYPES)}, not {kv_type!r}")
        lib = model.lib
        self.lib = lib
        self.model = model
        self.n_seq = n_seq
        self.n_ctx_seq = n_ctx_seq
        self.n_batch = n_batch
        params = lib.llama_context_default_params()
        params.n_ctx = n_ctx_seq * n_seq
        params.n_batch = n_batch
        params.n_ubatch = n_ubatch or n_batch
        params.type_k = params.type_v = KV_TYPES[kv_type]
        params.n_seq_max = n_seq
        params.n_threads = n_threads
        params.n_threads_batch = n_threads
        params.kv_unified = False
        params.no_perf = True
        # llama-cpp-python's default too; "auto" measured 2.6-3x slower per token on a tiny
        # model on this CPU
        params.flash_attn_type = (
            lib.LLAMA_FLASH_ATTN_TYPE_ENABLED if flash_attn else lib.LLAMA_FLASH_ATTN_TYPE_DISABLED
        )
        ctx = lib.llama_init_from_model(model.model, params)
        if not ctx:
            raise EngineError(
                f"llama.cpp could not create a context of {n_seq} x {n_ctx_seq} tokens "
                "(out of memory? lower `contextSize`)"
            )
        self.ctx = ctx
        self.memory = lib.llama_get_memory(ctx)
        self.n_vocab = model.n_vocab
        self._batch = lib.llama_batch_init(n_batch, 0, 1)
        self.lock = threading.Lock()
        #: Seconds the last `eval` took once it held the lock: its own work, without the wait
        #: for another generation's step (what `LlamaCppEngine.measure_verify_slope` times).
        self.last_eval_s = 0.0
        self._closed = False

    def _check_open(self) -> None:
        """Under `lock`: a closed context's native memory is freed, and touching it would crash
        the process (a replay or measurement thread can outlive the engine's close)."""
        if self._closed:
            raise EngineError("the llama.cpp context is closed")

    def set_threads(self, n_threads: int) -> None:
        with self.lock:
            self._check_open()
            self.lib.llama_set_n_threads(self.ctx, n_threads, n_threads)

    def keep(self, seq: int, n: int) -> None:
        """Drop positions >= n of sequence `seq` (n = 0 empties it)."""
        with self.lock:
            self._check_open()
            self.lib.llama_memory_seq_rm(self.memory, seq, n, -1)

    def eval(self, seq: int, tokens: list[int], pos0: int, n_out: int, pick: Picker) -> list[int]:
        """Feed `tokens` at positions pos0.. of `seq`; return `pick` applied to the logits of
        the last `n_out` positions (logits are computed for those positions only; 0: none).

        Long inputs go in chunks of `n_batch`; llama.cpp's logits buffer is overwritten by the
        next decode, so the picks happen here, under the lock."""
        if not tokens:
            return []
        n_out = max(0, min(n_out, len(tokens)))
        if pos0 + len(tokens) > self.n_ctx_seq:
            raise EngineError(
                f"context full: {pos0 + len(tokens)} tokens > {self.n_ctx_seq} "
                "(raise `contextSize` or shorten the prompt)"
            )
        first_out = len(tokens) - n_out
        lib, batch = self.lib, self._batch

        def decode() -> list[int]:
            # on the compute thread (compute.py: one OpenMP team for the whole process)
            out: list[int] = []
            for start in range(0, len(tokens), self.n_batch):
                chunk = tokens[start : start + self.n_batch]
                rows: list[int] = []
                for i, tok in enumerate(chunk):
                    batch.token[i] = tok
                    batch.pos[i] = pos0 + start + i
                    batch.n_seq_id[i] = 1
                    batch.seq_id[i][0] = seq
                    wanted = start + i >= first_out
                    batch.logits[i] = wanted
                    if wanted:
                        rows.append(i)
                batch.n_tokens = len(chunk)
                rc = lib.llama_decode(self.ctx, batch)
                if rc != 0:
                    # the failed batch may have left part of itself in the sequence
                    lib.llama_memory_seq_rm(self.memory, seq, pos0, -1)
                    raise EngineError(f"llama_decode failed (code {rc})")
                for i in rows:
                    ptr = lib.llama_get_logits_ith(self.ctx, i)
                    out.append(pick(np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))))
            return out

        with self.lock:
            self._check_open()
            t0 = time.perf_counter()
            out = on_compute_thread(decode)
            self.last_eval_s = time.perf_counter() - t0
        return out

    def close(self) -> None:
        with self.lock:
            if not self._closed:
                self.lib.llama_batch_free(self._batch)
                self.lib.llama_free(self.ctx)
                self._closed = True
