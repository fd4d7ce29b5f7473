"""A raw JSON-RPC client (framing by hand, on purpose) against `tandem lsp` over stdio.

Checks the wire-level contract: every request gets an answer — including cancelled ones,
malformed ones, and ones in flight at shutdown — and the process exits cleanly.
"""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from tests.e2e.expected import find_nonempty

DOC = "file:///raw/sample.py"
TEXT = "def total(items):\n    result = 0\n    for item in items:\n        \n"


class RawClient:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.responses: dict[int, dict] = {}
        self.notifications: list[dict] = []
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls) -> RawClient:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "lsp_server", "lsp",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        return cls(proc)

    def send(self, msg: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **msg}).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def _read(self) -> None:
        out = self.proc.stdout
        while True:
            header = await out.readline()
            if not header:
                return
            length = (
                int(header.split(b":")[1]) if header.lower().startswith(b"content-length") else 0
            )
            while (await out.readline()).strip():
                pass
            msg = json.loads(await out.readexactly(length))
            if "id" in msg and "method" in msg:  # server → client request: answer null
                self.send({"id": msg["id"], "result": None})
            elif "id" in msg:
                self.responses[msg["id"]] = msg
            else:
                self.notifications.append(msg)

    async def response(self, id_: int, timeout: float = 60) -> dict:
        async def wait() -> dict:
            while id_ not in self.responses:
                await asyncio.sleep(0.01)
            return self.responses[id_]

        return await asyncio.wait_for(wait(), timeout)

    async def request(self, id_: int, method: str, params) -> dict:
        self.send({"id": id_, "method": method, "params": params})
        return await self.response(id_)


def _init_params(model: str, inline: bool, max_tokens: int = 64) -> dict:
    td = {"synchronization": {"dynamicRegistration": False}}
    if inline:
        td["inlineCompletion"] = {}
    return {
        "processId": None,
        "rootUri": None,
        "capabilities": {"textDocument": td, "general": {"positionEncodings": ["utf-16"]}},
        "initializationOptions": {"model": model, "maxTokens": max_tokens},
    }


def _open(c: RawClient) -> None:
    c.send({"method": "initialized", "params": {}})
    c.send({
        "method": "textDocument/didOpen",
        "params": {"textDocument": {"uri": DOC, "languageId": "python", "version": 1, "text": TEXT}},
    })  # fmt: skip


def _pos(line: int, ch: int) -> dict:
    return {"textDocument": {"uri": DOC}, "position": {"line": line, "character": ch}}


async def test_inline_client_session(tiny_model_dir):
    c = await RawClient.start()
    try:
        init = await c.request(1, "initialize", _init_params(str(tiny_model_dir), True, 2000))
        caps = init["result"]["capabilities"]
        assert "inlineCompletionProvider" in caps and "completionProvider" not in caps
        _open(c)

        ok = await c.request(
            2, "textDocument/inlineCompletion", {**_pos(1, 14), "context": {"triggerKind": 2}}
        )
        assert "error" not in ok
        assert ok["result"] is None or isinstance(ok["result"]["items"], list)

        # a long multi-line generation, cancelled right away: answered with RequestCancelled
        c.send(
            {
                "id": 3,
                "method": "textDocument/inlineCompletion",
                "params": {**_pos(3, 8), "context": {"triggerKind": 1}},
            }
        )
        c.send({"method": "$/cancelRequest", "params": {"id": 3}})
        cancelled = await c.response(3)
        assert cancelled["error"]["code"] == -32800

        bad = await c.request(4, "textDocument/inlineCompletion", {"textDocument": 42})
        assert bad["error"]["code"] == -32602
        assert "textDocument/inlineCompletion" in bad["error"]["message"]

        out_of_range = await c.request(
            5, "textDocument/inlineCompletion", {**_pos(99, 0), "context": {"triggerKind": 1}}
        )
        assert out_of_range["error"]["code"] == -32602
        assert "out of range" in out_of_range["error"]["message"]

        unknown = await c.request(6, "tandem/noSuchMethod", {})
        assert unknown["error"]["code"] == -32601

        # still alive and answering after all that
        again = await c.request(
            7, "textDocument/inlineCompletion", {**_pos(1, 14), "context": {"triggerKind": 2}}
        )
        assert "error" not in again

        # shutdown with a generation in flight: both answered, then a clean exit
        c.send(
            {
                "id": 8,
                "method": "textDocument/inlineCompletion",
                "params": {**_pos(3, 8), "context": {"triggerKind": 1}},
            }
        )
        await asyncio.sleep(0.2)
        shut = await c.request(9, "shutdown", None)
        assert shut["result"] is None
        inflight = await c.response(8)
        assert "result" in inflight or inflight["error"]["code"] == -32800
        c.send({"method": "exit"})
        assert await asyncio.wait_for(c.proc.wait(), 30) == 0
    finally:
        if c.proc.returncode is None:
            c.proc.kill()


