"""One test per defect of issue 17 that lives in the server: each starts a real `tandem lsp`
(openai engine against an in-test backend) and talks to it over its real transport."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys

import pytest

from tests.fuzz.harness import (
    REPO,
    SUM_PY,
    Backend,
    LspProcess,
    assert_healthy,
    count,
    frame,
    openai_settings,
)


@pytest.fixture
def backend():
    b = Backend("ok")
    yield b
    b.close()


async def _server(backend: Backend, root, **settings) -> LspProcess:
    lsp = await LspProcess.start(openai_settings(backend.url, **settings))
    await lsp.initialize(str(root))
    return lsp


async def test_a_lone_surrogate_in_one_document_breaks_no_other(backend, tmp_path):
    """Defect 1: `"\\ud800"` in b.py made every completion in every file fail with -32603."""
    lsp = await _server(backend, tmp_path)
    try:
        a = f"file://{tmp_path}/a.py"
        lsp.open(a, SUM_PY)
        lsp.open(f"file://{tmp_path}/b.py", "s = '\ud800'\ndef add(a, b):\n")
        lsp.open(f"file://{tmp_path}/c.py", "x = 1\x00\ndef add(a, b):\n")
        lsp.open(f"file://{tmp_path}/d.py", "x = 1\rdef add(a, b):\r")
        for uri, line in [(a, 1), (f"file://{tmp_path}/b.py", 2), (f"file://{tmp_path}/d.py", 2)]:
            res = await lsp.complete(uri, line, 0)
            assert res is not None and "error" not in res, res
            count("hostile documents", "cases")
        res = await lsp.complete(f"file://{tmp_path}/c.py", 1, 0)  # NUL: refused, quietly
        assert res is not None and res.get("result") is None, res
        count("hostile documents", "cases")
        await assert_healthy(lsp, a, "hostile documents")
        assert not any("\ud800" in b for b in backend.bodies)
    finally:
        await lsp.stop()


async def test_bad_frames_never_make_the_server_deaf(backend, tmp_path):
    """Defect 5: one lowercase header, LF-only line ends or a wrong length made pygls's reader
    deaf for good; `Content-Length: 10**15` killed it with MemoryError."""
    lsp = await _server(backend, tmp_path)
    status = {"command": "tandem.status"}
    try:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "workspace/executeCommand",
                           "params": status}).encode()  # fmt: skip
        bad = [
            b"content-length: %d\r\n\r\n" % len(body) + body,  # lowercase
            b"Content-Length: %d\n\n" % len(body) + body,  # LF only
            b"Content-Length: %d\r\n\r\n" % (len(body) + 40) + body,  # too long
            b"Content-Length: %d\r\n\r\n" % (len(body) - 9) + body,  # too short
            b"garbage\r\n\r\n{}",
            b"Content-Length: 1000000000000000\r\n\r\n{",
            b"Content-Length: abc\r\n\r\n",
        ]
        for chunk in bad:
            lsp.send_raw(chunk)
            count("framing", "cases")
        ids = [lsp.new_id() for _ in range(20)]
        for id_ in ids:
            lsp.send({"id": id_, "method": "workspace/executeCommand", "params": status})
        for id_ in ids:
            res = await lsp.response(id_, 30)
            assert res is not None and "result" in res, f"request {id_} unanswered"
        assert lsp.alive()
        assert "MemoryError" not in lsp.log_text()
        assert lsp.log_text().count("bad LSP frame skipped") >= 4
        lsp.open(f"file://{tmp_path}/a.py", SUM_PY)
        await assert_healthy(lsp, f"file://{tmp_path}/a.py", "framing")
    finally:
        await lsp.stop()


async def test_lifecycle_follows_the_spec(backend, tmp_path):
    """Defect 12: -32002 before initialize, InvalidRequest after shutdown, exit code 1 for an
    exit without shutdown."""
    lsp = await LspProcess.start(openai_settings(backend.url))
    try:
        early = await lsp.request("workspace/executeCommand", {"command": "tandem.status"}, 30)
        assert early is not None and early["error"]["code"] == -32002, early
        await lsp.initialize(str(tmp_path))
        assert (await lsp.request("shutdown", None))["result"] is None
        late = await lsp.request("workspace/executeCommand", {"command": "tandem.status"}, 30)
        assert late is not None and late["error"]["code"] == -32600, late
        # malformed params too: the server is shutting down before it looks at them
        odd = await lsp.request("textDocument/hover", {}, 30)
        assert odd is not None and odd["error"]["code"] == -32600, odd
        lsp.send({"method": "exit"})
        assert await asyncio.wait_for(lsp.proc.wait(), 30) == 0
    finally:
        await lsp.stop()
    lsp = await LspProcess.start(openai_settings(backend.url))
    try:
        await lsp.initialize(str(tmp_path))
        lsp.send({"method": "exit"})
        assert await asyncio.wait_for(lsp.proc.wait(), 30) == 1
    finally:
        await lsp.stop()


async def test_the_api_key_is_never_logged(backend, tmp_path):
    """Defect 9: a wrong-typed apiKey after a valid one logged "keeping 'sk-…'"."""
    key = "sk-canary-0123456789abcdef0123456789abcdef"
    lsp = await _server(backend, tmp_path, apiKey=key)
    try:
        uri = f"file://{tmp_path}/a.py"
        lsp.open(uri, SUM_PY)
        await assert_healthy(lsp, uri, "secrets")
        for bad in (123, ["x"], {"a": 1}):
            lsp.send({"method": "workspace/didChangeConfiguration",
                      "params": {"settings": {"tandem": {"apiKey": bad}}}})  # fmt: skip
        await assert_healthy(lsp, uri, "secrets")
        lsp.send({"method": "workspace/didChangeConfiguration",
                  "params": {"settings": {"tandem": {"endpoint": "http://127.0.0.1:9", "apiKey": key}}}})  # fmt: skip
        await lsp.complete(uri, 1, 0)
        await lsp.stop()
        text = lsp.log_text()
        assert "apiKey" in text  # the warning was logged, naming the key only
        assert key not in text and "sk-canary" not in text
        count("secrets", "log checks")
    finally:
        await lsp.stop()


async def test_wrong_typed_params_are_invalid_params(backend, tmp_path):
    """Defect 10 (generic path): codeAction `only` with non-strings answered -32603."""
    lsp = await _server(backend, tmp_path)
    try:
        uri = f"file://{tmp_path}/a.py"
        lsp.open(uri, SUM_PY)
        rng = {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}
        for only in ([1], [None], ["quickfix", 2.5], [{"x": 1}]):
            res = await lsp.request(
                "textDocument/codeAction",
                {"textDocument": {"uri": uri}, "range": rng,
                 "context": {"diagnostics": [], "only": only}},
            )  # fmt: skip
            assert res is not None and res["error"]["code"] == -32602, res
            assert "only" in res["error"]["message"]
            count("generated params", "cases")
    finally:
        await lsp.stop()


async def test_a_dead_backend_at_startup_is_reported_not_ready(tmp_path):
    """Defect 6: the status said "ready" with no backend reachable."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    lsp = await LspProcess.start(openai_settings(dead))
    try:
        await lsp.initialize(str(tmp_path))
        for _ in range(600):
            states = [n["params"]["state"] for n in lsp.notifications
                      if n.get("method") == "tandem/status"]  # fmt: skip
            if states and states[-1] != "loading":
                break
            await asyncio.sleep(0.05)
        assert states[-1] == "error", states
        assert "ready" not in states
        count("backend faults", "dead at startup")
    finally:
        await lsp.stop()


