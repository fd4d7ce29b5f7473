"""CodeChat over LSP: commands `tandem.refactor|tests|docs|explain|ask` and code actions.

Each command takes ONE argument object::

    {"uri": str, "range"?: Range, "position"?: Position, "instruction"?: str, "version"?: int}

No range: the function enclosing `position`, else the whole file. The result is
``{"ok": bool, "message": str, "markdown"?: str, "applied"?: bool, "reason"?: str}``.

Edits are checked by `codechat` first, then sent as minimal TextEdits through
`workspace/applyEdit` (or returned from `codeAction/resolve` when the client resolves edits),
and only while the document is still at the version the request was made against. Work is
reported through `$/progress` and `tandem/chatProgress`, and cancelled by `$/cancelRequest` or
`window/workDoneProgress/cancel`. Every server→client request is bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lsprotocol import types
from pygls import uris

from codechat import ChatTask, run_task
from codechat.runner import ChatOutcome, FileChange
from codechat.scope import enclosing_span
from completion.types import lsp_lines
from inference.base import EngineError
from lsp_server.documents import DocumentUnavailable, snapshot
from lsp_server.engine_manager import EngineManager
from lsp_server.positions import PositionError, split_lines, to_index, to_position
from lsp_server.protocol import (
    CHAT_PROGRESS_NOTIFICATION,
    CODECHAT_ACTION_KINDS,
    CODECHAT_COMMANDS,
    TEST_ENGINE_FACTORY_ENV,
)
from lsp_server.server import TandemServer

log = logging.getLogger(__name__)

_TITLES = {
    "refactor": "Tandem: Refactor",
    "tests": "Tandem: Generate tests",
    "docs": "Tandem: Generate docs",
    "explain": "Tandem: Explain",
    "ask": "Tandem: Ask",
}
#: Work-done tokens the client sent with executeCommand, by request id (pygls spreads the
#: command's arguments over the handler and drops the rest of the params).
_client_tokens: dict[Any, Any] = {}
_PROGRESS_INTERVAL_S = 0.05


# ---------------------------------------------------------------------------------------------
# registration


def register(server: TandemServer) -> None:
    _install_test_engine(server)
    for command, action in CODECHAT_COMMANDS.items():
        server.command(command)(_command_handler(action))
    _capture_work_done_tokens(server)
    server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=list(CODECHAT_ACTION_KINDS.values()), resolve_provider=True
        ),
    )(code_actions)
    server.feature(types.CODE_ACTION_RESOLVE)(resolve_code_action)


def _install_test_engine(server: TandemServer) -> None:
    """Tests only: `TANDEM_TEST_ENGINE_FACTORY=module:function` builds the engine instead of
    the settings (a stand-in that answers known-good or known-bad code). Never a user setting."""
    spec = os.environ.get(TEST_ENGINE_FACTORY_ENV)
    if not spec:
        return
    module, _, func = spec.partition(":")
    factory = getattr(importlib.import_module(module), func)
    server.engines = EngineManager(builder=lambda s: (factory(s), f"test engine from {spec}"))
    log.warning("using the test engine factory %s (%s is set)", spec, TEST_ENGINE_FACTORY_ENV)


def _capture_work_done_tokens(server: TandemServer) -> None:
    fm = server.protocol.fm
    original = fm.builtin_features[types.WORKSPACE_EXECUTE_COMMAND]

    def execute_command(params: types.ExecuteCommandParams):
        msg_id = server.protocol.msg_id
        if params.work_done_token is not None and msg_id is not None:
            _client_tokens[msg_id] = params.work_done_token
        try:
            return (yield from original(params))
        finally:
            _client_tokens.pop(msg_id, None)

    fm.builtin_features[types.WORKSPACE_EXECUTE_COMMAND] = execute_command


# ---------------------------------------------------------------------------------------------
# requests


class BadRequest(Exception):
    """The arguments cannot be served; the message says why."""


@dataclass
class Request:
    action: str
    uri: str
    version: int | None
    task: ChatTask


def _parse_args(ls: TandemServer, action: str, args: tuple) -> Request:
    if len(args) != 1 or not isinstance(args[0], dict):
        raise BadRequest(
            "expected one argument object {uri, range?, position?, instruction?, version?}"
        )
    arg = args[0]
    uri = arg.get("uri")
    if not isinstance(uri, str):
        raise BadRequest("missing 'uri'")
    try:
        doc = snapshot(ls.workspace, uri, ls.settings.max_document_bytes)
    except DocumentUnavailable as exc:
        raise BadRequest(str(exc)) from exc
    version = arg.get("version", doc.version)
    if version is not None and doc.version is not None and version != doc.version:
        raise BadRequest(_stale(version, doc.version), "stale")
    lines = split_lines(doc.text)
    enc = ls.workspace.position_encoding
    try:
        if arg.get("range"):
            r = ls.protocol._converter.structure(arg["range"], types.Range)  # noqa: SLF001
            start, end = (
                _offset(doc.text, lines, r.start, enc),
                _offset(doc.text, lines, r.end, enc),
            )
            if end < start:
                start, end = end, start
        elif arg.get("position"):
            p = ls.protocol._converter.structure(arg["position"], types.Position)  # noqa: SLF001
            start, end = enclosing_span(doc.language_id, doc.text, _offset(doc.text, lines, p, enc))
        else:
            start, end = 0, len(doc.text)
    except (PositionError, TypeError, ValueError, KeyError) as exc:
        raise BadRequest(f"bad range/position: {exc}") from exc
    instruction = arg.get("instruction") or ""
    if not isinstance(instruction, str):
        raise BadRequest("'instruction' must be a string")
    path = uris.to_fs_path(uri) or uri
    task = ChatTask(action, path, doc.language_id, doc.text, start, end, instruction)  # type: ignore[arg-type]
    return Request(action, uri, version, task)


def _offset(text: str, lines: list[str], pos: types.Position, enc: str) -> int:
    """Code-point offset of an LSP position (`lines` from split_lines, without line ends)."""
    line, col = to_index(lines, pos, enc)
    return sum(len(raw) for raw in lsp_lines(text, keepends=True)[:line]) + col


def _stale(asked: int, now: int | None) -> str:
    return (
        f"the document changed (version {asked} → {now}) since the request was made; nothing "
        "was changed. Run the command again."
    )


def _result(ok: bool, message: str, **extra: Any) -> dict:
    out = {"ok": ok, "message": message}
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


def _command_handler(action: str) -> Callable:
    async def handler(ls: TandemServer, *args: Any) -> dict:
        msg_id = ls.protocol.msg_id
        token = _client_tokens.get(msg_id)
        try:
            req = _parse_args(ls, action, args)
        except BadRequest as exc:
            reason = exc.args[1] if len(exc.args) > 1 else "bad_request"
            ls.notify_user(f"{_TITLES[action]}: {exc.args[0]}", types.MessageType.Error)
            return _result(False, str(exc.args[0]), reason=reason, applied=False)
        # The work runs in its own task: window/workDoneProgress/cancel cancels it and this
        # handler still answers; $/cancelRequest cancels pygls's future for executeCommand
        # (not this coroutine), so that is forwarded here too.
        inner = asyncio.ensure_future(_run_and_apply(ls, req, token))
        outer = ls.protocol._request_futures.get(msg_id)  # noqa: SLF001
        if outer is not None:
            outer.add_done_callback(lambda f: f.cancelled() and inner.cancel())
        try:
            return await asyncio.shield(inner)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                inner.cancel()
                raise
            return _result(
                False, "cancelled; nothing was changed", reason="cancelled", applied=False
            )

    handler.__name__ = f"codechat_{action}"
    return handler


async def _run_and_apply(ls: TandemServer, req: Request, token: Any) -> dict:
    outcome = await _run(ls, req, token)
    if not outcome.ok:
        ls.notify_user(f"{_TITLES[req.action]}: {outcome.message}", types.MessageType.Warning)
        applied = False if req.action not in ("explain", "ask") else None
        return _result(False, outcome.message, reason=outcome.reason, applied=applied)
    if req.action in ("explain", "ask"):
        await _show_markdown(ls, req, outcome.markdown or "")
        return _result(True, outcome.message, markdown=outcome.markdown)
    stale = _check_version(ls, req)
    if stale:
        ls.notify_user(f"{_TITLES[req.action]}: {stale}", types.MessageType.Error)
        return _result(False, stale, reason="stale", applied=False)
    edit = build_workspace_edit(ls, req, outcome.files)
    try:
        answer = await ls.request_client(
            types.WORKSPACE_APPLY_EDIT,
            types.ApplyWorkspaceEditParams(edit=edit, label=_TITLES[req.action]),
        )
    except TimeoutError:
        msg = "the editor did not answer workspace/applyEdit in time; the edit may not be applied"
        return _result(False, msg, reason="timeout", applied=False)
    except Exception as exc:  # noqa: BLE001 - the client answered with an error
        return _result(
            False, f"workspace/applyEdit failed: {exc}", reason="apply_failed", applied=False
        )
    applied = bool(getattr(answer, "applied", False))
    if not applied:
        why = getattr(answer, "failure_reason", None) or "the editor refused the edit"
        ls.notify_user(f"{_TITLES[req.action]}: {why}", types.MessageType.Error)
        return _result(False, f"not applied: {why}", reason="apply_refused", applied=False)
    return _result(True, outcome.message, applied=True)


def _check_version(ls: TandemServer, req: Request) -> str | None:
    if req.uri not in ls.workspace.text_documents:
        return "the document was closed; nothing was changed"
    now = ls.workspace.get_text_document(req.uri).version
    if req.version is not None and now is not None and now != req.version:
        return _stale(req.version, now)
    return None


# ---------------------------------------------------------------------------------------------
# running a task with progress


class Progress:
    """workDoneProgress (client token, or one we create) + tandem/chatProgress, throttled."""

    def __init__(self, ls: TandemServer, req: Request, token: Any) -> None:
        self.ls, self.req = ls, req
        self.token = token
        self.chat_token = token if token is not None else str(uuid.uuid4())
        self._last = 0.0
        self._pending = ""

    async def begin(self, on_cancel: Callable[[], None]) -> None:
        ls = self.ls
        if self.token is None:
            window = ls.client_capabilities.window
            if window and window.work_done_progress:
                token = str(uuid.uuid4())
                try:
                    await ls.request_client(
                        types.WINDOW_WORK_DONE_PROGRESS_CREATE,
                        types.WorkDoneProgressCreateParams(token=token),
                    )
                    self.token = token
                except Exception as exc:  # noqa: BLE001 - timeout or a client without it
                    log.info("window/workDoneProgress/create not answered: %s", exc)
        if self.token is None:
            return
        ls.work_done_progress.begin(
            self.token,
            types.WorkDoneProgressBegin(
                title=_TITLES[self.req.action], cancellable=True, message="generating…"
            ),
        )
        fut = ls.work_done_progress.tokens.get(self.token)
        if fut is not None:  # window/workDoneProgress/cancel cancels this future
            fut.add_done_callback(lambda f: f.cancelled() and on_cancel())

    def text(self, delta: str, visible: str) -> None:
        now = time.monotonic()
        if now - self._last < _PROGRESS_INTERVAL_S:
            return
        self._last = now
        self._send(visible, done=False)

    def _send(self, visible: str, done: bool) -> None:
        payload = {
            "token": self.chat_token,
            "text": visible,
            "done": done,
            "action": self.req.action,
            "uri": self.req.uri,
        }
        try:
            self.ls.protocol.notify(CHAT_PROGRESS_NOTIFICATION, payload)
            if self.token is not None and not done:
                tail = visible.strip().rsplit("\n", 1)[-1][-120:]
                self.ls.work_done_progress.report(
                    self.token, types.WorkDoneProgressReport(message=tail)
                )
        except Exception:  # noqa: BLE001 - the transport may be gone
            pass

    def end(self, visible: str, message: str) -> None:
        self._send(visible, done=True)
        if self.token is not None:
            try:
                self.ls.work_done_progress.end(
                    self.token, types.WorkDoneProgressEnd(message=message)
                )
            except Exception:  # noqa: BLE001
                pass
            self.ls.work_done_progress.tokens.pop(self.token, None)


async def _run(ls: TandemServer, req: Request, token: Any) -> ChatOutcome:
    t0 = time.perf_counter()
    task = asyncio.current_task()
    progress = Progress(ls, req, token)
    visible = [""]

    def on_text(delta: str, so_far: str) -> None:
        visible[0] = so_far
        progress.text(delta, so_far)

    await progress.begin(lambda: task.cancel() if task is not None else None)
    ls.send_status("generating", f"codechat: {req.action}")
    settings = ls.settings
    outcome: ChatOutcome
    try:
        try:
            engine = await ls.engines.get(settings)
        except EngineError as exc:
            outcome = ChatOutcome(False, f"the model is unavailable: {exc}", "engine_error")
        else:
            outcome = await run_task(
                engine,
                req.task,
                prompt_format=settings.prompt_format,
                max_tokens=settings.chat_max_tokens,
                temperature=settings.temperature,
                on_text=on_text,
                read_file=lambda path: _read_file(ls, path),
            )
    except asyncio.CancelledError:
        progress.end(visible[0], "cancelled")
        ls.send_status("ready", f"codechat {req.action} cancelled")
        log.info("codechat %s cancelled; nothing changed", req.action)
        raise
    progress.end(outcome.markdown or visible[0], outcome.message)
    ls.send_status(
        "ready" if outcome.reason != "engine_error" else "error",
        outcome.message,
        request={
            "kind": "codechat",
            "action": req.action,
            "latencyMs": round((time.perf_counter() - t0) * 1000, 1),
            "cached": False,
            "stats": outcome.stats or {},
        },
    )
    log.info("codechat %s: %s", req.action, outcome.message)
    return outcome


def _read_file(ls: TandemServer, path: str) -> str | None:
    uri = uris.from_fs_path(path)
    if uri and uri in ls.workspace.text_documents:
        return ls.workspace.get_text_document(uri).source
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


# ---------------------------------------------------------------------------------------------
# edits


def _text_edits(ls: TandemServer, fc: FileChange) -> list[types.TextEdit]:
    from codechat.diff import offset_to_line_col

    lines = split_lines(fc.old_text)
    enc = ls.workspace.position_encoding
    edits = []
    for c in fc.changes:
        sl, sc = offset_to_line_col(fc.old_text, c.start)
        el, ec = offset_to_line_col(fc.old_text, c.end)
        edits.append(
            types.TextEdit(
                range=types.Range(
                    start=to_position(lines, sl, sc, enc), end=to_position(lines, el, ec, enc)
                ),
                new_text=c.new_text,
            )
        )
    return edits


def build_workspace_edit(
    ls: TandemServer, req: Request, files: list[FileChange]
) -> types.WorkspaceEdit:
    """documentChanges (versioned; CreateFile when supported) or plain `changes`."""
    caps = ls.client_capabilities.workspace
    we = caps.workspace_edit if caps else None
    versioned = bool(we and we.document_changes)
    can_create = bool(
        versioned
        and we.resource_operations
        and types.ResourceOperationKind.Create in we.resource_operations
    )
    doc_changes: list[Any] = []
    changes: dict[str, list[types.TextEdit]] = {}
    for fc in files:
        uri = req.uri if fc.path == req.task.path else (uris.from_fs_path(fc.path) or fc.path)
        edits = _text_edits(ls, fc)
        version = None
        if uri in ls.workspace.text_documents:
            version = ls.workspace.get_text_document(uri).version
        if uri == req.uri:
            version = req.version if req.version is not None else version
        if fc.create:
            if can_create:
                doc_changes.append(
                    types.CreateFile(
                        uri=uri,
                        options=types.CreateFileOptions(overwrite=False, ignore_if_exists=True),
                    )
                )
            else:
                _create_empty(fc.path)
        if versioned:
            doc_changes.append(
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=uri, version=version
                    ),
                    edits=edits,
                )
            )
        else:
            changes[uri] = edits
    if versioned:
        return types.WorkspaceEdit(document_changes=doc_changes)
    return types.WorkspaceEdit(changes=changes)


def _create_empty(path: str) -> None:
    """Clients without resourceOperations cannot create files: make an empty one to edit."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    if not os.path.exists(path):
        open(path, "x", encoding="utf-8").close()


