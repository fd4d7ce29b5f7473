"""The Tandem language server object: pygls server + protocol fixes + shared services."""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcParseError,
    JsonRpcServerNotInitialized,
)
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.workspace import Workspace

from completion.service import CompletionService
from inference.urls import redact_url
from lsp_server.document_store import DocumentStore
from lsp_server.documents import RecentDocuments, sanitize_text
from lsp_server.engine_manager import EngineManager
from lsp_server.events_log import EventsLog
from lsp_server.framing import DEFAULT_MAX_MESSAGE_BYTES, FrameReader, decode_body
from lsp_server.protocol import STATUS_NOTIFICATION, PromptInfo, Status, StatusRequest
from lsp_server.session_stats import SessionStats, health
from lsp_server.settings import Settings
from lsp_server.validation import (
    envelope_error,
    is_request_id,
    params_error,
    strict_primitives,
)

log = logging.getLogger("lsp_server")

#: When the frame of the message being handled arrived (perf_counter seconds): handlers run in
#: tasks that copy it, so a request's reported latency starts at its arrival, not at the handler
#: (JSON decoding, params checks and waiting for the event loop count too).
RECEIVED_AT: ContextVar[float | None] = ContextVar("tandem_received_at", default=None)

VERSION = "0.1.0"


class _Ignored:
    """Placeholder message for a request already answered with an error during parsing."""

    jsonrpc = None


