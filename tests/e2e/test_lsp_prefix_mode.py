"""The LSP server on the real default model, Gemma 3 270M base (no FIM tokens): inline
completions come in prefix mode and the status says so; a `fimTemplate` whose markers the
vocabulary lacks is refused with a clear error, in the status and as window/showMessage."""

from __future__ import annotations

import os
import sys
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, client_capabilities

from completion.postprocess.leak import leak_reason

ROOT = Path(__file__).resolve().parents[2]
GEMMA = (
    Path(os.environ.get("TANDEM_MODELS") or "~/.cache/tandem/models").expanduser()
    / "gemma-3-270m-q4_k_m.gguf"
)
pytestmark = pytest.mark.skipif(
    not GEMMA.is_file(), reason="Gemma 3 270M not fetched (scripts/fetch_default_model.py)"
)

SOURCE = 'def add(a, b):\n    """Return the sum of a and b."""\n    return \n'


@asynccontextmanager
async def session(settings: dict):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TANDEM_TEST_ENGINE_FACTORY", None)
    config = ClientServerConfig(
        server_command=[sys.executable, "-m", "lsp_server", "lsp"], server_env=env
    )
    client = await config.start()
    client.statuses = []  # type: ignore[attr-defined]

    @client.feature("tandem/status")
    def status(params):
        client.statuses.append(_plain(params))

    caps = client_capabilities("visual-studio-code")
    caps.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    await client.initialize_session(
        types.InitializeParams(capabilities=caps, initialization_options=settings)
    )
    try:
        yield client
    finally:
        await client.shutdown_session()
        await client.stop()


def _plain(obj):
    if hasattr(obj, "_asdict"):
        obj = obj._asdict()
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj


async def _complete(client, uri: str):
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=SOURCE
            )
        )
    )
    return await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=2, character=11),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic
            ),
        )
    )


async def test_gemma_completes_in_prefix_mode_and_the_status_says_so(tmp_path):
    uri = (tmp_path / "calc.py").as_uri()
    settings = {"model": str(GEMMA), "threads": 1, "maxTokens": 24, "debounce": False}
    async with session(settings) as client:
        result = await _complete(client, uri)
        items = result.items if hasattr(result, "items") else result
        assert items, f"no inline completion from Gemma: {client.statuses[-3:]}"
        text = items[0].insert_text
        assert text.strip() and "\n" not in text.strip(), text
        assert leak_reason(text) is None, text
        prompt = [s["prompt"] for s in client.statuses if "prompt" in s]
        assert prompt, client.statuses
        assert prompt[-1] == {
            "mode": "prefix",
            "template": "prefix",
            "description": "prefix: the model has no FIM tokens",
        }
        status = _plain(
            await client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="tandem.status", arguments=[])
            )
        )
        assert status["prompt"]["mode"] == "prefix"
        assert not any(s["state"] == "error" for s in client.statuses), client.statuses


async def test_a_fim_template_the_model_lacks_is_refused_clearly(tmp_path):
    uri = (tmp_path / "calc.py").as_uri()
    settings = {"model": str(GEMMA), "threads": 1, "fimTemplate": "codegemma"}
    async with session(settings) as client:
        result = await _complete(client, uri)
        assert not (result.items if hasattr(result, "items") else result)
        errors = [s["message"] for s in client.statuses if s["state"] == "error"]
        assert errors, client.statuses
        assert "'codegemma'" in errors[-1] and "<|fim_prefix|>" in errors[-1], errors
        shown = [m.message for m in client.messages]  # window/showMessage, every client's
        assert any("codegemma" in m and "<|fim_middle|>" in m for m in shown), shown
