"""CodeChat over LSP: commands ``tandem.refactor|tests|docs|explain|ask`` and code actions.

The request path (protocol in `lsp_server.protocol`):

1. `arguments` turns the argument object into a `ChatRequest` (InvalidParams on bad types);
2. the command answers AT ONCE (``pending`` + ``token``; Eglot times requests out after 10 s)
   and `apply.run_in_background` runs the rest;
3. `progress.run_with_progress` generates through `codechat.run_task`, streaming
   ``tandem/chatProgress`` and ``$/progress``, always ended;
4. `apply` checks the version, builds the edit (`workspace_edit`, pure; new files via
   CreateFile) and sends workspace/applyEdit;
5. `presentation.present` shows the outcome once (``tandem/chatResult`` or one message).

``codeAction/resolve`` runs steps 1, 3 and the edit of 4 inside the request and returns the edit.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from lsprotocol import types
from pygls import uris
from pygls.exceptions import JsonRpcInvalidParams

from codechat.scope import function_at
from codechat.tasks import ACTION_SPECS, ACTIONS, Action
from codechat.testfiles import OutsideWorkspace, contained_path
from inference.base import ANSWER_BY
from lsp_server.documents import DocumentUnavailable, snapshot
from lsp_server.features.codechat.apply import (
    checked_edit,
    created_files,
    run_in_background,
    show_document,
)
from lsp_server.features.codechat.arguments import (
    Unservable,
    command_argument,
    parse_request,
    position_offset,
    workspace_roots,
)
from lsp_server.features.codechat.presentation import present, shows_chat_results, user_text
from lsp_server.features.codechat.progress import run_with_progress
from lsp_server.positions import PositionError
from lsp_server.protocol import (
    CODECHAT_ACTION_KINDS,
    OPEN_FILE_COMMAND,
    CodeChatResult,
    code_chat_result,
)
from lsp_server.server import RECEIVED_AT, TandemServer


def register(server: TandemServer, client_capabilities: types.ClientCapabilities) -> None:
    """Commands for everyone; code actions as literals (resolved when the client resolves
    edits) or as bare commands, following the client's codeAction capabilities."""
    for action in ACTIONS:
        server.command(f"tandem.{action}")(_command_handler(action))
    server.command(OPEN_FILE_COMMAND)(open_file)
    td = client_capabilities.text_document
    ca = td.code_action if td else None
    literal = bool(ca and ca.code_action_literal_support)
    resolves = bool(literal and ca.resolve_support and "edit" in ca.resolve_support.properties)
    options = types.CodeActionOptions(
        code_action_kinds=list(CODECHAT_ACTION_KINDS.values()) if literal else None,
        resolve_provider=resolves,
    )

    def code_actions(ls: TandemServer, params: types.CodeActionParams) -> list[Any] | None:
        return _code_actions(ls, params, literal=literal, resolves=resolves)

    server.feature(types.TEXT_DOCUMENT_CODE_ACTION, options)(code_actions)
    if resolves:
        server.feature(types.CODE_ACTION_RESOLVE)(resolve_code_action)


def _command_handler(action: Action) -> Callable:
    async def handler(ls: TandemServer, *args: Any) -> CodeChatResult:
        _answer_by(ls)  # this task's context: the background run below inherits it
        try:
            req = parse_request(
                action,
                args,
                ls.workspace,
                ls.settings.max_document_bytes,
                ls.settings.exclude_globs,
            )
        except Unservable as exc:
            result = code_chat_result(False, str(exc), reason=exc.reason)  # type: ignore[arg-type]
            if not shows_chat_results(ls.client_capabilities):
                ls.notify_user(user_text(action, result), types.MessageType.Warning)
            return result
        token = f"tandem-{action}-{uuid.uuid4().hex[:12]}"
        run = asyncio.ensure_future(run_in_background(ls, req, token))
        key = f"codechat:{token}"  # shutdown cancels everything in `inflight`
        ls.inflight[key] = run
        run.add_done_callback(lambda _: ls.inflight.pop(key, None))
        label = ACTION_SPECS[action].label
        return code_chat_result(True, f"{label} started", token=token, pending=True)

    handler.__name__ = f"codechat_{action}"
    return handler


def _answer_by(ls: TandemServer) -> None:
    """The whole answer is due `chatTimeoutS` after the request arrived (the engine's own
    limits, such as the first token's, count from when it starts)."""
    received = RECEIVED_AT.get() or time.perf_counter()
    left = ls.settings.chat_timeout_s - (time.perf_counter() - received)
    ANSWER_BY.set(asyncio.get_running_loop().time() + left)


