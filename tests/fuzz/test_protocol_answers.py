"""JSON-RPC and params answers from a real `tandem lsp` (issue 26, item 9): each case is a raw
message on the wire and the exact error code the client must get (or no answer at all)."""

from __future__ import annotations

import time

from tests.fuzz.harness import SUM_PY, Backend, LspProcess, count, frame, openai_settings

INVALID_REQUEST, INVALID_PARAMS = -32600, -32602


async def _started(tmp_path) -> tuple[LspProcess, Backend]:
    """A server whose client resolves code actions (so codeAction/resolve is served)."""
    backend = Backend("ok")
    lsp = await LspProcess.start(openai_settings(backend.url))
    caps = {"textDocument": {"inlineCompletion": {}, "codeAction": {
        "codeActionLiteralSupport": {"codeActionKind": {"valueSet": []}},
        "resolveSupport": {"properties": ["edit"]}}}}  # fmt: skip
    init = await lsp.request("initialize", {"processId": None, "rootUri": f"file://{tmp_path}",
                                            "capabilities": caps}, timeout=60)  # fmt: skip
    assert init is not None and "result" in init, init
    lsp.send({"method": "initialized", "params": {}})
    lsp.uri = f"file://{tmp_path}/a.py"  # type: ignore[attr-defined]
    lsp.open(lsp.uri, SUM_PY)  # type: ignore[attr-defined]
    return lsp, backend


ENVELOPES = [  # (message, the id the answer must carry)
    ({"jsonrpc": "1.0", "id": 7001, "method": "workspace/executeCommand",
      "params": {"command": "tandem.status"}}, 7001),
    ({"id": 7002, "method": "workspace/executeCommand", "params": {"command": "tandem.status"}},
     7002),
    ({"jsonrpc": "2.0", "id": 7003, "method": 5, "params": {}}, 7003),
    *[({"jsonrpc": "2.0", "id": bad, "method": "workspace/executeCommand",
        "params": {"command": "tandem.status"}}, None) for bad in ({}, [], True, False, 1.5)],
]  # fmt: skip


async def test_bad_envelopes_are_invalid_request_and_nested_requests_are_data(tmp_path):
    lsp, backend = await _started(tmp_path)
    try:
        for message, answer_id in ENVELOPES:
            lsp.send_raw(frame(message))
            res = await lsp.response(answer_id, 20)
            assert res is not None, f"no answer to {message}"
            assert res["error"]["code"] == INVALID_REQUEST, (message, res)
            del lsp.responses[answer_id]  # (null is reused by the next id-less answer)
            count("protocol answers", "cases")
        # A request-shaped object inside `arguments` (or settings) is data, not a message:
        # before, the server answered errors for ids the client never sent.
        inner = {"jsonrpc": "2.0", "id": 424242, "method": "shutdown"}
        inner2 = {"jsonrpc": "2.0", "id": 434343, "method": 5}
        res = await lsp.request("workspace/executeCommand", {
            "command": "tandem.completionAccepted",
            "arguments": [{"id": "x", "nested": inner}]})  # fmt: skip
        assert res is not None and "result" in res, res
        lsp.send({"method": "workspace/didChangeConfiguration",
                  "params": {"settings": {"tandem": {"maxTokens": 16, "x": inner2}}}})  # fmt: skip
        status = await lsp.request("workspace/executeCommand", {"command": "tandem.status"}, 20)
        assert status is not None and "result" in status
        assert 424242 not in lsp.responses and 434343 not in lsp.responses, lsp.responses
        assert None not in lsp.responses, lsp.responses[None]
        assert lsp.alive()
        count("protocol answers", "cases", 2)
    finally:
        await lsp.stop()
        backend.close()


BIG = 2**63


def _codechat_arg(uri: str, **over) -> dict:
    return {"uri": uri, "range": {"start": {"line": 0, "character": 0},
                                  "end": {"line": 1, "character": 0}}, **over}  # fmt: skip


