"""`tandem lsp --tcp HOST:PORT`: one editor session at a time, on a port for local use only.

The rules (README, "Network exposure"):

* **One client at a time.** An LSP session's state (open documents, settings, the client's
  capabilities, the requests in flight) belongs to one editor, so while a session runs another
  connection is closed at once.
* **A connection holds nothing until it starts a session** with `initialize` (carrying the
  token when `--token` / `TANDEM_LSP_TOKEN` is set). Until then a newer connection takes its
  place, and it is dropped after `START_WITHIN_S` seconds: a local process that connects and
  idles can never lock the editor out.
* **Only `exit` ends the server** (with LSP's exit code). A client that disconnects, before or
  after `initialize`, never does: the next connection gets a fresh session, with the engine
  already loaded kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from lsp_server.server import TandemServer

log = logging.getLogger("lsp_server")

#: Seconds a TCP connection has to send `initialize` before it is dropped.
START_WITHIN_S = 10.0


@dataclass
class _Connection:
    writer: asyncio.StreamWriter
    task: asyncio.Task | None = None
    #: `initialize` arrived: the connection is the session now (no longer replaceable).
    started: bool = False


class TcpHost:
    """Accepts connections and runs sessions on `server`, a fresh one after each session."""

    def __init__(
        self,
        server: TandemServer,
        fresh: Callable[[TandemServer], TandemServer],
        token: str | None = None,
        start_within: float = START_WITHIN_S,
    ) -> None:
        self.server = server
        self._fresh = fresh
        self.token = token
        self.start_within = start_within
        self._current: _Connection | None = None
        self._done = asyncio.Event()

    async def serve(self, host: str, port: int) -> int:
        """Listen until a client sends `exit`; returns its exit code."""
        listener = await asyncio.start_server(self._on_connect, host, port)
        addrs = ", ".join(str(s.getsockname()) for s in listener.sockets)
        log.info("listening on %s (local use only; one client at a time)", addrs)
        async with listener:
            await self._done.wait()
        current = self._current
        if current is not None and current.task is not None and not current.task.done():
            current.task.cancel()
        return self.server.exit_code

    async def _on_connect(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        peer = w.get_extra_info("peername")
        current = self._current
        if current is not None:
            if current.started:
                log.warning("refused a connection from %s: a session is running", peer)
                w.close()
                return
            log.info("a connection that sent no `initialize` gives way to %s", peer)
            current.writer.close()
            if current.task is not None:
                current.task.cancel()
                await asyncio.gather(current.task, return_exceptions=True)
        conn = _Connection(w, asyncio.current_task())
        self._current = conn
        log.info("client connected from %s", peer)
        server = self.server
        server.protocol.set_writer(w)  # type: ignore[arg-type]

        def on_start() -> None:
            conn.started = True

        started = False
        try:
            started = await server.serve_stream(r.read, self.token, self.start_within, on_start)
        finally:
            w.close()
            if self._current is conn:
                self._current = None
        if server.protocol.exit_code is not None:  # type: ignore[attr-defined]
            self._done.set()
        elif started:  # the session is over: the next client gets a fresh one
            log.info("client disconnected; waiting for the next one")
            self.server = self._next(server)

    def _next(self, old: TandemServer) -> TandemServer:
        old.completions.cancel_all()
        for task in list(old.inflight.values()):
            task.cancel()
        new = self._fresh(old)
        new.engines = old.engines  # the loaded model stays loaded
        return new
