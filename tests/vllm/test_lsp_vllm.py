"""The language server end to end against a real vLLM: a pytest-lsp client (VS Code's captured
capabilities) drives `python -m lsp_server lsp` configured with `engine: openai`.

FIM completion (the same text the completion service gets from vLLM directly), the spec-decode
counters in `tandem/status`, a CodeChat edit (streamed progress, checked answer), cancellation
mid-stream, and a vLLM crash + restart seen from the editor. The served model is random (see
conftest), so answers are noise: tests check plumbing and that nothing is applied broken.
The crash test runs last in this module and restarts the shared server.
"""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, client_capabilities

from completion import CompletionContext
from completion.service import complete
from completion.templates import detect_template
from inference.openai import OpenAIEngine

pytestmark = pytest.mark.vllm

ROOT = Path(__file__).resolve().parents[2]
SRC = (
    "import os\n\n\ndef add(a, b):\n    total = a + b\n    return total\n\n\ndef sub(a, b):\n    \n"
)


def _d(obj):
    if isinstance(obj, dict):
        return obj
    if hasattr(obj, "_asdict"):
        return {k: _d(v) for k, v in obj._asdict().items()}
    return obj


@asynccontextmanager
async def lsp(vllm_server, **settings):
    env = {k: v for k, v in os.environ.items() if k != "TANDEM_TEST_ENGINE_FACTORY"}
    config = ClientServerConfig(
        server_command=[sys.executable, "-m", "lsp_server", "lsp"],
        server_env={**env, "PYTHONPATH": str(ROOT)},
    )
    client = await config.start()
    client.statuses = []  # type: ignore[attr-defined]
    client.chat_progress = []  # type: ignore[attr-defined]

    @client.feature("tandem/status")
    def on_status(params):
        client.statuses.append(_d(params))

    @client.feature("tandem/chatProgress")
    def on_progress(params):
        client.chat_progress.append(_d(params))

    client.apply_requests = []  # type: ignore[attr-defined]

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def on_apply(params):
        client.apply_requests.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    options = {
        "engine": "openai",
        "endpoint": [vllm_server.base_url],
        "tokenizer": str(vllm_server.model_dir),
        "maxTokens": 24,
        **settings,
    }
    caps = client_capabilities("visual-studio-code")
    # the captured VS Code predates LSP 3.18's inline completion; Tandem's extension adds it
    caps.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    await client.initialize_session(
        types.InitializeParams(
            capabilities=caps,
            initialization_options=options,
        )
    )
    # the start-up health check (engine build, model discovery) before the first request:
    # completions have a deadline from their arrival (completionTimeoutS), and a loaded CI
    # machine must not charge the tokenizer's load to the first one
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 300
    while loop.time() < deadline:
        if client.statuses and client.statuses[-1].get("state") != "loading":
            break
        await asyncio.sleep(0.05)
    try:
        yield client
    finally:
        await client.shutdown_session()
        await client.stop()


def _open(client, uri: str, text: str = SRC) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text))
    )


def _inline(client, uri: str, line: int, col: int):
    return client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri),
            position=types.Position(line, col),
            context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Invoked),
        )
    )


def _inline_with_id(client, uri: str, line: int, col: int, msg_id: str):
    params = types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri),
        position=types.Position(line, col),
        context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Invoked),
    )
    fut = client.protocol.send_request(types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id=msg_id)
    return asyncio.wrap_future(fut)


async def _last_request_status(client) -> dict:
    for _ in range(100):  # the notification goes out just before the response
        found = [s for s in client.statuses if s.get("request")]
        if found:
            return _d(found[-1]["request"])
        await asyncio.sleep(0.02)
    raise AssertionError(f"no request status in {client.statuses}")


async def _settled_status(client, timeout: float = 5.0) -> dict:
    """The last status that reports a request, once that request's speculative counts landed
    (the server sends the status again when vLLM's counters, read in the background, are in);
    the last one seen after `timeout` seconds otherwise."""
    deadline = asyncio.get_running_loop().time() + timeout
    await _last_request_status(client)  # the answer's own status first
    while True:
        status = [s for s in client.statuses if s.get("request")][-1]
        drafted = _d(_d(status["request"])["stats"]).get("drafted_tokens")
        if drafted or asyncio.get_running_loop().time() > deadline:
            return status
        await asyncio.sleep(0.05)