class TandemProtocol(LanguageServerProtocol):
    """pygls's protocol with these fixes.

    1. pygls raises InvalidParams while *parsing* a request with malformed params and its reader
       loop only logs it: the client never gets an answer and waits forever. Here the request
       is answered with a JSON-RPC InvalidParams error naming the method.
    2. `shutdown` iterated the live dict of request futures while cancelling them, which can
       raise "dictionary changed size during iteration" with requests in flight (pygls#606).
    3. The LSP lifecycle: a request before `initialize` gets ServerNotInitialized (-32002), a
       request after `shutdown` gets InvalidRequest (pygls drops both silently), and a message
       that is no JSON-RPC 2.0 message (checked on the raw JSON: `jsonrpc`, a string method,
       an integer or string id) gets InvalidRequest (-32600) instead of silence or -32603.
    4. Document text is sanitized on the way in (lone UTF-16 surrogates), so no reader of the
       workspace ever meets text an encoder refuses.
    5. `exit` records its exit code (1 without a prior `shutdown`) for `tandem lsp` to return.
    6. The workspace pygls builds at `initialize` becomes a `DocumentStore`: LSP line breaks
       when applying changes, one URI identity for lookups, no disk reads (see
       lsp_server/document_store.py).
    """

    @property
    def _workspace(self) -> DocumentStore | None:
        return self.__dict__.get("_tandem_store")

    @_workspace.setter
    def _workspace(self, workspace: Workspace | None) -> None:
        # pygls assigns `self._workspace = Workspace(...)` inside its initialize handler
        self.__dict__["_tandem_store"] = (
            None if workspace is None else DocumentStore.adopt(workspace)
        )

    #: Set once `initialize` arrived (requests before it are refused).
    initialize_seen = False
    #: The process exit code `exit` asked for (None: not asked).
    exit_code: int | None = None
    #: `shutdown` arrived (requests after it are refused, `exit` then returns 0).
    shutdown_requested = False

    def structure_message(self, data: Any):
        problem = envelope_error(data)
        if problem is not None:
            self._refuse_envelope(data, problem)
            return _Ignored()
        if (
            "jsonrpc" in data
            and "id" in data
            and isinstance(data.get("method"), str)
            and data["method"] not in (types.INITIALIZE, types.EXIT)
            and not self.initialize_seen
        ):  # answer -32002 before looking at params (they may be malformed too)
            error = JsonRpcServerNotInitialized(f"{data['method']}: send `initialize` first")
            self._send_response(data["id"], None, error.to_response_error())
            return _Ignored()
        if (
            "id" in data
            and isinstance(data.get("method"), str)
            and data["method"] != types.EXIT
            and (self._shutdown or self.shutdown_requested)
        ):  # after `shutdown` every request is InvalidRequest, whatever its params
            error = JsonRpcInvalidRequest(f"{data['method']}: the server is shutting down")
            self._send_response(data["id"], None, error.to_response_error())
            return _Ignored()
        try:
            message = super().structure_message(data)
            problem = params_error(message) if "method" in data else None
            if problem is not None:
                raise JsonRpcInvalidParams(problem) from ValueError(problem)
            return message
        except JsonRpcException as exc:
            method = data.get("method") if isinstance(data, dict) else None
            if isinstance(data, dict) and "id" in data and method:
                detail = _describe_structure_error(exc)
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
        method = getattr(message, "method", None)
        msg_id = getattr(message, "id", None)
        if getattr(message, "jsonrpc", None) != "2.0":
            self._answer_invalid(message, "not a JSON-RPC 2.0 message")
            return
        is_request = method is not None and hasattr(message, "id")
        if method == types.EXIT:
            self.exit_code = 0 if self.shutdown_requested else 1
        elif method == types.INITIALIZE:
            self.initialize_seen = True
        elif method is not None and not self.initialize_seen:
            if is_request:
                error = JsonRpcServerNotInitialized(f"{method}: send `initialize` first")
                self._send_response(msg_id, None, error.to_response_error())
            return
        elif (self._shutdown or self.shutdown_requested) and is_request:
            error = JsonRpcInvalidRequest(f"{method}: the server is shutting down")
            self._send_response(msg_id, None, error.to_response_error())
            return
        if method in (types.TEXT_DOCUMENT_DID_OPEN, types.TEXT_DOCUMENT_DID_CHANGE):
            _sanitize_document_params(message.params)
        if method == types.SHUTDOWN:
            self.shutdown_requested = True  # pygls sets _shutdown only once the handler is done
        super().handle_message(message)

    def _answer_invalid(self, message: Any, why: str) -> None:
        if isinstance(message, dict):
            msg_id = message.get("id")
        else:
            msg_id = getattr(message, "id", None)
        log.warning("ignored a message: %s", why)
        if is_request_id(msg_id):
            self._send_response(msg_id, None, JsonRpcInvalidRequest(why).to_response_error())

    def _refuse_envelope(self, data: Any, why: str) -> None:
        """JSON-RPC: an Invalid Request (-32600) is answered, under its id when that is valid,
        else under id null. A response-shaped message (no method) is only logged: answering it
        would be an error under an id the client used for a request of its own."""
        log.warning("invalid JSON-RPC message: %s", why)
        if isinstance(data, dict) and "method" not in data and "id" in data:
            return
        msg_id = data.get("id") if isinstance(data, dict) else None
        error = JsonRpcInvalidRequest(why).to_response_error()
        if is_request_id(msg_id):
            self._send_response(msg_id, None, error)
        else:
            body = {"jsonrpc": "2.0", "id": None, "error": self._converter.unstructure(error)}
            self._send_data(body)

    def send_parse_error(self, reason: str) -> None:
        """JSON-RPC: a body that is not JSON gets Parse error with id null."""
        error = JsonRpcParseError(reason).to_response_error()
        self._send_data({"jsonrpc": "2.0", "id": None, "error": self._converter.unstructure(error)})

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


def _describe_structure_error(exc: BaseException) -> str:
    """Which field was wrong, from cattrs's validation error (else its first line)."""
    cause = exc.__cause__
    if cause is None:
        return str(exc)
    try:
        from cattrs import transform_error
        from cattrs.errors import BaseValidationError

        if not isinstance(cause, BaseValidationError):
            return str(cause).splitlines()[0]
        messages = transform_error(cause, path="message")
    except Exception:
        messages = []
    messages = [m.replace("message.params", "params") for m in messages if isinstance(m, str)]
    return "; ".join(messages[:3]) if messages else str(cause).splitlines()[0]


def _sanitize_document_params(params: Any) -> None:
    doc = getattr(params, "text_document", None)
    if doc is not None and isinstance(getattr(doc, "text", None), str):
        doc.text = sanitize_text(doc.text)
    for change in getattr(params, "content_changes", None) or []:
        if isinstance(getattr(change, "text", None), str):
            change.text = sanitize_text(change.text)


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
        except RuntimeError:  # the loop is closed: stderr still has the record
            return


class TandemServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            name="tandem",
            version=VERSION,
            protocol_cls=TandemProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        strict_primitives(self.protocol._converter)  # `"uri": 5` is InvalidParams, not "5"
        self.settings = Settings()
        self.engines = EngineManager()
        self.recent = RecentDocuments()
        self.initialized = False
        self.last_status = Status(state="loading", message="starting", engine="", model="")
        #: Running CodeChat tasks (shutdown cancels them).
        self.inflight: dict[str, asyncio.Task] = {}
        #: Completions' per-document state: typeahead, debounce, newest-wins.
        self.completions = CompletionService()
        self.loop_or_none: asyncio.AbstractEventLoop | None = None
        #: Suggestion counters and latency of this session (tandem/status "session", "health").
        self.session = SessionStats()
        #: The local events log for `tandem stats` (configured from settings).
        self.events = EventsLog()
        #: Epoch seconds until which suggestions are snoozed (0: not snoozed).
        self.snoozed_until = 0.0
        #: Whether the user was told (once, by showMessage) that suggestions are slow.
        self.told_slow = False
        #: (engine, its completion.templates.CompletionMode) for the status; None until known.
        self.prompt_mode: tuple[Any, Any] | None = None
        #: The engine error last shown by showMessage (None: none since the last success).
        self.shown_engine_error: str | None = None
        #: The engine that was running when that error was shown (a reload is news again).
        self.shown_error_engine: Any = None
        #: Called as observer(uri, event) on didOpen/didChange/didClose ("open", "change",
        #: "close"), after the workspace applied it (next-edit history listens here).
        self.document_observers: list[Callable[[str, str], None]] = []
        #: Next-edit state (features/nextedit.py sets it at initialize).
        self.next_edit: Any = None

    # -- transports: our robust frame reader instead of pygls's (see lsp_server/framing.py) -------

    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES

    async def serve_stream(
        self,
        read: Callable[[int], Awaitable[bytes]],
        token: str | None = None,
        start_within: float | None = None,
        on_start: Callable[[], None] | None = None,
    ) -> bool:
        """Read frames until end of stream or `exit`; every bad frame is logged and skipped.

        The session starts with `initialize` (carrying `token` as `initializationOptions.token`
        when one is set: then it must be the first message, or the connection is refused).
        `start_within`: seconds the connection has to start it, else it is dropped (TCP: an
        idle connection must not hold the one slot); `on_start` is called when it starts.
        Returns whether the session started."""
        reader = FrameReader(read, self.max_message_bytes)
        protocol: TandemProtocol = self.protocol  # type: ignore[assignment]
        started = False
        loop = asyncio.get_running_loop()
        start_by = None if start_within is None else loop.time() + start_within
        while protocol.exit_code is None:
            if started or start_by is None:
                body = await reader.next_body()
            else:
                try:
                    async with asyncio.timeout_at(start_by):
                        body = await reader.next_body()
                except TimeoutError:
                    log.warning("connection dropped: no `initialize` within %g s", start_within)
                    return False
            if body is None:
                log.info("client closed the connection")
                return started
            RECEIVED_AT.set(time.perf_counter())
            message, problem = decode_body(body, protocol.structure_message)
            if problem:
                log.warning("bad LSP frame skipped: %s", problem)
                protocol.send_parse_error(problem)
                continue
            if not started and token is not None and not _token_matches(message, token):
                log.warning("connection refused: missing or wrong token in initialize")
                msg_id = getattr(message, "id", None)
                if msg_id is not None:
                    err = JsonRpcInvalidRequest(
                        "authentication failed: send the server's token as "
                        "initializationOptions.token"
                    )
                    protocol._send_response(msg_id, None, err.to_response_error())
                return False
            if not started and getattr(message, "method", None) == types.INITIALIZE:
                started = True
                if on_start is not None:
                    on_start()
            if getattr(message, "method", None) == types.EXIT:
                await _answer_pending(protocol)
            try:
                protocol.handle_message(message)
            except SystemExit as exc:  # pygls's `exit` handler
                if protocol.exit_code is None:
                    protocol.exit_code = exc.code if isinstance(exc.code, int) else 0
                return started
            except Exception:
                log.exception("unexpected error handling a message; the server carries on")
        return started

    def start_io(self, stdin=None, stdout=None) -> None:  # type: ignore[override]
        """stdio with the robust reader; stdin is read by a daemon thread (never blocks exit)."""
        stdin = stdin or sys.stdin.buffer
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))

        async def main() -> None:
            loop = asyncio.get_running_loop()
            chunks: asyncio.Queue[bytes] = asyncio.Queue()

            def pump() -> None:
                # os.read on the descriptor: a daemon thread blocked inside the buffered
                # reader would hold its lock and abort the interpreter at exit.
                try:
                    fd = stdin.fileno()

                    def read(n: int) -> bytes:
                        return os.read(fd, n)
                except (AttributeError, OSError, ValueError):
                    read = getattr(stdin, "read1", stdin.read)
                while True:
                    try:
                        data = read(65536)
                    except (OSError, ValueError):
                        data = b""
                    loop.call_soon_threadsafe(chunks.put_nowait, data)
                    if not data:
                        return

            threading.Thread(target=pump, name="tandem-stdin", daemon=True).start()

            async def read(_n: int) -> bytes:
                return await chunks.get()

            await self.serve_stream(read)

        try:
            asyncio.run(main())
        except BrokenPipeError:
            log.error("the client closed stdout; shutting down")
        except KeyboardInterrupt:
            pass
        finally:
            self.shutdown()

    @property
    def exit_code(self) -> int:
        code = getattr(self.protocol, "exit_code", None)
        return 0 if code is None else int(code)

    def safe_log_message(self, params: types.LogMessageParams) -> None:
        try:
            self.window_log_message(params)
        except Exception as exc:  # the transport may be gone at exit; stderr has the record
            print(f"tandem: could not forward a log line to the client: {exc}", file=sys.stderr)

    def notify_user(
        self, message: str, kind: types.MessageType = types.MessageType.Warning
    ) -> None:
        """A message the user should see (window/showMessage), also logged."""
        log.log(logging.WARNING if kind <= types.MessageType.Warning else logging.INFO, message)
        try:
            self.window_show_message(
                types.ShowMessageParams(type=kind, message=f"Tandem: {redact_url(message)}")
            )
        except Exception as exc:  # the transport may be gone at exit
            log.debug("could not show a message to the user: %s", exc)

    def engine_failed(self, message: str) -> None:
        """An engine or model error that makes completions impossible: the status says so, and
        the user is told once by `window/showMessage` (LSP4IJ, Helix and Eglot show no custom
        status). Each keystroke meets the same error again: shown again only when the error
        changes, or after a success (`engine_recovered`) and a new failure."""
        self.send_status("error", message)
        if message != self.shown_engine_error:
            self.shown_engine_error = message
            self.shown_error_engine = self.engines.current
            self.notify_user(message, types.MessageType.Error)

    def engine_recovered(self) -> None:
        """The engine served a request: the next failure is news again."""
        self.shown_engine_error = None
        self.shown_error_engine = None

    def engine_loaded(self, engine: Any) -> None:
        """An engine finished loading. A new one makes the next failure news again; the one
        a keystroke already failed on (its load finished just after) does not, or the same
        error would be shown twice."""
        if self.shown_engine_error is not None and engine is not self.shown_error_engine:
            self.engine_recovered()

    def send_status(
        self, state: str, message: str = "", request: StatusRequest | None = None
    ) -> None:
        running = self.engines.current
        if running is not None:  # what actually runs (a fallback model, the server's model)
            info = running.info
            engine, model = info.name, info.model or self.settings.model_name or "(server default)"
        else:  # nothing loaded yet: what the settings ask for
            engine, model = self.settings.engine, self.settings.model or "(default model)"
        status = Status(
            state=state,  # type: ignore[typeddict-item]
            message=redact_url(message),
            engine=engine,
            model=model,
        )
        if request is not None:
            status["request"] = request
        if self.prompt_mode is not None and running is self.prompt_mode[0]:
            mode = self.prompt_mode[1]
            status["prompt"] = PromptInfo(
                mode=mode.kind, template=mode.template.name, description=mode.describe()
            )
        status.update(self.toggles_and_session(state, message))
        self.last_status = status
        try:
            self.protocol.notify(STATUS_NOTIFICATION, status)
        except Exception as exc:  # the transport may be gone at exit
            log.debug("could not send %s: %s", STATUS_NOTIFICATION, exc)

    def toggles_and_session(self, state: str, message: str) -> dict[str, Any]:
        """The status fields for run-time toggles, session numbers and health."""
        summary = self.session.summary()
        engine = getattr(self.engines, "_engine", None)
        device = getattr(getattr(engine, "info", None), "device", "") or self.settings.device
        error = message if state == "error" else self.engines.error
        verdict = health(
            summary["latencyP50Ms"],
            len(self.session.latencies_ms),
            error,
            # the engine that runs (a .gguf `model`, or the default model, is llama.cpp even
            # with the setting at "local")
            getattr(getattr(engine, "info", None), "name", "") or self.settings.engine,
            device,
            self.settings.slow_latency_ms,
        )
        if verdict["state"] == "slow" and not self.told_slow:
            # once per session, through the standard channel: clients that show no custom
            # tandem/status (LSP4IJ, Helix) still learn why suggestions lag, and what to try
            self.told_slow = True
            self.notify_user(f"slow: {verdict['reason']}. Hint: {verdict['hint']}",
                             types.MessageType.Info)  # fmt: skip
        return {
            "enabled": self.settings.enabled,
            "disabledLanguages": list(self.settings.disabled_languages),
            "snoozedUntil": self.snoozed_until or None,
            "session": summary,
            "health": verdict,
        }

    async def request_client(self, method: str, params: Any, timeout: float | None = None) -> Any:
        """Send a server→client request, bounded by a timeout: some clients never answer
        requests they don't know (or answer `null` in a way pygls cannot parse)."""
        fut = self.protocol.send_request_async(method, params)
        return await asyncio.wait_for(fut, timeout or self.settings.client_request_timeout_s)


