"""The LSP server on the real default model, Gemma 3 270M base (no FIM tokens): inline
completions come in prefix mode and the status says so; a `fimTemplate` whose markers the
vocabulary lacks is refused with a clear error, in the status and as window/showMessage."""

from __future__ import annotations

from lsprotocol import types

from completion.postprocess.leak import leak_reason
from tests.e2e.real_server import plain, real_session

SOURCE = 'def add(a, b):\n    """Return the sum of a and b."""\n    return \n'


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


async def test_gemma_completes_in_prefix_mode_and_the_status_says_so(tmp_path, default_gguf):
    uri = (tmp_path / "calc.py").as_uri()
    settings = {"model": str(default_gguf), "threads": 1, "maxTokens": 24, "debounce": False}
    async with real_session(settings) as client:
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
        status = plain(
            await client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="tandem.status", arguments=[])
            )
        )
        assert status["prompt"]["mode"] == "prefix"
        assert not any(s["state"] == "error" for s in client.statuses), client.statuses


async def test_a_fim_template_the_model_lacks_is_refused_clearly(tmp_path, default_gguf):
    uri = (tmp_path / "calc.py").as_uri()
    settings = {"model": str(default_gguf), "threads": 1, "fimTemplate": "codegemma"}
    async with real_session(settings) as client:
        result = await _complete(client, uri)
        assert not (result.items if hasattr(result, "items") else result)
        errors = [s["message"] for s in client.statuses if s["state"] == "error"]
        assert errors, client.statuses
        assert "'codegemma'" in errors[-1] and "<|fim_prefix|>" in errors[-1], errors
        shown = [m.message for m in client.messages]  # window/showMessage, every client's
        assert any("codegemma" in m and "<|fim_middle|>" in m for m in shown), shown
