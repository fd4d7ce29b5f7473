"""`tandem lsp` through pytest-lsp (VS Code's captured capabilities + inlineCompletion):
candidates, show/accept events, session numbers and health in tandem/status, the events log and
`tandem stats`, run-time toggles, snooze, and completionMode via dynamic registration."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.e2e.test_lsp_completion import CANDIDATES, SOURCE

URI = "file:///work/project/sample.py"
pytestmark = pytest.mark.asyncio(loop_scope="module")


def _d(params):
    """pygls hands custom params over as namedtuples: back to plain JSON-like values."""
    if hasattr(params, "_asdict"):
        return {k: _d(v) for k, v in params._asdict().items()}
    if isinstance(params, dict):
        return {k: _d(v) for k, v in params.items()}
    if isinstance(params, list | tuple):
        return [_d(v) for v in params]
    return params


@pytest.fixture(scope="module")
def events_path(tmp_path_factory):
    return tmp_path_factory.mktemp("events") / "events.jsonl"


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(server_command=[sys.executable, "-m", "lsp_server", "lsp"]),
)
async def client(lsp_client: LanguageClient, tiny_model_dir, events_path):
    lsp_client.statuses = []  # type: ignore[attr-defined]
    lsp_client.registrations = []  # type: ignore[attr-defined]

    @lsp_client.feature("tandem/status")
    def on_status(params):
        lsp_client.statuses.append(_d(params))

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def on_register(params: types.RegistrationParams):
        lsp_client.registrations.extend(("+", r.method, r.id) for r in params.registrations)

    @lsp_client.feature(types.CLIENT_UNREGISTER_CAPABILITY)
    def on_unregister(params: types.UnregistrationParams):
        lsp_client.registrations.extend(("-", r.method, r.id) for r in params.unregisterations)

    caps = client_capabilities("visual-studio-code")
    caps.text_document.inline_completion = types.InlineCompletionClientCapabilities(
        dynamic_registration=True
    )
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=caps,
            initialization_options={
                "model": str(tiny_model_dir),
                "candidates": 3,
                "eventsLog": str(events_path),
                "maxTokens": 16,
            },
        )
    )
    lsp_client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=URI, language_id="python", version=1, text=SOURCE
            )
        )
    )
    yield
    await lsp_client.shutdown_session()


async def _inline(client, line, char, invoked=False):
    kind = (
        types.InlineCompletionTriggerKind.Invoked
        if invoked
        else types.InlineCompletionTriggerKind.Automatic
    )
    return await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            position=types.Position(line=line, character=char),
            context=types.InlineCompletionContext(trigger_kind=kind),
        )
    )


async def _first_nonempty(client):
    for line, char in CANDIDATES:
        result = await _inline(client, line, char)
        if result and result.items:
            return (line, char), result
    pytest.fail("no position gave a suggestion")


async def _status(client) -> dict:
    return _d(await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="tandem.status")
    ))  # fmt: skip


async def _settle(client, pred, timeout=10.0):
    for _ in range(int(timeout / 0.05)):
        if pred():
            return True
        await asyncio.sleep(0.05)
    return False


def _id(item) -> str:
    assert item.command and item.command.command == "tandem.completionAccepted"
    return item.command.arguments[0]["id"]


async def test_events_session_numbers_log_and_stats(client, events_path):
    pos, auto = await _first_nonempty(client)
    assert len(auto.items) == 1  # typing: one suggestion
    invoked = await _inline(client, *pos, invoked=True)
    texts = [i.insert_text for i in invoked.items]
    assert texts[0] == auto.items[0].insert_text  # the greedy one first
    assert 1 <= len(texts) <= 3 and len({t.rstrip() for t in texts}) == len(texts)
    ids = [_id(i) for i in [*auto.items, *invoked.items]]
    assert len(set(ids)) == len(ids)

    a, b = ids[0], ids[1]
    client.protocol.notify("tandem/didShowCompletion", {"id": a})
    client.protocol.notify("tandem/didShowCompletion", {"id": a})  # a redraw: counted once
    client.protocol.notify("tandem/didShowCompletion", {"id": b})
    client.protocol.notify("tandem/didAcceptCompletion", {"id": a})
    client.protocol.notify("tandem/didPartiallyAcceptCompletion", {"id": b, "acceptedLength": 2})
    client.protocol.notify("tandem/didShowCompletion", {"bad": 1})  # bad input: ignored
    await _settle(client, lambda: client.statuses and
                  client.statuses[-1]["session"]["partiallyAccepted"] == 1)  # fmt: skip
    session = (await _status(client))["session"]
    assert (session["shown"], session["accepted"], session["partiallyAccepted"]) == (2, 1, 1)
    assert session["acceptanceRate"] == 1.0
    chars_a = len(auto.items[0].insert_text)
    assert session["acceptedChars"] == chars_a + min(2, len(texts[0]))
    assert session["latencyP50Ms"] > 0 and session["latencyP90Ms"] >= session["latencyP50Ms"]
    assert session["suggestions"] == len(ids)

    # the item's command (clients that run it on accept) counts like the notification
    if len(ids) > 2:
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="tandem.completionAccepted", arguments=[{"id": ids[2]}]
            )
        )
        assert (await _status(client))["session"]["accepted"] == 2

    events = [json.loads(line) for line in events_path.read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds.count("suggestion") == 2 and kinds.count("shown") == min(3, len(ids))
    assert "accepted" in kinds and "partial" in kinds
    assert all("text" not in e and "insertText" not in e for e in events)  # no code logged
    proc = subprocess.run(
        [sys.executable, "-m", "lsp_server", "stats", "--log", str(events_path), "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    total = json.loads(proc.stdout)["total"]
    assert total["shown"] == min(3, len(ids)) and total["acceptanceRate"] == 1.0
    assert total["latencyMs"]["p50"] is not None
    assert "python" in json.loads(proc.stdout)["languages"]


async def test_health_is_reported(client):
    status = await _status(client)
    assert status["health"]["state"] in ("healthy", "slow")
    # a tiny slow threshold turns it "slow", with the CPU hint
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"tandem": {"slowLatencyMs": 0.001}})
    )
    for line, char in CANDIDATES[:3]:
        await _inline(client, line, char + 1)
    health = (await _status(client))["health"]
    assert health["state"] == "slow", health
    assert "llama.cpp" in health["hint"]
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"tandem": {"slowLatencyMs": 1500}})
    )


async def test_toggles_at_run_time(client):
    pos, _ = await _first_nonempty(client)
    for settings, state in (
        ({"enabled": False}, "disabled"),
        ({"enabled": True, "disabledLanguages": ["python"]}, "disabled"),
    ):
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"tandem": settings})
        )
        await asyncio.sleep(0.3)
        result = await _inline(client, *pos, invoked=True)
        assert not (result and result.items)
        status = await _status(client)
        assert status["state"] == state
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"tandem": {"enabled": True, "disabledLanguages": []}}
        )
    )
    await asyncio.sleep(0.3)
    assert (await _inline(client, *pos)).items


async def test_snooze_and_unsnooze(client):
    pos, _ = await _first_nonempty(client)
    status = _d(await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="tandem.snooze", arguments=[{"minutes": 30}])
    ))  # fmt: skip
    assert status["state"] == "snoozed" and status["snoozedUntil"] > 0
    result = await _inline(client, *pos)
    assert not (result and result.items)
    assert (await _status(client))["state"] == "snoozed"
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="tandem.snooze", arguments=[{"minutes": 0}])
    )
    assert (await _inline(client, *pos)).items
    # a bad argument is refused (InvalidParams), never taken as "snooze for the default"
    with pytest.raises(JsonRpcInvalidParams, match="minutes"):
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="tandem.snooze", arguments=[{"minutes": "soon"}])
        )
    assert (await _status(client))["state"] != "snoozed"


async def test_completion_mode_changes_without_restart(client):
    pos, _ = await _first_nonempty(client)
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"tandem": {"completionMode": "completion"}})
    )
    assert await _settle(client, lambda: any(
        r[:2] == ("+", "textDocument/completion") for r in client.registrations))  # fmt: skip
    assert not ((await _inline(client, *pos)) or types.InlineCompletionList(items=[])).items
    plain = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            position=types.Position(line=pos[0], character=pos[1]),
        )
    )
    assert plain is not None and plain.items and plain.items[0].command
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"tandem": {"completionMode": "auto"}})
    )
    assert await _settle(client, lambda: any(
        r[:2] == ("-", "textDocument/completion") for r in client.registrations))  # fmt: skip
    assert (await _inline(client, *pos)).items