def _code_actions(
    ls: TandemServer, params: types.CodeActionParams, *, literal: bool, resolves: bool
) -> list[Any] | None:
    only = params.context.only
    if only is not None and not all(isinstance(o, str) for o in only):
        raise JsonRpcInvalidParams(f"context.only must be a list of strings, not {only!r}")
    uri = params.text_document.uri
    try:
        doc = snapshot(ls.workspace, uri, ls.settings.max_document_bytes, ls.settings.exclude_globs)
    except DocumentUnavailable:
        return None
    if not ls.settings.enabled_for(doc.language_id):
        return None
    if not _worth_offering(ls, doc, params):
        return None
    arg = command_argument(uri, doc.version, params.range)
    out: list[Any] = []
    for action, kind in CODECHAT_ACTION_KINDS.items():
        if only and not any(kind == o or kind.startswith(o + ".") for o in only):
            continue
        title = f"Tandem: {ACTION_SPECS[action].label}"
        command = types.Command(title=title, command=f"tandem.{action}", arguments=[dict(arg)])
        if not literal:
            out.append(command)
        elif resolves and ACTION_SPECS[action].edits:
            out.append(types.CodeAction(title=title, kind=kind, data={"action": action, **arg}))
        else:
            out.append(types.CodeAction(title=title, kind=kind, command=command))
    return out


def _worth_offering(ls: TandemServer, doc, params: types.CodeActionParams) -> bool:
    """Asked automatically (VS Code's light bulb, on every cursor move), offer the actions only
    with a selection or inside a function: not a light bulb on every line. Asked by the user
    (Ctrl+., a menu; clients that send no trigger kind), always offer them."""
    if params.context.trigger_kind != types.CodeActionTriggerKind.Automatic:
        return True
    r = params.range
    if r.start != r.end:
        return True
    enc = ls.workspace.position_encoding or types.PositionEncodingKind.Utf16
    try:
        offset = position_offset(doc.text, doc.lines, r.start, enc)
    except PositionError:
        return False
    return function_at(doc.language_id, doc.text, offset) is not None


async def resolve_code_action(ls: TandemServer, action: types.CodeAction) -> types.CodeAction:
    """The edit of a Tandem code action; the model runs inside this request. Nothing is applied
    or written here: the client applies the returned edit if the user picks the action."""
    data = action.data if isinstance(action.data, dict) else None
    name = data.get("action") if data else None
    if name not in ACTIONS or not ACTION_SPECS[name].edits or action.edit:
        return action
    arg = {k: v for k, v in data.items() if k != "action"}
    token = f"tandem-{name}-{uuid.uuid4().hex[:12]}"
    _answer_by(ls)
    try:
        req = parse_request(
            name, arg, ls.workspace, ls.settings.max_document_bytes, ls.settings.exclude_globs
        )
    except Unservable as exc:
        present(
            ls,
            name,
            arg.get("uri", ""),
            token,
            code_chat_result(False, str(exc), reason=exc.reason),
        )  # type: ignore[arg-type]
        return action
    outcome = await run_with_progress(ls, req, token)
    if not outcome.ok:
        result = code_chat_result(False, outcome.message, reason=outcome.reason, applied=False)
        present(ls, name, req.uri, token, result)
        return action
    edit = checked_edit(ls, req, outcome)
    if isinstance(edit, types.WorkspaceEdit):
        action.edit = edit
        for uri in created_files(outcome):  # run by the client after it applied the edit
            action.command = types.Command(
                title="Open the new file", command=OPEN_FILE_COMMAND, arguments=[{"uri": uri}]
            )
    else:
        present(ls, name, req.uri, token, edit)
    return action


async def open_file(ls: TandemServer, *args: Any) -> None:
    """``tandem.openFile {uri}``: show a file a CodeChat edit created. Only a file inside the
    workspace folders (when there are any); anything else is InvalidParams."""
    uri = args[0].get("uri") if len(args) == 1 and isinstance(args[0], dict) else None
    path = uris.to_fs_path(uri) if isinstance(uri, str) and uri.startswith("file:") else None
    if path is None:
        raise JsonRpcInvalidParams(f"expected one {{uri}} with a file: URI, not {args!r}")
    roots = workspace_roots(ls.workspace)
    if roots:
        try:
            contained_path(path, roots)
        except OutsideWorkspace as exc:
            raise JsonRpcInvalidParams(str(exc)) from exc
    await show_document(ls, uri)