async def _tcp_lines(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def _tcp_request(w, r, msg: dict) -> dict | None:
    w.write(frame({"jsonrpc": "2.0", **msg}))
    await w.drain()
    while True:
        length = None
        while True:
            header = await asyncio.wait_for(r.readline(), 30)
            if not header:
                return None
            if not header.strip():
                break
            if header.lower().startswith(b"content-length"):
                length = int(header.split(b":")[1])
        reply = json.loads(await r.readexactly(length or 0))
        if reply.get("id") == msg["id"] and "method" not in reply:
            return reply


async def test_tcp_serves_one_client_and_checks_the_token(backend, tmp_path):
    """Defect 11: no auth, and a second connection took over the first client's replies."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lsp_server", "lsp", "--tcp", f"127.0.0.1:{port}",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE, cwd=str(REPO),
        env={**os.environ, "PYTHONPATH": str(REPO), "TANDEM_LSP_TOKEN": "s3cret-token"},
    )  # fmt: skip
    init = {"processId": None, "rootUri": None, "capabilities": {},
            "initializationOptions": openai_settings(backend.url)}  # fmt: skip
    try:
        for _ in range(300):
            try:
                r, w = await _tcp_lines(port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        # no token: refused, connection closed, the server keeps listening
        reply = await _tcp_request(w, r, {"id": 1, "method": "initialize", "params": init})
        assert reply is not None and reply["error"]["code"] == -32600, reply
        assert "token" in reply["error"]["message"]
        assert await asyncio.wait_for(r.read(), 10) == b""
        w.close()
        # the right token: served
        r, w = await _tcp_lines(port)
        good = {**init, "initializationOptions": {**init["initializationOptions"],
                                                  "token": "s3cret-token"}}  # fmt: skip
        reply = await _tcp_request(w, r, {"id": 2, "method": "initialize", "params": good})
        assert reply is not None and "capabilities" in reply["result"], reply
        # a second client while the first is connected: refused at once
        r2, w2 = await _tcp_lines(port)
        assert await asyncio.wait_for(r2.read(), 10) == b""
        w2.close()
        status = {"id": 3, "method": "workspace/executeCommand",
                  "params": {"command": "tandem.status"}}  # fmt: skip
        reply = await _tcp_request(w, r, status)
        assert reply is not None and "result" in reply  # the first client still gets its answers
        count("tcp", "cases", 3)
        w.close()
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
