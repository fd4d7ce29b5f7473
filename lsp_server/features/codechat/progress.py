"""Running one CodeChat task with streamed progress that is ALWAYS ended.

`run_with_progress` is the only place a CodeChat generation runs: it begins `$/progress` (a
token the server creates when the client supports it), streams ``tandem/chatProgress``
(throttled; each text is the whole visible answer so far), and on every path (success, model
error, cancellation, a bug) sends the final ``done`` text, ends the progress and puts the status
back to ready/error, so no client is left with a spinner or a "generating" status.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from lsprotocol import types
from pygls import uris

from codechat import ChatOutcome, run_task
from codechat.secrets import restore_outcome
from codechat.tasks import ACTION_SPECS
from inference.base import EngineError
from lsp_server import late_stats
from lsp_server.documents import open_document
from lsp_server.features.codechat.arguments import ChatRequest
from lsp_server.protocol import CHAT_PROGRESS_NOTIFICATION, ChatProgress, StatusRequest
from lsp_server.server import TandemServer

log = logging.getLogger(__name__)

_INTERVAL_S = 0.05


class ProgressReporter:
    """`$/progress` on a server-created token (when the client supports it) plus
    ``tandem/chatProgress`` under the same token; `end` is idempotent."""

    def __init__(self, ls: TandemServer, req: ChatRequest, token: str) -> None:
        self.ls, self.req, self.token = ls, req, token
        self.work_done = False
        self.ended = False
        self._last = 0.0

    async def begin(self, on_cancel: Callable[[], None]) -> None:
        ls = self.ls
        window = ls.client_capabilities.window
        if not (window and window.work_done_progress):
            return
        try:
            await asyncio.wait_for(
                ls.work_done_progress.create_async(self.token),
                ls.settings.client_request_timeout_s,
            )
        except Exception as exc:  # noqa: BLE001 - a timeout, or a client that answers oddly
            log.info("window/workDoneProgress/create not answered (%s); no $/progress", exc)
            return
        self.work_done = True
        title = f"Tandem: {ACTION_SPECS[self.req.action].label}"
        ls.work_done_progress.begin(
            self.token, types.WorkDoneProgressBegin(title=title, cancellable=True, message="…")
        )
        cancelled = ls.work_done_progress.tokens.get(self.token)
        if cancelled is not None:  # window/workDoneProgress/cancel cancels this future
            cancelled.add_done_callback(lambda f: f.cancelled() and on_cancel())

    def text(self, visible: str) -> None:
        now = time.monotonic()
        if now - self._last < _INTERVAL_S:
            return
        self._last = now
        self._send(visible, done=False)
        if self.work_done:
            tail = visible.strip().rsplit("\n", 1)[-1][-120:]
            self._safely(
                "report",
                lambda: self.ls.work_done_progress.report(
                    self.token, types.WorkDoneProgressReport(message=tail)
                ),
            )

    def end(self, final_text: str, message: str) -> None:
        if self.ended:
            return
        self.ended = True
        self._send(final_text, done=True)
        if self.work_done:
            self._safely(
                "end",
                lambda: self.ls.work_done_progress.end(
                    self.token, types.WorkDoneProgressEnd(message=message[:200])
                ),
            )
            self.ls.work_done_progress.tokens.pop(self.token, None)

    def _send(self, text: str, done: bool) -> None:
        params = ChatProgress(
            token=self.token, text=text, done=done, action=self.req.action, uri=self.req.uri
        )
        self._safely(
            "chatProgress", lambda: self.ls.protocol.notify(CHAT_PROGRESS_NOTIFICATION, params)
        )

    @staticmethod
    def _safely(what: str, send: Callable[[], object]) -> None:
        try:
            send()
        except Exception as exc:  # noqa: BLE001 - the transport may be gone at exit
            log.debug("could not send %s progress: %s", what, exc)


async def run_with_progress(ls: TandemServer, req: ChatRequest, token: str) -> ChatOutcome:
    """Run `req` and report it; cancelling the calling task cancels the generation."""
    t0 = time.perf_counter()
    task = asyncio.current_task()
    progress = ProgressReporter(ls, req, token)
    visible = ""

    def on_text(_delta: str, so_far: str) -> None:
        nonlocal visible
        visible = so_far
        progress.text(so_far)

    ls.send_status("generating", f"codechat: {req.action}")
    try:
        await progress.begin(lambda: task.cancel() if task is not None else None)
        outcome = await _generate(ls, req, on_text)
    except asyncio.CancelledError:
        progress.end(visible, "cancelled")
        ls.send_status("ready", f"codechat {req.action} cancelled")
        log.info("codechat %s cancelled; nothing changed", req.action)
        raise
    except Exception as exc:  # a bug: say so, end everything, keep serving
        log.exception("codechat %s failed unexpectedly", req.action)
        outcome = ChatOutcome(
            False, f"internal error ({type(exc).__name__}: {exc}); nothing was changed",
            "internal_error",
        )  # fmt: skip
    progress.end(outcome.markdown or visible, outcome.message)
    failed = outcome.reason in ("engine_error", "internal_error")
    request = StatusRequest(
        kind="codechat",
        action=req.action,
        latencyMs=round((time.perf_counter() - t0) * 1000, 1),
        cached=False,
        stats=outcome.stats or {},
    )
    ls.send_status("error" if failed else "ready", outcome.message, request=request)
    late_stats.follow(ls, request, outcome.generation_stats, count=False)
    log.info("codechat %s: %s", req.action, outcome.message)
    return outcome


async def _generate(ls: TandemServer, req: ChatRequest, on_text) -> ChatOutcome:
    settings = ls.settings
    try:
        engine = await ls.engines.get(settings)
    except EngineError as exc:
        return ChatOutcome(False, f"the model is unavailable: {exc}", "engine_error")
    outcome = await run_task(
        engine,
        req.task,
        prompt_format=settings.prompt_format,
        max_tokens=settings.chat_max_tokens,
        temperature=settings.temperature,
        on_text=on_text,
        read_file=lambda path: read_document(ls, path),
    )
    # the model worked on masked text: its edit is turned into one of the real document
    return restore_outcome(outcome, req.secrets, req.task.text, req.source or req.task.text)


def read_document(ls: TandemServer, path: str) -> str | None:
    """An existing file's text: the editor's buffer when open, else the disk (read only; the
    runner only asks for paths it has checked are inside the workspace)."""
    uri = uris.from_fs_path(path)
    doc = open_document(ls.workspace, uri) if uri else None
    if doc is not None:
        return doc.source
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None