async def _show_markdown(ls: TandemServer, req: Request, markdown: str) -> None:
    """Explain/ask answers: a message the editor shows, and the full text as a .md document."""
    first = markdown.strip().split("\n\n", 1)[0]
    ls.notify_user(
        f"{_TITLES[req.action]}: {first[:400]}{'…' if len(first) > 400 else ''}",
        types.MessageType.Info,
    )
    window = ls.client_capabilities.window
    if not (window and window.show_document and window.show_document.support):
        return
    folder = os.path.join(tempfile.gettempdir(), "tandem-codechat")
    os.makedirs(folder, exist_ok=True)
    stem = os.path.splitext(os.path.basename(req.task.path))[0] or "answer"
    fd, path = tempfile.mkstemp(prefix=f"{req.action}-{stem}-", suffix=".md", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(markdown + "\n")
    try:
        await ls.request_client(
            types.WINDOW_SHOW_DOCUMENT,
            types.ShowDocumentParams(uri=uris.from_fs_path(path) or path, take_focus=False),
        )
    except Exception as exc:  # noqa: BLE001 - eglot/lsp-mode answer null; timeouts
        log.info("window/showDocument not answered: %s", exc)


# ---------------------------------------------------------------------------------------------
# code actions


def _kind_wanted(kind: str, only: list[str] | None) -> bool:
    return not only or any(kind == o or kind.startswith(o + ".") for o in only)


def _resolves_edits(ls: TandemServer) -> bool:
    td = ls.client_capabilities.text_document
    ca = td.code_action if td else None
    if not (ca and ca.code_action_literal_support and ca.resolve_support):
        return False
    return "edit" in (ca.resolve_support.properties or [])


def code_actions(ls: TandemServer, params: types.CodeActionParams) -> list[Any] | None:
    uri = params.text_document.uri
    try:
        doc = snapshot(ls.workspace, uri, ls.settings.max_document_bytes)
    except DocumentUnavailable:
        return None
    if not ls.settings.enabled_for(doc.language_id):
        return None
    r = params.range
    arg: dict[str, Any] = {"uri": uri, "version": doc.version}
    if r.start == r.end:
        arg["position"] = {"line": r.start.line, "character": r.start.character}
    else:
        arg["range"] = ls.protocol._converter.unstructure(r)  # noqa: SLF001
    literal = bool(
        ls.client_capabilities.text_document
        and ls.client_capabilities.text_document.code_action
        and ls.client_capabilities.text_document.code_action.code_action_literal_support
    )
    resolve = _resolves_edits(ls)
    out: list[Any] = []
    for action in ("refactor", "tests", "docs", "explain"):
        kind = CODECHAT_ACTION_KINDS[action]
        if not _kind_wanted(kind, params.context.only):
            continue
        command = types.Command(
            title=_TITLES[action], command=f"tandem.{action}", arguments=[dict(arg)]
        )
        if not literal:
            out.append(command)
        elif resolve and action != "explain":
            out.append(
                types.CodeAction(title=_TITLES[action], kind=kind, data={"action": action, **arg})
            )
        else:
            out.append(types.CodeAction(title=_TITLES[action], kind=kind, command=command))
    return out


async def resolve_code_action(ls: TandemServer, action: types.CodeAction) -> types.CodeAction:
    data = action.data if isinstance(action.data, dict) else None
    if not data or data.get("action") not in CODECHAT_COMMANDS.values() or action.edit:
        return action
    name = data["action"]
    arg = {k: v for k, v in data.items() if k != "action"}
    try:
        req = _parse_args(ls, name, (arg,))
    except BadRequest as exc:
        ls.notify_user(f"{_TITLES[name]}: {exc.args[0]}", types.MessageType.Error)
        return action
    outcome = await _run(ls, req, None)
    if not outcome.ok:
        ls.notify_user(f"{_TITLES[name]}: {outcome.message}", types.MessageType.Warning)
        return action
    stale = _check_version(ls, req)
    if stale:
        ls.notify_user(f"{_TITLES[name]}: {stale}", types.MessageType.Error)
        return action
    action.edit = build_workspace_edit(ls, req, outcome.files)
    return action
