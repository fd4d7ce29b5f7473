"""The Tandem language server object: pygls server + protocol fixes + shared services."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method

from completion.service import CompletionService
from lsp_server.documents import RecentDocuments
from lsp_server.engine_manager import EngineManager
from lsp_server.protocol import STATUS_NOTIFICATION
from lsp_server.settings import Settings

log = logging.getLogger("lsp_server")

VERSION = "0.1.0"


class _Ignored:
    """Placeholder message for a request already answered with an error during parsing."""

    jsonrpc = None


class TandemProtocol(LanguageServerProtocol):
    """pygls's protocol with two fixes.

    1. pygls raises InvalidParams while *parsing* a request with malformed params and its reader
       loop only logs it: the client never gets an answer and waits forever. Here the request
       is answered with a JSON-RPC InvalidParams error naming the method.
    2. `shutdown` iterated the live dict of request futures while cancelling them, which can
       raise "dictionary changed size during iteration" with requests in flight (pygls#606).
    """

    def structure_message(self, data: dict[str, Any]):
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            method = data.get("method") if isinstance(data, dict) else None
            if isinstance(data, dict) and "id" in data and method:
                cause = exc.__cause__
                detail = str(cause).splitlines()[0] if cause else str(exc)
                error = JsonRpcInvalidParams(f"invalid params for {method}: {detail}")
                self._send_response(data["id"], None, error.to_response_error())
                log.warning("answered malformed %s request %s: %s", method, data["id"], detail)
                return _Ignored()
            if isinstance(data, dict) and method:
                log.warning("ignored malformed %s notification", method)
                return _Ignored()
            raise

    def handle_message(self, message):
        if isinstance(message, _Ignored):
            return
        super().handle_message(message)

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args):
        if (user_handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield user_handler, args, None
        current_id = self.msg_id
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current_id and not future.done():
                future.cancel()
        self._shutdown = True
        return None


class ClientLogHandler(logging.Handler):
    """Forwards log records to the editor (window/logMessage), thread-safely."""

    _LEVELS = {
        logging.ERROR: types.MessageType.Error,
        logging.WARNING: types.MessageType.Warning,
        logging.INFO: types.MessageType.Info,
        logging.DEBUG: types.MessageType.Log,
    }

    def __init__(self, server: TandemServer) -> None:
        super().__init__(logging.INFO)
        self.server = server

    def emit(self, record: logging.LogRecord) -> None:
        loop = self.server.loop_or_none
        if loop is None or not self.server.initialized:
            return
        level = max((lv for lv in self._LEVELS if lv <= record.levelno), default=logging.DEBUG)
        params = types.LogMessageParams(type=self._LEVELS[level], message=self.format(record))
        try:
            loop.call_soon_threadsafe(self.server.safe_log_message, params)
        except RuntimeError:
            pass


class TandemServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            name="tandem",
            version=VERSION,
            protocol_cls=TandemProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.settings = Settings()
        self.engines = EngineManager()
        self.recent = RecentDocuments()
        self.initialized = False
        self.last_status: dict[str, Any] = {"state": "loading", "message": "starting"}
        #: Completions' per-document state: typeahead, debounce, newest-wins.
        self.completions = CompletionService()
        self.loop_or_none: asyncio.AbstractEventLoop | None = None

    def safe_log_message(self, params: types.LogMessageParams) -> None:
        try:
            self.window_log_message(params)
        except Exception:  # the transport may be gone at exit
            pass

    def notify_user(
        self, message: str, kind: types.MessageType = types.MessageType.Warning
    ) -> None:
        """A message the user should see (window/showMessage), also logged."""
        log.log(logging.WARNING if kind <= types.MessageType.Warning else logging.INFO, message)
        try:
            self.window_show_message(
                types.ShowMessageParams(type=kind, message=f"Tandem: {message}")
            )
        except Exception:
            pass

    def send_status(self, state: str, message: str = "", request: dict | None = None) -> None:
        running = self.engines.current
        if running is not None:  # what actually runs (a fallback model, the server's model)
            info = running.info
            engine, model = info.name, info.model or self.settings.model_name or "(server default)"
        else:  # nothing loaded yet: what the settings ask for
            engine, model = self.settings.engine, self.settings.model or "(default demo model)"
        status: dict[str, Any] = {
            "state": state,
            "message": message,
            "engine": engine,
            "model": model,
        }
        if request is not None:
            status["request"] = request
        self.last_status = status
        try:
            self.protocol.notify(STATUS_NOTIFICATION, status)
        except Exception:
            pass

    async def request_client(self, method: str, params: Any, timeout: float | None = None) -> Any:
        """Send a server→client request, bounded by a timeout: some clients never answer
        requests they don't know (or answer `null` in a way pygls cannot parse)."""
        fut = self.protocol.send_request_async(method, params)
        return await asyncio.wait_for(fut, timeout or self.settings.client_request_timeout_s)


def configure_logging(server: TandemServer, level: str = "INFO") -> None:
    """Log to stderr and to the client; never to stdout (it is the LSP channel)."""
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(fmt)
    client = ClientLogHandler(server)
    client.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [stderr]
    root.setLevel(level)
    for name in ("lsp_server", "completion", "codechat", "inference"):
        logging.getLogger(name).addHandler(client)
    logging.getLogger("pygls").setLevel(logging.WARNING)
