"""The `openai` engine against a real llama.cpp server (llama-cpp-python's OpenAI-compatible one).

Users point Tandem at a llama.cpp server as often as at vLLM. These run the engine end to end
against one, serving the demo model as a GGUF: FIM output equal to the server's own output for
the same prompt, streaming, chat, cancel mid-stream, and a server killed mid-stream.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from completion.templates import detect_template
from inference.base import EngineError, GenerationCancelled, GenerationRequest
from inference.openai.engine import OpenAIEngine

from .conftest import DEMO_TARGET, MODEL_ALIAS

#: The demo model's token 0 (<|endoftext|>): banned where a test needs a long generation.
NO_EOS = {"logit_bias": {"0": -100.0}}

PREFIX = "import os\nimport sys\n\n\ndef main():\n"
CODE = (
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n"
)


def make_engine(base_url: str, **kwargs) -> OpenAIEngine:
    kwargs.setdefault("tokenizer_dir", DEMO_TARGET)
    kwargs.setdefault("read_timeout", 60.0)
    return OpenAIEngine(base_url, **kwargs)


async def server_completion(base_url: str, prompt: str, max_tokens: int, **extra) -> str:
    """The server's own answer: one plain (non-streamed) /v1/completions request."""
    async with httpx.AsyncClient(timeout=60.0) as client:
        resp = await client.post(
            f"{base_url}/v1/completions",
            json={"prompt": prompt, "max_tokens": max_tokens, "temperature": 0.0, **extra},
        )
    resp.raise_for_status()
    return resp.json()["choices"][0]["text"]


async def test_discovers_the_served_model(llamacpp_server):
    engine = make_engine(llamacpp_server.base_url)
    try:
        info = await engine.connect()
    finally:
        await engine.close()
    assert engine.model == MODEL_ALIAS
    assert info.name == "openai"


async def test_fim_completion_equals_the_servers_own_output(llamacpp_server):
    engine = make_engine(llamacpp_server.base_url)
    template = detect_template(engine.info.special_tokens)
    assert template.prefix == "<fim_prefix>"
    prompt = template.render("def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n")
    try:
        gen = engine.start(GenerationRequest(prompt=prompt, max_tokens=32, kind="fim"))
        text = await asyncio.wait_for(gen.text(), 60)
    finally:
        await engine.close()
    expected = await server_completion(llamacpp_server.base_url, prompt, 32)
    assert expected, "the demo model answers this FIM prompt with text"
    assert text == expected
    assert gen.stats.finish_reason in ("stop", "length")
    # llama-cpp-python's server sends no `usage` in streams: the engine counts text pieces
    assert gen.stats.generated_tokens >= 1


async def test_streams_in_pieces_and_matches_the_servers_output(llamacpp_server):
    engine = make_engine(llamacpp_server.base_url, extra_body=NO_EOS)
    chunks: list[str] = []
    try:
        gen = engine.start(GenerationRequest(prompt=PREFIX, max_tokens=48, kind="chat"))

        async def collect() -> None:
            async for chunk in gen:
                chunks.append(chunk)

        await asyncio.wait_for(collect(), 60)
    finally:
        await engine.close()
    expected = await server_completion(llamacpp_server.base_url, PREFIX, 48, **NO_EOS)
    assert len(chunks) > 5, chunks  # streamed token by token, not in one piece
    assert "".join(chunks) == expected
    assert gen.stats.finish_reason == "length"
    assert gen.stats.generated_tokens == 48
    assert 0 < gen.stats.ttft_ms < gen.stats.total_ms


async def test_stop_strings_end_the_text_client_and_server_side(llamacpp_server):
    engine = make_engine(llamacpp_server.base_url, extra_body=NO_EOS)
    try:
        gen = engine.start(GenerationRequest(prompt=PREFIX, max_tokens=48, stop=["\n"], kind="fim"))
        text = await asyncio.wait_for(gen.text(), 60)
    finally:
        await engine.close()
    full = await server_completion(llamacpp_server.base_url, PREFIX, 48, **NO_EOS)
    assert "\n" in full
    assert text == full.split("\n", 1)[0]


