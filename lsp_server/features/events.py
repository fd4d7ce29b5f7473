"""Suggestion events from the editors, snooze, and what they add to `tandem/status`.

Clients report what happened to a suggestion by its id (each returned item carries one in its
`command`'s argument, see lsp_server/protocol.py): `tandem/didShowCompletion`,
`tandem/didAcceptCompletion`, `tandem/didPartiallyAcceptCompletion`. Clients that only run an
item's command on accept (Emacs, LSP4IJ, Neovim 0.12's built-in) reach the same code through the
`tandem.completionAccepted` command. The counters live in `SessionStats`; each event is also
appended to the local events log (`tandem stats`). Nothing leaves the machine.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from lsp_server.protocol import (
    ACCEPT_COMMAND,
    DID_ACCEPT_NOTIFICATION,
    DID_PARTIALLY_ACCEPT_NOTIFICATION,
    DID_SHOW_NOTIFICATION,
    SNOOZE_COMMAND,
)
from lsp_server.server import TandemServer
from lsp_server.session_stats import Suggestion

log = logging.getLogger(__name__)

#: Snooze length when the client gives none.
DEFAULT_SNOOZE_MINUTES = 30.0


def _id_of(params: Any) -> Any:
    if isinstance(params, dict):
        return params.get("id")
    return getattr(params, "id", None)


def _field(params: Any, name: str) -> Any:
    if isinstance(params, dict):
        return params.get(name)
    return getattr(params, name, None)


def register(server: TandemServer, client_capabilities: types.ClientCapabilities) -> None:
    """Suggestion events and snooze work with every client; nothing to declare."""
    del client_capabilities

    @server.feature(DID_SHOW_NOTIFICATION)
    def did_show(ls: TandemServer, params: Any) -> None:
        shown(ls, _id_of(params))

    @server.feature(DID_ACCEPT_NOTIFICATION)
    def did_accept(ls: TandemServer, params: Any) -> None:
        accepted(ls, _id_of(params))

    @server.feature(DID_PARTIALLY_ACCEPT_NOTIFICATION)
    def did_partially_accept(ls: TandemServer, params: Any) -> None:
        partially_accepted(ls, _id_of(params), _field(params, "acceptedLength"))

    @server.command(ACCEPT_COMMAND)
    def accept_command(ls: TandemServer, *args: Any) -> None:
        accepted(ls, _id_of(args[0]) if args else None)

    @server.command(SNOOZE_COMMAND)
    def snooze_command(ls: TandemServer, *args: Any) -> dict:
        return snooze(ls, snooze_minutes(args))


def shown(ls: TandemServer, sid: Any) -> None:
    item = ls.session.did_show(sid)
    if item is not None:
        ls.events.append("shown", id=item.id, language=item.language)


def _implicit_show(ls: TandemServer, sid: Any) -> None:
    """Accepting implies it was shown: clients without show events still get a right rate."""
    item = ls.session.lookup(sid)
    if item is not None and not item.shown:
        shown(ls, sid)


def accepted(ls: TandemServer, sid: Any) -> None:
    _implicit_show(ls, sid)
    before = ls.session.accepted_chars
    item = ls.session.did_accept(sid)
    if item is not None:
        _log(ls, "accepted", item, ls.session.accepted_chars - before)
        ls.send_status(ls.last_status.get("state", "ready"), ls.last_status.get("message", ""))


def partially_accepted(ls: TandemServer, sid: Any, length: Any) -> None:
    if isinstance(length, int) and length > 0:
        _implicit_show(ls, sid)
    before = ls.session.accepted_chars
    item = ls.session.did_partially_accept(sid, length)
    if item is not None:
        _log(ls, "partial", item, ls.session.accepted_chars - before)
        ls.send_status(ls.last_status.get("state", "ready"), ls.last_status.get("message", ""))


def _log(ls: TandemServer, event: str, item: Suggestion, chars: int) -> None:
    ls.events.append(event, id=item.id, language=item.language, chars=chars)


def snooze_minutes(args: Sequence[Any]) -> float:
    """The minutes of a `tandem.snooze` call: no argument (or `{}`) means the default; anything
    but `{"minutes": a non-negative number}` is InvalidParams (a typo must not snooze for 30
    minutes)."""
    if not args:
        return DEFAULT_SNOOZE_MINUTES
    if len(args) != 1 or not isinstance(args[0], dict):
        raise JsonRpcInvalidParams(f'tandem.snooze takes one {{"minutes": number}}, not {args!r}')
    minutes = args[0].get("minutes")
    if minutes is None:
        return DEFAULT_SNOOZE_MINUTES
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int | float)
        or not math.isfinite(minutes)
        or minutes < 0
    ):
        raise JsonRpcInvalidParams(
            f"snooze: minutes must be a non-negative number, not {minutes!r}"
        )
    return float(minutes)


def snooze(ls: TandemServer, minutes: Any) -> dict:
    """Suggestions off for `minutes` (0 ends a snooze). Returns the new status."""
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or minutes < 0:
        ls.notify_user(f"snooze: minutes must be a non-negative number, got {minutes!r}")
        return ls.last_status
    ls.snoozed_until = time.time() + 60 * minutes if minutes else 0.0
    if minutes:
        ls.send_status("snoozed", f"suggestions snoozed for {minutes:g} min")
    else:
        ls.send_status("ready", "snooze ended")
    return ls.last_status


def blocked_reason(ls: TandemServer, language_id: str) -> tuple[str, str] | None:
    """(status state, message) when suggestions are off for this language now, else None."""
    if ls.snoozed_until and time.time() < ls.snoozed_until:
        left = (ls.snoozed_until - time.time()) / 60
        return "snoozed", f"snoozed, {left:.0f} min left"
    ls.snoozed_until = 0.0
    s = ls.settings
    if not s.enabled:
        return "disabled", "suggestions disabled"
    if not s.enabled_for(language_id):
        return "disabled", f"disabled for {language_id}"
    return None


def record_suggestion(
    ls: TandemServer, language: str, kind: str, texts: list[str], request: dict
) -> list[str]:
    """Ids for the returned items, and one "suggestion" event for the request."""
    ids = []
    for text in texts:
        sid = ls.session.new_id()
        ls.session.record_suggestion(sid, language, len(text))
        ids.append(sid)
    stats = request.get("stats") or {}
    ls.events.append(
        "suggestion",
        id=ids[0] if ids else None,
        language=language,
        kind=kind,
        latencyMs=request.get("latencyMs"),
        cached=bool(request.get("cached")),
        chars=len(texts[0]) if texts else 0,
        candidates=len(texts),
        strategy=stats.get("strategy"),
        draftedTokens=stats.get("drafted_tokens", 0),
        acceptedTokens=stats.get("accepted_tokens", 0),
    )
    return ids


def accept_command_for(sid: str) -> types.Command:
    """The item's command: clients that run it on accept report the acceptance with it."""
    return types.Command(title="Tandem: accepted", command=ACCEPT_COMMAND, arguments=[{"id": sid}])