async def _answer_pending(protocol: TandemProtocol, timeout: float = 2.0) -> None:
    """Before `exit` closes the channel, let requests in flight (the `shutdown` itself, often)
    send their answers, for a bounded time."""
    pending = [
        f
        for f in list(protocol._request_futures.values())
        if isinstance(f, asyncio.Future) and not f.done()
    ]
    if pending:
        await asyncio.wait(pending, timeout=timeout)
    for _ in range(3):  # done-callbacks (which send the answers) run on the next loop turns
        await asyncio.sleep(0)


def _token_matches(message: Any, token: str | None) -> bool:
    if token is None:
        return True
    if getattr(message, "method", None) != types.INITIALIZE:
        return False
    opts = getattr(getattr(message, "params", None), "initialization_options", None)
    given = opts.pop("token", None) if isinstance(opts, dict) else None
    return isinstance(given, str) and hmac.compare_digest(given.encode(), token.encode())


class RedactingFormatter(logging.Formatter):
    """Masks URL credentials (`http://user:pw@host` → `http://***@host`) in every log line, to
    the client and to stderr, whoever logged it (ours, httpx, a library's exception text)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_url(super().format(record))


#: Loggers whose records also go to the client (window/logMessage).
CLIENT_LOGGERS = ("lsp_server", "completion", "codechat", "inference")


def configure_logging(server: TandemServer, level: str = "INFO") -> None:
    """Log to stderr and to the client; never to stdout (it is the LSP channel)."""
    fmt = RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(fmt)
    client = ClientLogHandler(server)
    client.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [stderr]
    root.setLevel(level)
    for name in CLIENT_LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if isinstance(h, ClientLogHandler)]:
            logger.removeHandler(old)  # a new TCP session: its client gets the lines now
        logger.addHandler(client)
    logging.getLogger("pygls").setLevel(logging.WARNING)
