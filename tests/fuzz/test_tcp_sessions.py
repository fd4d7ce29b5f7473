"""`tandem lsp --tcp` without a token (issue 26, item 5): a local process that connects and
closes, or connects and idles, neither ends the server nor locks the editor out; a client that
disconnects leaves the server listening for the next session; only `exit` ends it."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys

import pytest

from tests.fuzz.harness import REPO, Backend, count, frame, openai_settings


@pytest.fixture
def backend():
    b = Backend("ok")
    yield b
    b.close()


@pytest.fixture
async def tcp_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("TANDEM_LSP_TOKEN", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lsp_server", "lsp", "--tcp", f"127.0.0.1:{port}",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL, cwd=str(REPO), env=env,
    )  # fmt: skip
    for _ in range(300):  # until it listens
        try:
            _r, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()  # a bare connect-and-close: the first probe of the test already
            break
        except OSError:
            await asyncio.sleep(0.1)
    yield proc, port
    if proc.returncode is None:
        proc.kill()
    await proc.wait()


async def _reply(r: asyncio.StreamReader, id_: int, timeout: float = 30.0) -> dict | None:
    while True:
        length = None
        while True:
            header = await asyncio.wait_for(r.readline(), timeout)
            if not header:
                return None
            if not header.strip():
                break
            if header.lower().startswith(b"content-length"):
                length = int(header.split(b":")[1])
        reply = json.loads(await r.readexactly(length or 0))
        if reply.get("id") == id_ and "method" not in reply:
            return reply


async def _session(port: int, backend: Backend, id_: int):
    """Connect, initialize; returns the streams after a good answer."""
    r, w = await asyncio.open_connection("127.0.0.1", port)
    init = {"processId": None, "rootUri": None, "capabilities": {},
            "initializationOptions": openai_settings(backend.url)}  # fmt: skip
    w.write(frame({"jsonrpc": "2.0", "id": id_, "method": "initialize", "params": init}))
    await w.drain()
    reply = await _reply(r, id_)
    assert reply is not None and "capabilities" in reply["result"], reply
    w.write(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    status = {"jsonrpc": "2.0", "id": id_ + 1, "method": "workspace/executeCommand",
              "params": {"command": "tandem.status"}}  # fmt: skip
    w.write(frame(status))
    await w.drain()
    reply = await _reply(r, id_ + 1)
    assert reply is not None and "result" in reply, reply
    return r, w


async def test_connect_and_close_never_ends_the_server(tcp_server, backend):
    proc, port = tcp_server  # the fixture's probe already connected and closed once
    for _ in range(3):
        _r, w = await asyncio.open_connection("127.0.0.1", port)
        w.close()
    await asyncio.sleep(0.5)
    assert proc.returncode is None, "a bare connect-and-close ended the server"
    r, w = await _session(port, backend, 10)
    w.close()
    count("tcp", "cases")


async def test_an_idle_connection_cannot_lock_the_editor_out(tcp_server, backend):
    proc, port = tcp_server
    idle_r, idle_w = await asyncio.open_connection("127.0.0.1", port)  # sends nothing
    await asyncio.sleep(0.3)
    r, w = await asyncio.wait_for(_session(port, backend, 20), 20)  # served while it idles
    assert await asyncio.wait_for(idle_r.read(), 10) == b""  # the idle one was let go
    # While a session runs, another connection is closed at once; the session goes on.
    r2, w2 = await asyncio.open_connection("127.0.0.1", port)
    assert await asyncio.wait_for(r2.read(), 10) == b""
    w.write(frame({"jsonrpc": "2.0", "id": 30, "method": "workspace/executeCommand",
                   "params": {"command": "tandem.status"}}))  # fmt: skip
    assert "result" in (await _reply(r, 30))
    for writer in (idle_w, w, w2):
        writer.close()
    count("tcp", "cases", 2)


async def test_a_disconnected_session_leaves_the_server_for_the_next_one(tcp_server, backend):
    proc, port = tcp_server
    r, w = await _session(port, backend, 40)
    w.close()  # the editor went away without `exit`
    await asyncio.sleep(0.3)
    assert proc.returncode is None, "a client that disconnected ended the server"
    r, w = await asyncio.wait_for(_session(port, backend, 50), 30)  # a fresh session
    w.write(frame({"jsonrpc": "2.0", "id": 60, "method": "shutdown"}))
    await w.drain()
    assert (await _reply(r, 60))["result"] is None
    w.write(frame({"jsonrpc": "2.0", "method": "exit"}))
    await w.drain()
    assert await asyncio.wait_for(proc.wait(), 30) == 0  # only `exit` ends it
    count("tcp", "cases")
