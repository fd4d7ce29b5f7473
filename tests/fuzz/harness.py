"""The fuzz/fault suite's tools: a fake OpenAI-compatible backend with switchable faults, a raw
LSP client over a real `tandem lsp` subprocess (bytes on the wire, so framing can be broken on
purpose), and the counters the summary prints.

The server runs the `openai` engine against the fake backend: no model loads, every request is
real HTTP on 127.0.0.1, and every byte the server sends to the "model" is recorded, so the
secrets sweep can check what left the editor.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: The completion the fake backend streams, in pieces.
ANSWER = ["    return ", "a + b", "\n"]
ANSWER_TEXT = "".join(ANSWER)

#: Per-category counters, printed by conftest's terminal summary.
SUMMARY: dict[str, Counter] = {}


def count(category: str, key: str = "cases", n: int = 1) -> None:
    SUMMARY.setdefault(category, Counter())[key] += n


# -- the fake backend ------------------------------------------------------------------------------

FAULTS = ("ok", "closed", "http500", "hang", "trickle", "garbage", "midstream_close",
          "hang_models", "hang_tokenize", "hang_headers", "stall", "nested")  # fmt: skip
#: "nested": the first event is JSON nested 200,000 deep (Python's parser hits its recursion
#: limit); "hang_models" / "hang_tokenize": only that discovery endpoint hangs; "hang_headers":
#: generation requests never get their headers; "stall": the first piece, then silence.
NESTED_DEPTH = 200_000


class Backend:
    """An OpenAI-compatible server whose behaviour is `self.mode` (one of FAULTS)."""

    def __init__(self, mode: str = "ok", hang_s: float = 30.0, trickle_s: float = 2.0) -> None:
        self.mode = mode
        self.hang_s = hang_s
        self.trickle_s = trickle_s
        self.bodies: list[str] = []  # every POST body, as received
        self.hits: Counter = Counter()
        #: The Authorization header of every request (None when absent).
        self.auth: list[str | None] = []
        #: When set, generation requests get this answer (one piece) instead of ANSWER.
        self.chat_answer: str | None = None
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:
                pass

            def _json(self, status: int, obj: object) -> None:
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _fault_before_headers(self) -> bool:
                mode = backend.mode
                if mode == "closed":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return True
                if mode == "http500":
                    self._json(500, {"error": {"message": "engine dead"}})
                    return True
                if mode == "hang":
                    time.sleep(backend.hang_s)
                    self.close_connection = True
                    return True
                return False

            def do_GET(self) -> None:
                backend.hits[self.path] += 1
                backend.auth.append(self.headers.get("Authorization"))
                if backend.mode == "hang_models":
                    time.sleep(backend.hang_s)
                    self.close_connection = True
                    return
                if self._fault_before_headers():
                    return
                if self.path == "/v1/models":
                    self._json(200, {"data": [{"id": "m", "max_model_len": 4096}]})
                else:
                    self._json(404, {"detail": "Not Found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                with backend._lock:
                    backend.bodies.append(raw.decode("utf-8", "replace"))
                backend.hits[self.path] += 1
                backend.auth.append(self.headers.get("Authorization"))
                if self.path == "/tokenize" and backend.mode == "hang_tokenize":
                    time.sleep(backend.hang_s)
                    self.close_connection = True
                    return
                if backend.mode == "hang_headers" and self.path != "/tokenize":
                    time.sleep(backend.hang_s)
                    self.close_connection = True
                    return
                if self.path == "/tokenize":
                    prompt = json.loads(raw).get("prompt", "")
                    n = 1 if prompt in ("<fim_prefix>", "<fim_suffix>", "<fim_middle>") else 3
                    self._json(200, {"tokens": list(range(n))})
                    return
                if self._fault_before_headers():
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                chat = self.path.endswith("/chat/completions")
                mode = backend.mode
                try:
                    if mode == "garbage":
                        self.wfile.write(b"data: {not json at all\n\n")
                        self.wfile.flush()
                        return
                    if mode == "nested":
                        nested = "[" * NESTED_DEPTH + "]" * NESTED_DEPTH
                        self.wfile.write(f"data: {nested}\n\n".encode())
                        self.wfile.flush()
                        return
                    pieces = ANSWER
                    if backend.chat_answer is not None:
                        pieces = [backend.chat_answer]
                    for i, piece in enumerate(pieces):
                        choice: dict = {"index": 0, "finish_reason": None}
                        if chat:
                            choice["delta"] = {"content": piece}
                        else:
                            choice["text"] = piece
                        self.wfile.write(f"data: {json.dumps({'choices': [choice]})}\n\n".encode())
                        self.wfile.flush()
                        if mode == "midstream_close" and i == 0:
                            self.connection.shutdown(socket.SHUT_RDWR)
                            return
                        if mode == "stall" and i == 0:
                            time.sleep(backend.hang_s)
                            return
                        if mode == "trickle":
                            time.sleep(backend.trickle_s)
                    end = {"choices": [{"index": 0, "finish_reason": "stop", "text": ""}]}
                    self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
                    self.wfile.flush()
                except OSError:
                    pass

        return Handler


# -- the raw LSP client ----------------------------------------------------------------------------


def frame(obj: object) -> bytes:
    body = json.dumps(obj).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class LspProcess:
    """`tandem lsp` over stdio, driven byte by byte. Server→client requests are answered
    (configuration with `settings`, applyEdit refused, the rest null)."""

    def __init__(self, proc: asyncio.subprocess.Process, settings: dict) -> None:
        self.proc = proc
        self.settings = settings
        self.responses: dict[object, dict] = {}
        self.notifications: list[dict] = []
        self.server_requests: list[dict] = []
        self.stderr = bytearray()
        self._next_id = 1000
        self._reader = asyncio.ensure_future(self._read())
        self._err_reader = asyncio.ensure_future(self._read_stderr())

    @classmethod
    async def start(cls, settings: dict, *args: str, env: dict | None = None) -> LspProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "lsp_server", "lsp", *args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, cwd=str(REPO),
            env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
            limit=2**26,
        )  # fmt: skip
        return cls(proc, settings)

    def alive(self) -> bool:
        return self.proc.returncode is None

    def send_raw(self, data: bytes) -> None:
        self.proc.stdin.write(data)

    def send(self, msg: dict) -> None:
        self.send_raw(frame({"jsonrpc": "2.0", **msg}))

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    async def _read_stderr(self) -> None:
        while True:
            chunk = await self.proc.stderr.read(65536)
            if not chunk:
                return
            self.stderr += chunk

    async def _read(self) -> None:
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = await out.readline()
                if not line:
                    return
                if not line.strip():
                    break
                name, _, value = line.decode().partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            msg = json.loads(await out.readexactly(length or 0))
            if "method" in msg and "id" in msg:
                self.server_requests.append(msg)
                self.send({"id": msg["id"], "result": self._answer(msg)})
            elif "id" in msg:
                self.responses[msg["id"]] = msg
            else:
                self.notifications.append(msg)

    def _answer(self, msg: dict):
        if msg["method"] == "workspace/configuration":
            return [self.settings for _ in msg["params"]["items"]]
        if msg["method"] == "workspace/applyEdit":
            return {"applied": False, "failureReason": "fuzz client refuses edits"}
        return None

    async def response(self, id_: object, timeout: float) -> dict | None:
        """The answer, or None when none came within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while id_ not in self.responses:
            if time.monotonic() > deadline or not self.alive():
                return self.responses.get(id_)
            await asyncio.sleep(0.01)
        return self.responses[id_]

    async def request(self, method: str, params: object, timeout: float = 30.0) -> dict | None:
        id_ = self.new_id()
        self.send({"id": id_, "method": method, "params": params})
        return await self.response(id_, timeout)

    async def initialize(self, root: str | None, inline: bool = True, ready: bool = True) -> dict:
        """`initialize` + `initialized`; with `ready`, also wait for the start-up health check
        (model discovery), so the first completion is not charged for it on a loaded machine:
        completions have a 3 s deadline from their arrival here."""
        td: dict = {
            "synchronization": {"dynamicRegistration": False},
            "codeAction": {"codeActionLiteralSupport": {"codeActionKind": {"valueSet": []}}},
        }
        if inline:
            td["inlineCompletion"] = {}
        params = {
            "processId": None,
            "rootUri": f"file://{root}" if root else None,
            "capabilities": {"textDocument": td, "workspace": {"configuration": True}},
            "initializationOptions": self.settings,
        }
        init = await self.request("initialize", params, timeout=60)
        assert init is not None and "result" in init, init
        self.send({"method": "initialized", "params": {}})
        if ready:
            await self.warmed_up()
        return init

    async def warmed_up(self, timeout: float = 60.0) -> None:
        """Until a tandem/status other than "loading" arrived (the health check is over)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive():
            states = [n["params"].get("state") for n in self.notifications
                      if n.get("method") == "tandem/status"]  # fmt: skip
            if states and states[-1] != "loading":
                return
            await asyncio.sleep(0.05)

    def open(self, uri: str, text: str, language: str = "python", version: int = 1) -> None:
        self.send({
            "method": "textDocument/didOpen",
            "params": {"textDocument": {"uri": uri, "languageId": language, "version": version,
                                        "text": text}},
        })  # fmt: skip

    async def complete(self, uri: str, line: int, character: int, timeout: float = 30.0):
        return await self.request(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": uri},
                "position": {"line": line, "character": character},
                "context": {"triggerKind": 1},
            },
            timeout,
        )

    async def stop(self) -> int | None:
        if self.alive():
            await self.request("shutdown", None, timeout=10)
            self.send({"method": "exit"})
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self._reader.cancel()
        await asyncio.gather(self._err_reader, return_exceptions=True)
        return self.proc.returncode

    def log_text(self) -> str:
        """Everything the server logged: stderr plus window/logMessage and showMessage."""
        client = [
            n["params"].get("message", "")
            for n in self.notifications
            if n.get("method") in ("window/logMessage", "window/showMessage")
        ]
        return self.stderr.decode("utf-8", "replace") + "\n".join(client)


def openai_settings(*urls: str, **extra) -> dict:
    return {
        "engine": "openai",
        "endpoint": list(urls),
        "modelName": "m",
        "fimTemplate": "starcoder2",
        "completionTimeoutS": 3.0,
        **extra,
    }


SUM_PY = "def add(a, b):\n"
SUM_PY_CURSOR = (1, 0)  # the start of the empty last line


async def assert_healthy(lsp: LspProcess, uri: str, category: str) -> None:
    """After a batch: the server is alive, answers, and a normal completion still works."""
    assert lsp.alive(), f"server died during {category}: {lsp.log_text()[-2000:]}"
    status = await lsp.request("workspace/executeCommand", {"command": "tandem.status"}, 20)
    assert status is not None and "result" in status, f"status unanswered after {category}"
    for _attempt in range(3):  # after a settings change the engine discovers the model again,
        res = await lsp.complete(uri, *SUM_PY_CURSOR)  # which may outlast one 3 s deadline
        assert res is not None, f"completion unanswered after {category}"
        items = (res.get("result") or {}).get("items") or []
        if items:
            break
    assert items and "a + b" in items[0]["insertText"], (category, res)
    count(category, "health checks")