async def test_fim_through_the_server_matches_the_service_and_reports_spec_counters(
    vllm_server, tmp_path
):
    uri = (tmp_path / "calc.py").as_uri()
    line, col = 9, 4
    engine = OpenAIEngine(
        [vllm_server.base_url], tokenizer_dir=str(vllm_server.model_dir), spec_metrics=False
    )
    await engine.connect()
    ctx = CompletionContext(uri, "python", SRC, line, col, [])
    direct = await complete(
        ctx, engine, detect_template(engine.info.special_tokens), max_tokens=24,
        max_prompt_tokens=min(1536, engine.info.max_context_tokens - 24),
    )  # fmt: skip
    await engine.close()
    assert direct.text, "the served test model must produce visible text"

    async with lsp(vllm_server) as client:
        _open(client, uri)
        result = await _inline(client, uri, line, col)
        assert result is not None and result.items[0].insert_text == direct.text
        status = await _settled_status(client)
        stats = _d(_d(status["request"])["stats"])
        assert stats["engine"] == "openai" and stats["generated_tokens"] >= 1
        # vLLM's n-gram speculation counters (read from /metrics in the background, after the
        # answer) reach the editor, and the session totals
        assert stats["drafted_tokens"] > 0 and stats["accepted_tokens"] >= 0, stats
        assert 0.0 <= stats["acceptance_rate"] <= 1.0
        assert stats["strategy"] == "speculative"
        passes = max(1, stats["generated_tokens"] - stats["accepted_tokens"])
        assert stats["target_forward_passes"] == passes
        session = _d(status["session"])
        assert session["speculativeAcceptance"] == round(
            stats["accepted_tokens"] / stats["drafted_tokens"], 4
        )


async def test_codechat_edit_streams_from_vllm_and_never_applies_noise(vllm_server, tmp_path):
    uri = (tmp_path / "calc.py").as_uri()
    async with lsp(vllm_server, chatMaxTokens=48) as client:
        _open(client, uri)
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="tandem.refactor",
                arguments=[{"uri": uri, "range": {"start": {"line": 3, "character": 0},
                                                  "end": {"line": 6, "character": 0}}}],
            )
        )  # fmt: skip
        # the command answers at once; the run streams, then its outcome arrives once
        assert result["ok"] and result.get("pending"), result
        for _ in range(600):
            if client.chat_progress and client.chat_progress[-1]["done"]:
                break
            await asyncio.sleep(0.2)
        # the random model's answer is streamed to the editor, checked, and refused
        assert client.chat_progress and client.chat_progress[-1]["done"]
        assert any(p.get("text") for p in client.chat_progress)
        await asyncio.sleep(1.0)  # an edit would be sent right after the last progress
        assert client.apply_requests == []  # the noise was refused, never sent to the editor


async def test_cancel_mid_stream_then_the_next_request_works(vllm_server, tmp_path):
    uri = (tmp_path / "calc.py").as_uri()
    async with lsp(vllm_server, maxTokens=1500, completionTimeoutS=600) as client:
        _open(client, uri)
        fut = _inline_with_id(client, uri, 9, 4, "long-1")
        await asyncio.sleep(1.0)  # vLLM is generating 1500 tokens
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="long-1"))
        with pytest.raises(Exception, match="(?i)cancel"):
            await asyncio.wait_for(fut, 30)  # answered with RequestCancelled, promptly
        client.statuses.clear()
        ok = await asyncio.wait_for(_inline(client, uri, 4, 4), 120)
        assert ok is None or ok.items
        status = await _last_request_status(client)
        assert _d(status["stats"])["engine"] == "openai"


async def test_vllm_killed_mid_request_is_a_clear_error_then_recovers(vllm_server, tmp_path):
    uri = (tmp_path / "calc.py").as_uri()
    async with lsp(vllm_server, maxTokens=1500, completionTimeoutS=600) as client:
        _open(client, uri)
        fut = _inline(client, uri, 9, 4)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(vllm_server.server.kill)  # SIGKILL, like a crash
        # answered (no suggestion), not hung; the editor is told why
        assert await asyncio.wait_for(fut, 30) is None
        errors = [s for s in client.statuses if s.get("state") == "error"]
        assert errors and "inference server" in errors[-1]["message"]
        assert any("inference server" in m.message for m in client.log_messages)
        # while down: every request answers promptly with the same clear error
        assert await asyncio.wait_for(_inline(client, uri, 4, 4), 30) is None
        await asyncio.to_thread(vllm_server.server.start)
        client.statuses.clear()
        again = await asyncio.wait_for(_inline(client, uri, 9, 4), 120)
        assert again is not None and again.items[0].insert_text
        assert (await _last_request_status(client))["stats"]["engine"] == "openai"
