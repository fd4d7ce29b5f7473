"""One thread runs every llama.cpp decode in this process.

llama-cpp-python's wheels build ggml with OpenMP, and libgomp gives each thread that starts a
parallel region its own team of helper threads. Tandem decodes from several threads (two
generation workers, the replay thread that measures a verify pass, a draft model's context), so
each of them grew a team: more OpenMP threads than cores. libgomp then switches every wait to
its "throttled" spin (100 spins, then sleep in the kernel), and a decode step holds one OpenMP
barrier per graph node: hundreds of sleeps and wake-ups per token. On the 2-core machine that cost
Tandem's engine 7-10% of llama.cpp's own decode speed at 2 threads, and a keystroke that landed
on the other worker paid for a cold team (40-70 ms instead of 30).

Funnelling the native decode through one long-lived thread keeps exactly one team, as
llama.cpp's own loop (and llama-server) has. The hand-off costs two thread wake-ups per step
(tens of microseconds); the callers already wait on the context's lock, so nothing that ran
concurrently before is serialised by this, except decodes of two different contexts (a draft
and its target, two engines), which competed for the same cores anyway.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_executor: concurrent.futures.ThreadPoolExecutor | None = None
_thread_ident: int | None = None


def _remember_thread() -> None:
    global _thread_ident
    _thread_ident = threading.get_ident()


def _get() -> concurrent.futures.ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix="tandem-llama-compute", initializer=_remember_thread
            )
        return _executor


def _forget_after_fork() -> None:
    """A forked child has no compute thread (only the forking thread survives a fork): it
    starts its own on first use instead of queueing work for a thread that is not there."""
    global _executor, _thread_ident, _lock
    _executor, _thread_ident, _lock = None, None, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def on_compute_thread(fn: Callable[[], T]) -> T:
    """`fn()` on the process's llama.cpp compute thread; its result or its exception."""
    if threading.get_ident() == _thread_ident:  # already there (never nests otherwise)
        return fn()
    return _get().submit(fn).result()
