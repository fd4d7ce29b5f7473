"""Every llama.cpp decode runs on one thread (inference/llamacpp/compute.py): one OpenMP team
for the process, whichever worker asks."""

from __future__ import annotations

import threading

import pytest

from inference.llamacpp.compute import on_compute_thread


def test_calls_from_several_threads_run_on_one_thread_with_their_results():
    seen: list[tuple[int, int]] = []
    alive = threading.Barrier(4)  # all four alive at once: no thread id is reused

    def ask(n: int) -> None:
        alive.wait(timeout=30)
        caller = threading.get_ident()
        ran_on = on_compute_thread(threading.get_ident)
        assert on_compute_thread(lambda: n * 2) == n * 2
        seen.append((caller, ran_on))
        alive.wait(timeout=30)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({caller for caller, _ in seen}) == 4
    assert len({ran_on for _, ran_on in seen}) == 1
    assert all(caller != ran_on for caller, ran_on in seen)


def test_an_exception_reaches_the_caller_and_a_nested_call_does_not_deadlock():
    def boom() -> None:
        raise ValueError("decode failed")

    with pytest.raises(ValueError, match="decode failed"):
        on_compute_thread(boom)
    assert on_compute_thread(lambda: on_compute_thread(lambda: 7)) == 7


def test_the_engine_decodes_on_the_compute_thread(default_gguf):
    from inference.llamacpp.context import KvContext
    from inference.llamacpp.model import GgufModel

    model = GgufModel(default_gguf)
    ctx = KvContext(model, n_seq=1, n_ctx_seq=64, n_threads=1)
    where: list[int] = []
    compute = on_compute_thread(threading.get_ident)
    try:
        tokens = model.tokenize("def add(a, b):", add_bos=model.add_bos)
        ctx.eval(0, tokens, 0, 1, lambda logits: where.append(threading.get_ident()) or 0)
    finally:
        ctx.close()
        model.close()
    assert where == [compute]


def test_a_forked_child_gets_its_own_compute_thread():
    """After a fork only the forking thread exists: work must not queue for the parent's."""
    import os

    on_compute_thread(lambda: None)  # the parent's thread exists
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the call returns (a hang is killed below)
        code = 0 if on_compute_thread(lambda: 41) + 1 == 42 else 1
        os._exit(code)
    for _ in range(300):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        threading.Event().wait(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    raise AssertionError("the forked child hung on the parent's compute thread")
