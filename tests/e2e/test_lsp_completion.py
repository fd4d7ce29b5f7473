"""`tandem lsp` driven through pytest-lsp with captured VS Code, Neovim and Emacs capabilities."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.e2e.expected import expected_suggestion, find_nonempty

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
URI = "file:///work/project/sample.py"
CANDIDATES = [(10, 11), (10, 18), (16, 17), (6, 15), (10, 4), (17, 4), (16, 8)]

_opened: dict[int, set[str]] = {}

CLIENTS = {
    "visual-studio-code": True,  # + inlineCompletion, as VS Code >= 1.90 declares
    "neovim@v0.7.0": False,
    "emacs": False,
}


@pytest.fixture(scope="module")
def target(tiny_model_dir):
    return find_nonempty(str(tiny_model_dir), SOURCE, CANDIDATES)


def _caps(spec: str, inline: bool) -> types.ClientCapabilities:
    caps = client_capabilities(spec)
    if inline:
        caps.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    return caps


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(
    scope="module",
    params=list(CLIENTS),
    config=ClientServerConfig(server_command=[sys.executable, "-m", "lsp_server", "lsp"]),
)
async def client(request, lsp_client: LanguageClient, tiny_model_dir):
    lsp_client.client_spec = request.param  # type: ignore[attr-defined]
    lsp_client.statuses = []  # type: ignore[attr-defined]

    @lsp_client.feature("tandem/status")
    def on_status(params):
        lsp_client.statuses.append(_d(params))

    result = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=_caps(request.param, CLIENTS[request.param]),
            initialization_options={"model": str(tiny_model_dir)},
        )
    )
    lsp_client.init_result = result  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


def _open(client: LanguageClient, text: str = SOURCE, uri: str = URI, lang: str = "python") -> None:
    if uri in _opened.setdefault(id(client), set()):
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
    _opened[id(client)].add(uri)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=lang, version=1, text=text)
        )
    )


async def _complete(client: LanguageClient, line: int, char: int, uri: str = URI):
    pos = types.Position(line=line, character=char)
    doc = types.TextDocumentIdentifier(uri=uri)
    if CLIENTS[client.client_spec]:
        return await client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=doc,
                position=pos,
                context=types.InlineCompletionContext(
                    trigger_kind=types.InlineCompletionTriggerKind.Automatic
                ),
            )
        )
    return await client.text_document_completion_async(
        types.CompletionParams(text_document=doc, position=pos)
    )


async def test_advertises_inline_or_plain_completion_to_match_the_client(client):
    caps = client.init_result.capabilities
    if CLIENTS[client.client_spec]:
        assert caps.inline_completion_provider is not None
        assert caps.completion_provider is None
    else:
        assert caps.inline_completion_provider is None
        assert caps.completion_provider is not None
    assert caps.text_document_sync.change == types.TextDocumentSyncKind.Incremental


async def test_completion_is_the_engine_output_at_the_cursor(client, target):
    line, col, expected = target
    _open(client)
    result = await _complete(client, line, col)
    assert result is not None
    if CLIENTS[client.client_spec]:
        item = result.items[0]
        assert item.insert_text == expected
        assert item.range.start == item.range.end == types.Position(line=line, character=col)
    else:
        item = result.items[0]
        edit = item.text_edit
        line_text = SOURCE.splitlines()[line]
        word_start = col
        while word_start > 0 and (
            line_text[word_start - 1].isalnum() or line_text[word_start - 1] == "_"
        ):
            word_start -= 1
        assert edit.range.start == types.Position(line=line, character=word_start)
        assert edit.range.end == types.Position(line=line, character=col)
        assert edit.new_text == line_text[word_start:col] + expected
        assert result.is_incomplete


async def test_status_notification_carries_latency_and_engine_stats(client, target):
    line, col, _ = target
    _open(client)
    client.statuses.clear()
    await _complete(client, line, col)
    for _ in range(50):  # the notification is sent as the response goes out
        if any("request" in st for st in client.statuses):
            break
        await asyncio.sleep(0.02)
    status = next(st for st in reversed(client.statuses) if "request" in st)
    req = _d(status["request"])
    stats = _d(req["stats"])
    assert req["latencyMs"] > 0
    # the server's whole time, by stage, from the request's arrival to its response
    timings = _d(req["timingsMs"])
    stages = ("receive", "context", "prepare", "generate", "finalize", "other")
    assert set(stages) <= set(timings) and all(timings[k] >= 0 for k in stages)
    assert abs(sum(timings[k] for k in stages) - req["latencyMs"]) < 0.5  # rounding only
    assert timings["generate"] >= stats["total_ms"] * 0.9  # the engine's time is in generate
    assert stats["engine"] == "local" and stats["generated_tokens"] >= 1
    # nothing written to disk unasked: no events log without eventsLog / eventsLogEnabled
    assert not (Path(os.environ["XDG_STATE_HOME"]) / "tandem" / "events.jsonl").exists()
    assert stats["strategy"] in ("plain", "prompt_lookup", "draft")


async def test_incremental_edit_then_completion_uses_new_text(client, tiny_model_dir):
    _open(client)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(10, 4), types.Position(10, 32)),
                    text="return 4",
                )
            ],
        )
    )
    new_text = SOURCE.replace("    return os.path.getsize(path)", "    return 4")
    expected = expected_suggestion(str(tiny_model_dir), new_text, 10, 12)
    result = await _complete(client, 10, 12)
    got = _first_text(client, result, new_text, 10, 12)
    assert got == expected


async def test_out_of_range_line_is_invalid_params(client):
    _open(client)
    with pytest.raises(Exception, match="out of range"):
        await _complete(client, 500, 0)


async def test_unknown_and_binary_documents_get_no_suggestion_and_a_log(client):
    assert await _complete(client, 0, 0, uri="file:///never/opened.py") is None
    _open(client, text="abc\x00def\n", uri="file:///bin.dat", lang="plaintext")
    assert await _complete(client, 0, 2, uri="file:///bin.dat") is None
    assert any("binary" in m.message for m in client.log_messages)


async def test_disabled_language_gets_nothing(client, target):
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"tandem": {"enable": {"python": False}}})
    )
    _open(client)
    line, col, _ = target
    try:
        assert await _complete(client, line, col) is None
    finally:
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"tandem": {"enable": {"python": True}}})
        )


def _first_text(client, result, text, line, col) -> str:
    if result is None:
        return ""
    item = result.items[0]
    if CLIENTS[client.client_spec]:
        return item.insert_text
    typed = item.text_edit.new_text
    start = item.text_edit.range.start.character
    return typed[col - start :]


def _d(obj):
    if isinstance(obj, dict):
        return obj
    return obj._asdict() if hasattr(obj, "_asdict") else vars(obj)
