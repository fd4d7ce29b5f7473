"""After the model: checked outcome → version check → WorkspaceEdit → workspace/applyEdit.

The server never writes a file itself: every change, a new test file included, is an edit the
editor applies (or refuses, leaving nothing behind).
"""

from __future__ import annotations

import asyncio
import logging

from lsprotocol import types
from pygls import uris

from codechat.runner import ChatOutcome
from codechat.tasks import ACTION_SPECS
from lsp_server.features.codechat.arguments import ChatRequest, stale_message
from lsp_server.features.codechat.presentation import present
from lsp_server.features.codechat.progress import run_with_progress
from lsp_server.features.codechat.workspace_edit import (
    CannotCreate,
    EditTarget,
    build_workspace_edit,
)
from lsp_server.protocol import CodeChatResult, code_chat_result
from lsp_server.server import TandemServer

log = logging.getLogger(__name__)


async def run_in_background(ls: TandemServer, req: ChatRequest, token: str) -> None:
    """A command's run after its immediate answer: generate, apply, present the outcome once."""
    try:
        result = await run_and_apply(ls, req, token)
    except asyncio.CancelledError:  # progress cancel, or shutdown
        result = code_chat_result(
            False, "cancelled; nothing was changed", reason="cancelled", applied=_applied(req)
        )
    except Exception as exc:  # a bug after the generation: say so, keep serving
        log.exception("codechat %s failed unexpectedly", req.action)
        result = code_chat_result(
            False, f"internal error ({type(exc).__name__}: {exc})", reason="internal_error",
            applied=_applied(req),
        )  # fmt: skip
    present(ls, req.action, req.uri, token, result)


async def run_and_apply(ls: TandemServer, req: ChatRequest, token: str) -> CodeChatResult:
    outcome = await run_with_progress(ls, req, token)
    if not outcome.ok:
        return code_chat_result(  # markdown: an answer cut where the model looped
            False, outcome.message, reason=outcome.reason, applied=_applied(req),
            markdown=outcome.markdown,
        )  # fmt: skip
    if not ACTION_SPECS[req.action].edits:
        return code_chat_result(True, outcome.message, markdown=outcome.markdown)
    edit_or_failure = checked_edit(ls, req, outcome)
    if not isinstance(edit_or_failure, types.WorkspaceEdit):
        return edit_or_failure
    label = f"Tandem: {ACTION_SPECS[req.action].label}"
    try:
        answer = await ls.request_client(
            types.WORKSPACE_APPLY_EDIT,
            types.ApplyWorkspaceEditParams(edit=edit_or_failure, label=label),
        )
    except TimeoutError:
        msg = "the editor did not answer workspace/applyEdit in time; the edit may not be applied"
        return code_chat_result(False, msg, reason="timeout", applied=False)
    except Exception as exc:  # noqa: BLE001 - the client answered with an error
        msg = f"workspace/applyEdit failed: {exc}"
        return code_chat_result(False, msg, reason="apply_failed", applied=False)
    if not getattr(answer, "applied", False):
        why = getattr(answer, "failure_reason", None) or "the editor refused the edit"
        msg = f"not applied: {why}; nothing was changed"
        return code_chat_result(False, msg, reason="apply_refused", applied=False)
    for uri in created_files(outcome):
        await show_document(ls, uri)
    return code_chat_result(True, outcome.message, applied=True)


def checked_edit(
    ls: TandemServer, req: ChatRequest, outcome: ChatOutcome
) -> types.WorkspaceEdit | CodeChatResult:
    """The edit for a successful outcome, if the document is still where it was."""
    stale = _stale(ls, req)
    if stale:
        return code_chat_result(False, stale, reason="stale", applied=False)
    try:
        return build_workspace_edit(edit_target(ls, req), outcome.files)
    except CannotCreate as exc:
        fence = f"```{req.task.language_id}\n{exc.content.rstrip()}\n```"
        return code_chat_result(
            False, str(exc), reason="cannot_create", applied=False, markdown=fence
        )


def edit_target(ls: TandemServer, req: ChatRequest) -> EditTarget:
    ws_caps = ls.client_capabilities.workspace
    return EditTarget(
        uri=req.uri,
        path=req.task.path,
        version=req.version,
        open_versions={uri: doc.version for uri, doc in ls.workspace.text_documents.items()},
        encoding=ls.workspace.position_encoding or types.PositionEncodingKind.Utf16,
        capabilities=ws_caps.workspace_edit if ws_caps else None,
    )


def _stale(ls: TandemServer, req: ChatRequest) -> str | None:
    if req.uri not in ls.workspace.text_documents:
        return "the document was closed; nothing was changed"
    now = ls.workspace.get_text_document(req.uri).version
    if req.version is not None and now is not None and now != req.version:
        return stale_message(req.version, now)
    return None


def _applied(req: ChatRequest) -> bool | None:
    return False if ACTION_SPECS[req.action].edits else None


def created_files(outcome: ChatOutcome) -> list[str]:
    """URIs of the files the outcome's edit creates."""
    return [uris.from_fs_path(fc.path) or fc.path for fc in outcome.files if fc.create]


async def show_document(ls: TandemServer, uri: str) -> None:
    """Show a file that was just created, so its content is not left in a hidden, unsaved
    buffer (Neovim). Only files of this workspace that the editor already has open."""
    window = ls.client_capabilities.window
    if not (window and window.show_document and window.show_document.support):
        return
    try:
        await ls.request_client(
            types.WINDOW_SHOW_DOCUMENT, types.ShowDocumentParams(uri=uri, take_focus=True)
        )
    except Exception as exc:  # noqa: BLE001 - eglot/lsp-mode answer null; timeouts
        log.info("window/showDocument %s not answered: %s", uri, exc)
