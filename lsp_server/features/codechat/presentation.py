"""Showing a CodeChat outcome to the user, exactly once.

Clients that declare ``experimental.tandem.chatResult`` (the VS Code and Neovim plugins) get one
``tandem/chatResult`` notification and show it themselves (a Markdown preview, a float). Every
other client (Eglot, Helix, LSP4IJ) gets one ``window/showMessage`` with the same text: for
explain/ask the answer itself. No temporary files, no second copy.
"""

from __future__ import annotations

import logging

from lsprotocol import types

from codechat.tasks import ACTION_SPECS, Action
from lsp_server.protocol import (
    CHAT_RESULT_CAPABILITY,
    CHAT_RESULT_NOTIFICATION,
    ChatResult,
    CodeChatResult,
)
from lsp_server.server import TandemServer

log = logging.getLogger(__name__)


def shows_chat_results(caps: types.ClientCapabilities) -> bool:
    """Whether the client declared ``capabilities.experimental.tandem.chatResult = true``."""
    node = caps.experimental
    for key in CHAT_RESULT_CAPABILITY:
        node = node.get(key) if isinstance(node, dict) else None
    return node is True


def user_text(action: Action, result: CodeChatResult) -> str:
    """The one line (plus the answer) a user reads; `notify_user` adds the "Tandem: " prefix."""
    label = ACTION_SPECS[action].label
    body = result.get("markdown") if result["ok"] else None
    text = f"{label}: {body or result['message']}"
    if not result["ok"] and result.get("markdown"):  # cannot_create: the content to paste
        text += "\n\n" + result["markdown"]
    return text


def present(
    ls: TandemServer, action: Action, uri: str, token: str | None, result: CodeChatResult
) -> None:
    """Show the final outcome of a run: one chatResult notification, or one message."""
    if token is not None and shows_chat_results(ls.client_capabilities):
        params = ChatResult(
            token=token, action=action, uri=uri, ok=result["ok"], message=result["message"]
        )
        for key in ("markdown", "applied", "reason"):
            if key in result:
                params[key] = result[key]  # type: ignore[literal-required]
        try:
            ls.protocol.notify(CHAT_RESULT_NOTIFICATION, params)
        except Exception as exc:  # noqa: BLE001 - the transport may be gone at exit
            log.debug("could not send %s: %s", CHAT_RESULT_NOTIFICATION, exc)
        return
    kind = types.MessageType.Info if result["ok"] else types.MessageType.Warning
    ls.notify_user(user_text(action, result), kind)
