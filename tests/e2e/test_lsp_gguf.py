"""The LSP server on a GGUF model, end to end: `model` pointing at a .gguf file selects the
llama.cpp engine; inline completions and CodeChat are served from it, with speculation stats
(strategy, drafted/accepted tokens) in `tandem/status`."""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path

import pytest
from lsprotocol import types

from completion import CompletionContext, finalize, prepare
from completion.templates import detect_template
from inference.base import GenerationRequest
from lsp_server.settings import Settings
from tests.e2e.real_server import plain, real_session

SOURCE = '''import os


def read_lines(path):
    """Return the lines of a text file."""
    with open(path) as f:
        return [line.rstrip() for line in f]


def file_size(path):
    return os.path.getsize(path)


def total(items):
    result = 0
    for item in items:
        result = result + item
    return result
'''
CANDIDATES = [(10, 11), (10, 18), (16, 17), (6, 15), (10, 4), (17, 4), (16, 8)]


def _expected(model: Path, line: int, col: int) -> str:
    """What the server should suggest: the same pipeline in-process on the llama.cpp engine."""
    from inference.llamacpp import LlamaCppEngine

    async def go() -> str:
        engine = LlamaCppEngine.load(model, n_threads=1)
        try:
            s = Settings()
            ctx = CompletionContext("file:///x", "python", SOURCE, line, col, [])
            template = detect_template(engine.info.special_tokens, None)
            budget = min(s.max_prompt_tokens, engine.info.max_context_tokens - s.max_tokens)
            plan = prepare(ctx, template, engine.count_tokens, budget, s.max_tokens)
            gen = engine.start(
                GenerationRequest(
                    prompt=plan.prompt, stop=plan.stop, max_tokens=plan.max_tokens, kind="fim"
                )
            )
            return finalize(await gen.text(), ctx, plan)
        finally:
            await engine.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


@pytest.fixture(scope="module")
def target(tiny_gguf) -> tuple[int, int, str]:
    for line, col in CANDIDATES:
        out = _expected(tiny_gguf[0], line, col)
        if out:
            return line, col, out
    raise AssertionError("the tiny GGUF suggested nothing at any candidate cursor")


def _open(client, uri: str, text: str = SOURCE) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=text
            )
        )
    )


async def _inline(client, uri: str, line: int, col: int):
    return await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=col),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Invoked
            ),
        )
    )


def _request_stats(client) -> list[dict]:
    return [s["request"]["stats"] for s in client.statuses if s.get("request", {}).get("stats")]


async def test_inline_completion_from_a_gguf_with_speculation_stats(tmp_path, tiny_gguf, target):
    model, draft = tiny_gguf
    line, col, expected = target
    uri = (tmp_path / "sample.py").as_uri()
    # the draft strategy asked for: `auto` starts completions with plain decoding (measuring a
    # slow strategy costs the user a slow answer), and this test is about the draft's stats
    settings = {
        "model": str(model), "draftModel": str(draft), "threads": 1, "speculative": "draft"
    }  # fmt: skip
    async with real_session(settings) as client:
        _open(client, uri)
        result = await _inline(client, uri, line, col)
        items = result.items if hasattr(result, "items") else result
        assert items, "no inline completion from the GGUF model"
        assert items[0].insert_text == expected
        # a second keystroke-like request on the same document reuses the KV prefix
        await _inline(client, uri, line, col)
        stats = _request_stats(client)
        assert stats and all(s["engine"] == "llamacpp" for s in stats)
        first = stats[0]
        assert first["strategy"] == "draft"
        assert first["generated_tokens"] >= 1
        for key in ("drafted_tokens", "accepted_tokens", "acceptance_rate", "tokens_per_second"):
            assert key in first
        if first["generated_tokens"] > 1:
            assert first["drafted_tokens"] > 0
        assert any(s["prefix_tokens_reused"] > 0 for s in stats[1:]) or len(stats) == 1
        status = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="tandem.status", arguments=[])
        )
        assert plain(status)["state"] in ("ready", "generating")


async def test_codechat_renders_the_gguf_chat_template(tmp_path, tiny_gguf):
    model, _ = tiny_gguf
    uri = (tmp_path / "sample.py").as_uri()
    settings = {"model": str(model), "threads": 1, "chatMaxTokens": 24}
    async with real_session(settings) as client:
        _open(client, uri)
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="tandem.ask",
                arguments=[{"uri": uri, "instruction": "What does total do?"}],
            )
        )
        result = plain(result)
        # the command answers at once; the run's stats arrive in tandem/status when it ends
        assert result["ok"] and result.get("pending"), result
        chat: list[dict] = []
        for _ in range(600):
            chat = [s for s in _request_stats(client) if s["engine"] == "llamacpp"]
            if chat:
                break
            await asyncio.sleep(0.2)
        # random weights: the answer is noise, but it was generated from the GGUF's template
        assert not any("chat template" in str(s.get("message", "")) for s in client.statuses)
        assert chat, client.statuses
        assert chat[-1]["generated_tokens"] >= 1
        assert chat[-1]["prompt_tokens"] > 10


async def test_engine_llamacpp_without_a_gguf_is_a_clear_error(tmp_path, tiny_model_dir):
    uri = (tmp_path / "sample.py").as_uri()
    async with real_session({"engine": "llamacpp", "model": str(tiny_model_dir)}) as client:
        _open(client, uri)
        await _inline(client, uri, 10, 11)
        msgs = [str(s.get("message", "")) for s in client.statuses]
        assert any(".gguf" in m for m in msgs), msgs