def _wrong_values(uri: str) -> dict[str, tuple[str, dict]]:
    pos = {"line": 1, "character": 0}
    return {
        "chat position 2^63": ("workspace/executeCommand", {
            "command": "tandem.refactor",
            "arguments": [{"uri": uri, "position": {"line": BIG, "character": 0}}]}),
        "chat range 2^63": ("workspace/executeCommand", {
            "command": "tandem.explain", "arguments": [_codechat_arg(uri, range={
                "start": {"line": 0, "character": 0}, "end": {"line": BIG, "character": BIG}})]}),
        "resolve data 2^63": ("codeAction/resolve", {
            "title": "Tandem: Refactor", "data": {"action": "refactor", "uri": uri,
                                                  "position": {"line": BIG, "character": 0}}}),
        "chat uri int": ("workspace/executeCommand", {
            "command": "tandem.explain", "arguments": [{"uri": 5}]}),
        "chat position bool": ("workspace/executeCommand", {
            "command": "tandem.refactor",
            "arguments": [{"uri": uri, "position": {"line": True, "character": 0}}]}),
        "completion uri int": ("textDocument/inlineCompletion", {
            "textDocument": {"uri": 5}, "position": pos, "context": {"triggerKind": 1}}),
        "completion position bool": ("textDocument/inlineCompletion", {
            "textDocument": {"uri": uri}, "position": {"line": True, "character": False},
            "context": {"triggerKind": 1}}),
        "completion position 2^63": ("textDocument/inlineCompletion", {
            "textDocument": {"uri": uri}, "position": {"line": BIG, "character": 0},
            "context": {"triggerKind": 1}}),
        "resolve title int": ("codeAction/resolve", {
            "title": 5, "data": {"action": "refactor", "uri": uri, "position": pos}}),
        "snooze string": ("workspace/executeCommand", {
            "command": "tandem.snooze", "arguments": ["soon"]}),
        "snooze number": ("workspace/executeCommand", {
            "command": "tandem.snooze", "arguments": [5]}),
        "snooze list": ("workspace/executeCommand", {
            "command": "tandem.snooze", "arguments": [[{"minutes": 1}]]}),
        "snooze minutes string": ("workspace/executeCommand", {
            "command": "tandem.snooze", "arguments": [{"minutes": "5"}]}),
        "snooze minutes bool": ("workspace/executeCommand", {
            "command": "tandem.snooze", "arguments": [{"minutes": True}]}),
    }  # fmt: skip


async def test_wrong_values_are_invalid_params(tmp_path):
    """Huge positions were -32603; wrong-typed URIs, titles, positions and snooze arguments
    were coerced ("5", 1, a 30-minute snooze); each is InvalidParams now."""
    lsp, backend = await _started(tmp_path)
    try:
        wrong = []
        for case, (method, params) in _wrong_values(lsp.uri).items():
            res = await lsp.request(method, params, timeout=20)
            code = (res or {}).get("error", {}).get("code")
            if code != INVALID_PARAMS:
                wrong.append((case, res))
            count("protocol answers", "cases")
        status = await lsp.request("workspace/executeCommand", {"command": "tandem.status"}, 20)
        assert status["result"].get("snoozedUntil") is None, "a bad snooze snoozed"
        assert not wrong, wrong
        # a valid snooze still snoozes, and 0 ends it
        res = await lsp.request("workspace/executeCommand", {
            "command": "tandem.snooze", "arguments": [{"minutes": 1}]})  # fmt: skip
        until = res["result"]["snoozedUntil"]
        assert until is not None and 50 < until - time.time() <= 60, res
        res = await lsp.request("workspace/executeCommand", {
            "command": "tandem.snooze", "arguments": [{"minutes": 0}]})  # fmt: skip
        assert res["result"]["snoozedUntil"] is None, res
    finally:
        await lsp.stop()
        backend.close()
