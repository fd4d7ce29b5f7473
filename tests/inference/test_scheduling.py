"""The priority gate: completions run their decode steps while CodeChat waits between steps."""

from __future__ import annotations

import asyncio
import threading

import pytest

from inference.base import GenerationRequest
from inference.local import LocalEngine
from inference.scheduling import PriorityGate


def test_background_steps_wait_while_an_urgent_request_is_admitted():
    gate = PriorityGate()
    chat = gate.admit("chat")
    assert chat.step()  # nothing urgent: chat runs its step 0
    fim = gate.admit("fim")  # a keystroke arrives mid-step
    order: list[str] = []

    def chat_worker() -> None:
        for i in (1, 2):  # ends step 0, then parks: the completion goes first
            assert chat.step()
            order.append(f"chat{i}")
        chat.done()

    t = threading.Thread(target=chat_worker)
    t.start()
    for i in range(
        3
    ):  # the first waits for chat's step 0 to end  # the urgent request's steps go first
        assert fim.step()
        order.append(f"fim{i}")
    fim.done()
    t.join(5)
    assert not t.is_alive()
    assert order == ["fim0", "fim1", "fim2", "chat1", "chat2"], order
    assert gate.stats.background_yields >= 1
    assert gate.urgent_active == 0


def test_a_cancelled_background_request_stops_waiting():
    gate = PriorityGate()
    fim = gate.admit("fim")
    chat = gate.admit("edit")
    cancelled = threading.Event()
    result: list[bool] = []
    t = threading.Thread(target=lambda: result.append(chat.step(cancelled.is_set)))
    t.start()
    cancelled.set()
    t.join(5)
    assert result == [False]  # it never got a step: the urgent request is still admitted
    chat.done()
    fim.done()
    assert gate.urgent_active == 0


def test_done_is_idempotent_and_releases_the_step():
    gate = PriorityGate()
    a = gate.admit("fim")
    assert a.step()
    a.done()
    a.done()
    b = gate.admit("chat")
    assert b.step()  # a's step was released by done()
    with pytest.raises(RuntimeError):
        a.step()


@pytest.fixture(scope="module", params=["local", "llamacpp"])
def engine(request, tiny_model_dir, tiny_gguf):
    """Both in-process engines run completions before CodeChat (the same gate)."""
    if request.param == "local":
        eng = LocalEngine.load(tiny_model_dir)
    else:
        from inference.llamacpp import LlamaCppEngine

        eng = LlamaCppEngine.load(tiny_gguf[0], n_threads=1)
    yield eng
    asyncio.run(eng.close())


async def test_a_completion_finishes_while_a_long_chat_generation_is_still_running(engine):
    """The head-of-line blocking of issue 15: with one FIFO worker the completion waited for
    the whole CodeChat answer. Now it runs while the chat generation is parked."""
    chat = engine.start(
        GenerationRequest(
            prompt="def f(x):\n    return x\n" * 20,
            kind="chat",
            max_tokens=400,
            cache_key="codechat:docs:/ws/a.py",
        )  # fmt: skip
    )
    chat_chunks: list[str] = []
    chat_done = asyncio.Event()

    async def consume() -> None:
        async for piece in chat:
            chat_chunks.append(piece)
        chat_done.set()

    consumer = asyncio.ensure_future(consume())
    while not chat_chunks and not chat_done.is_set():  # the chat answer is streaming
        await asyncio.sleep(0.005)
    if chat_done.is_set():
        pytest.skip("the tiny model ended the chat answer at once (EOS); nothing to overlap")
    fim = engine.start(
        GenerationRequest(
            prompt="for i in range(10):\n    ",
            kind="fim",
            max_tokens=4,
            cache_key="file:///ws/b.py",
        )  # fmt: skip
    )
    await fim.text()
    chat_running_when_fim_ended = not chat_done.is_set()
    chat.cancel()
    await asyncio.gather(consumer, return_exceptions=True)
    assert fim.stats.finish_reason in ("stop", "length")
    assert chat_running_when_fim_ended, (chat.stats.generated_tokens, chat.stats.finish_reason)
    assert engine.gate.stats.background_yields >= 1
    assert chat.stats.finish_reason == "cancelled"