async def test_plain_completion_client_session(tiny_model_dir):
    c = await RawClient.start()
    try:
        init = await c.request(1, "initialize", _init_params(str(tiny_model_dir), False))
        caps = init["result"]["capabilities"]
        assert "completionProvider" in caps and "inlineCompletionProvider" not in caps
        _open(c)
        res = await c.request(2, "textDocument/completion", _pos(1, 14))
        assert "error" not in res
        if res["result"] is not None:
            item = res["result"]["items"][0]
            assert item["textEdit"]["range"]["end"] == {"line": 1, "character": 14}
        missing = await c.request(
            3, "textDocument/inlineCompletion", {**_pos(1, 14), "context": {"triggerKind": 1}}
        )
        assert missing["error"]["code"] == -32601
        assert (await c.request(4, "shutdown", None))["result"] is None
        c.send({"method": "exit"})
        assert await asyncio.wait_for(c.proc.wait(), 30) == 0
    finally:
        if c.proc.returncode is None:
            c.proc.kill()


@pytest.mark.parametrize("model", ["/definitely/not/a/model"])
async def test_broken_model_dir_gives_a_message_not_a_crash(model):
    c = await RawClient.start()
    try:
        await c.request(1, "initialize", _init_params(model, True))
        _open(c)
        res = await c.request(
            2, "textDocument/inlineCompletion", {**_pos(1, 14), "context": {"triggerKind": 1}}
        )
        assert res.get("result") is None and "error" not in res
        shown = [n for n in c.notifications if n["method"] == "window/showMessage"]
        assert any("model directory not found" in n["params"]["message"] for n in shown)
        statuses = [n["params"] for n in c.notifications if n["method"] == "tandem/status"]
        assert any(s["state"] == "error" for s in statuses)
        assert (await c.request(3, "shutdown", None))["result"] is None
        c.send({"method": "exit"})
        assert await asyncio.wait_for(c.proc.wait(), 30) == 0
    finally:
        if c.proc.returncode is None:
            c.proc.kill()


WIDE = 'def greet(name):\n    msg = "héllo 😀 " + name\n    print(msg, "日本")\n    return msg + \n'


def _units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    return len(text)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
async def test_non_ascii_positions_in_every_encoding(tiny_model_dir, encoding):
    """The cursor sits after 'é', '😀' and '日本' (1-4 bytes, 1-2 UTF-16 units): the server must
    read the position in the negotiated encoding and answer the same suggestion at the same
    place, in the same units."""
    lines = WIDE.split("\n")
    cands = [(1, len(lines[1])), (2, len(lines[2])), (3, len(lines[3])), (1, 14), (2, 15)]
    line, col, expected = find_nonempty(str(tiny_model_dir), WIDE, cands)
    char = _units(lines[line][:col], encoding)
    c = await RawClient.start()
    try:
        params = _init_params(str(tiny_model_dir), True)
        params["capabilities"]["general"]["positionEncodings"] = [encoding]
        init = await c.request(1, "initialize", params)
        assert init["result"]["capabilities"]["positionEncoding"] == encoding
        c.send({"method": "initialized", "params": {}})
        c.send({
            "method": "textDocument/didOpen",
            "params": {"textDocument": {"uri": DOC, "languageId": "python", "version": 1, "text": WIDE}},
        })  # fmt: skip
        res = await c.request(2, "textDocument/inlineCompletion", {**_pos(line, char), "context": {"triggerKind": 1}})  # fmt: skip
        item = res["result"]["items"][0]
        assert item["insertText"] == expected
        here = {"line": line, "character": char}
        assert item["range"] == {"start": here, "end": here}
        assert (await c.request(3, "shutdown", None))["result"] is None
        c.send({"method": "exit"})
        assert await asyncio.wait_for(c.proc.wait(), 30) == 0
    finally:
        if c.proc.returncode is None:
            c.proc.kill()