async def test_chat_equals_the_servers_own_chat_output(llamacpp_server):
    messages = [{"role": "user", "content": "Write a Python function that adds two numbers."}]
    engine = make_engine(llamacpp_server.base_url)
    try:
        gen = engine.start(GenerationRequest(messages=messages, max_tokens=24, kind="chat"))
        text = await asyncio.wait_for(gen.text(), 60)
    finally:
        await engine.close()
    async with httpx.AsyncClient(timeout=60.0) as client:
        resp = await client.post(
            f"{llamacpp_server.base_url}/v1/chat/completions",
            json={"messages": messages, "max_tokens": 24, "temperature": 0.0},
        )
    resp.raise_for_status()
    expected = resp.json()["choices"][0]["message"]["content"]
    assert text == expected
    assert gen.stats.generated_tokens >= 1


async def test_cancel_mid_stream_leaves_the_server_serving(llamacpp_server):
    engine = make_engine(llamacpp_server.base_url, extra_body=NO_EOS)
    try:
        gen = engine.start(GenerationRequest(prompt=CODE, max_tokens=1500, kind="chat"))
        received: list[str] = []
        with pytest.raises(GenerationCancelled):

            async def read_then_cancel() -> None:
                async for chunk in gen:
                    received.append(chunk)
                    if len(received) == 3:
                        gen.cancel()

            await asyncio.wait_for(read_then_cancel(), 60)
        await asyncio.wait_for(gen.wait_closed(), 10)
        assert len(received) == 3
        assert gen.stats.finish_reason == "cancelled"

        # The next request is served, with the same answer as a fresh server request.
        nxt = engine.start(GenerationRequest(prompt=PREFIX, max_tokens=16, kind="fim"))
        text = await asyncio.wait_for(nxt.text(), 60)
    finally:
        await engine.close()
    assert text == await server_completion(llamacpp_server.base_url, PREFIX, 16)
    assert llamacpp_server.alive()


async def test_newest_request_per_document_cancels_the_older(llamacpp_server):
    engine = make_engine(llamacpp_server.base_url, extra_body=NO_EOS)
    try:
        old = engine.start(
            GenerationRequest(prompt=CODE, max_tokens=1500, kind="fim", cache_key="doc")
        )
        first = await asyncio.wait_for(old.__aiter__().__anext__(), 60)
        assert first
        new = engine.start(GenerationRequest(prompt=PREFIX, max_tokens=16, cache_key="doc"))
        with pytest.raises(GenerationCancelled):
            await asyncio.wait_for(old.text(), 10)
        text = await asyncio.wait_for(new.text(), 60)
    finally:
        await engine.close()
    assert text == await server_completion(llamacpp_server.base_url, PREFIX, 16, **NO_EOS)


async def test_killed_server_is_a_clear_error_not_a_hang(disposable_server):
    engine = make_engine(
        disposable_server.base_url, extra_body=NO_EOS, connect_retries=0, read_timeout=30.0
    )
    try:
        gen = engine.start(GenerationRequest(prompt=CODE, max_tokens=1500, kind="chat"))
        received: list[str] = []

        async def read_and_kill() -> None:
            async for chunk in gen:
                received.append(chunk)
                if len(received) == 2:
                    disposable_server.kill()

        with pytest.raises(EngineError) as err:
            await asyncio.wait_for(read_and_kill(), 45)
        assert len(received) >= 2
        assert disposable_server.base_url in str(err.value)
        assert gen.stats.finish_reason == "error"

        # The server is gone: the next request fails at once with "cannot reach".
        again = engine.start(GenerationRequest(prompt=PREFIX, max_tokens=8))
        with pytest.raises(EngineError, match="cannot reach"):
            await asyncio.wait_for(again.text(), 30)
    finally:
        await engine.close()


async def test_a_request_the_server_interrupts_is_an_error_not_a_short_answer(llamacpp_server):
    """llama-cpp-python's server (interrupt_requests, on by default) ends a running stream with
    [DONE] and no finish_reason when another request arrives. That text is cut short: the engine
    must not pass it off as a complete suggestion."""
    engine = make_engine(llamacpp_server.base_url, extra_body=NO_EOS)
    try:
        first = engine.start(GenerationRequest(prompt=CODE, max_tokens=1500, cache_key="a.py"))
        await asyncio.wait_for(first.__aiter__().__anext__(), 60)
        second = engine.start(GenerationRequest(prompt=PREFIX, max_tokens=16, cache_key="b.py"))
        with pytest.raises(EngineError, match="interrupted"):
            await asyncio.wait_for(first.text(), 60)
        text = await asyncio.wait_for(second.text(), 60)
    finally:
        await engine.close()
    assert text == await server_completion(llamacpp_server.base_url, PREFIX, 16, **NO_EOS)
