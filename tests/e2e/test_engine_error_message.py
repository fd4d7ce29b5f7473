"""An engine error that makes completions impossible reaches every client: one
`window/showMessage` (LSP4IJ, Helix and Eglot show no `tandem/status`), not one per keystroke;
again only when the error changes, or after a recovery and a new failure. Real server process
and pytest-lsp client; the showMessage goes to every client alike."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from lsprotocol import types
from pytest_lsp import ClientServerConfig, client_capabilities

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "def inc(x):\n    return \n"


async def test_engine_error_is_shown_once_per_distinct_failure(tmp_path):
    error_file = tmp_path / "engine-error.txt"
    error_file.write_text("the model crashed: out of memory")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TANDEM_TEST_ENGINE_FACTORY": "tests.e2e.failing_factory:make_engine",
        "TANDEM_TEST_ENGINE_ERROR": str(error_file),
    }
    config = ClientServerConfig(
        server_command=[sys.executable, "-m", "lsp_server", "lsp"], server_env=env
    )
    client = await config.start()
    caps = client_capabilities("visual-studio-code")
    caps.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    await client.initialize_session(types.InitializeParams(capabilities=caps))
    uri = (tmp_path / "m.py").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=SOURCE
            )
        )
    )

    async def keystroke():
        return await client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=1, character=11),
                context=types.InlineCompletionContext(
                    trigger_kind=types.InlineCompletionTriggerKind.Invoked
                ),
            )
        )

    def shown(text: str) -> list[types.ShowMessageParams]:
        return [m for m in client.messages if text in m.message]

    try:
        for _ in range(4):  # every keystroke fails the same way
            assert await keystroke() is None
        oom = shown("out of memory")
        assert len(oom) == 1, [m.message for m in client.messages]
        assert oom[0].type == types.MessageType.Error
        assert oom[0].message.startswith("Tandem: ")

        error_file.write_text("inference server http://gpu:8000 answered HTTP 503")
        assert await keystroke() is None
        assert await keystroke() is None
        assert len(shown("HTTP 503")) == 1  # a new error: shown, once

        error_file.write_text("")  # recovered: suggestions again
        result = await keystroke()
        items = result.items if hasattr(result, "items") else result
        assert items and "x + 1" in items[0].insert_text

        error_file.write_text("inference server http://gpu:8000 answered HTTP 503")
        assert await keystroke() is None
        assert await keystroke() is None
        assert len(shown("HTTP 503")) == 2  # the same error, after a recovery: news again
        assert len(shown("out of memory")) == 1
    finally:
        await client.shutdown_session()
        await client.stop()
