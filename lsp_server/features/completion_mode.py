"""`completionMode` at run time: which of inline / plain completion answer, without a restart.

At initialize the server advertises what the mode wanted then (completions.register).
When the setting changes, a kind the client was not told about is added with
client/registerCapability (VS Code, Neovim and most clients support dynamic registration), one no
longer wanted is unregistered, and every request checks `active_kinds` so a statically
advertised kind that is now off answers nothing.
"""

from __future__ import annotations

import logging
import uuid

from lsprotocol import types

from lsp_server.server import TandemServer

log = logging.getLogger(__name__)

_METHODS = {
    "inline": types.TEXT_DOCUMENT_INLINE_COMPLETION,
    "completion": types.TEXT_DOCUMENT_COMPLETION,
}
TRIGGER_CHARACTERS = [".", "(", " ", "\n"]


def wanted_kinds(mode: str, client_has_inline: bool) -> set[str]:
    """Pure: the request kinds that answer under `mode`."""
    if mode == "both":
        return {"inline", "completion"}
    if mode == "inline":
        return {"inline"}
    if mode == "completion":
        return {"completion"}
    return {"inline"} if client_has_inline else {"completion"}


def _client_has_inline(ls: TandemServer) -> bool:
    td = ls.client_capabilities.text_document
    return bool(td and td.inline_completion)


def active_kinds(ls: TandemServer) -> set[str]:
    return wanted_kinds(ls.settings.completion_mode, _client_has_inline(ls))


def _dynamic_ok(ls: TandemServer, kind: str) -> bool:
    td = ls.client_capabilities.text_document
    cap = None
    if td is not None:
        cap = td.inline_completion if kind == "inline" else td.completion
    return bool(cap and cap.dynamic_registration)


def _options(kind: str):
    if kind == "inline":
        return types.InlineCompletionRegistrationOptions(document_selector=None)
    return types.CompletionRegistrationOptions(
        document_selector=None, trigger_characters=TRIGGER_CHARACTERS, resolve_provider=False
    )


async def apply(ls: TandemServer) -> None:
    """Bring the client's registrations in line with the current completionMode."""
    from lsp_server.features import completions  # the handlers (imported late: no cycle)

    handlers = {"inline": completions.inline_completion, "completion": completions.completion}
    static: set[str] = ls.__dict__.setdefault("_static_kinds", set())
    dynamic: dict[str, str] = ls.__dict__.setdefault("_dynamic_kinds", {})
    want = active_kinds(ls)
    for kind in sorted(want):
        if kind in static or kind in dynamic:
            continue
        if not _dynamic_ok(ls, kind):
            log.warning(
                "completionMode %r: this editor cannot add %s completion at run time; restart "
                "the server to apply it", ls.settings.completion_mode, kind,
            )  # fmt: skip
            continue
        method = _METHODS[kind]
        if method not in ls.protocol.fm.features:
            ls.feature(method)(handlers[kind])
        reg_id = str(uuid.uuid4())
        reg = types.Registration(id=reg_id, method=method, register_options=_options(kind))
        try:
            await ls.request_client(
                types.CLIENT_REGISTER_CAPABILITY, types.RegistrationParams(registrations=[reg])
            )
        except (TimeoutError, Exception) as exc:
            log.warning("could not register %s completion: %s", kind, exc)
            continue
        dynamic[kind] = reg_id
        log.info("%s completion on (completionMode %s)", kind, ls.settings.completion_mode)
    for kind in sorted(set(dynamic) - want):
        reg_id = dynamic.pop(kind)
        unreg = types.Unregistration(id=reg_id, method=_METHODS[kind])
        try:
            await ls.request_client(
                types.CLIENT_UNREGISTER_CAPABILITY,
                types.UnregistrationParams(unregisterations=[unreg]),
            )
        except (TimeoutError, Exception) as exc:
            log.warning("could not unregister %s completion: %s", kind, exc)


def remember_static(ls: TandemServer) -> None:
    """Call after initialize's registration: the kinds advertised in the capabilities."""
    fm = ls.protocol.fm.features
    ls.__dict__["_static_kinds"] = {k for k, m in _METHODS.items() if m in fm}
