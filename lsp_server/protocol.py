"""Tandem's custom LSP methods: the one documented place for everything beyond the spec.

Server → client notifications
-----------------------------
``tandem/status`` — after every completion/CodeChat request and on engine state changes::

    {
      "state": "loading" | "ready" | "generating" | "error" | "disabled",
      "message": str,                # human-readable, e.g. the error
      "engine": "local" | "openai",
      "model": str,
      "request": {                   # absent for pure state changes
        "kind": "inline" | "completion" | "codechat",
        "latencyMs": float,          # request received → answer sent
        "cached": bool,              # served by typeahead, no model call
        "stats": {...}               # inference.base.GenerationStats.to_dict()
      }
    }

Editors show it in a status line: latency, tokens/s and speculative acceptance.

``tandem/chatProgress`` — streamed CodeChat text (also sent as workDoneProgress reports)::

    {"token": str | int, "text": str, "done": bool}

In ``tandem/chatProgress`` sent by CodeChat, ``text`` is the visible answer so far (replace,
don't append; ``<think>`` reasoning is hidden), and two fields are added: ``"action"`` and
``"uri"``. ``token`` is the workDoneProgress token when there is one, else a fresh id per run.

Commands (workspace/executeCommand)
-----------------------------------
``tandem.status`` returns the last status object.

CodeChat
--------
``tandem.refactor``, ``tandem.tests``, ``tandem.docs``, ``tandem.explain``, ``tandem.ask`` take
ONE argument object::

    {
      "uri": str,
      "range"?: Range,          # absent: the function enclosing "position", else the whole file
      "position"?: Position,
      "instruction"?: str,      # free-form; required for tandem.ask
      "version"?: int           # document version the request was made against
    }

and return::

    {"ok": bool, "message": str, "markdown"?: str, "applied"?: bool, "reason"?: str}

``markdown`` is set for explain/ask (also shown via window/showMessage and, where the client
supports window/showDocument, opened as a temporary .md file). ``reason`` when not ok:
"bad_request", "stale" (the document version moved on; nothing changed), "engine_error",
"rejected" (the answer failed a check: does not parse, docs edit changes code, refactor drops
a public name, tests don't import the module), "no_code", "no_change", "empty", "cancelled",
"too_large", "timeout", "apply_refused", "apply_failed". Edits arrive as minimal TextEdits via
workspace/applyEdit (documentChanges, versioned, with CreateFile for a new test file when the
client supports them). Send ``workDoneToken`` with the request to get ``$/progress``; otherwise
the server creates a token when the client supports window/workDoneProgress/create. Cancel with
``$/cancelRequest`` or ``window/workDoneProgress/cancel``: the generation stops, nothing changes.

Code actions (textDocument/codeAction, on a selection or the cursor's function): "Tandem:
Refactor" (``refactor.rewrite.tandem``), "Tandem: Generate tests" (``source.tandem.tests``),
"Tandem: Generate docs" (``refactor.rewrite.tandem.docs``), "Tandem: Explain"
(``source.tandem.explain``). Clients whose ``resolveSupport.properties`` include "edit" get the
edit from ``codeAction/resolve`` (``data`` carries the command argument plus "action"); the
others get a ``command`` that runs the work and applies via workspace/applyEdit. Explain is
always a command.
"""

from __future__ import annotations

STATUS_NOTIFICATION = "tandem/status"
CHAT_PROGRESS_NOTIFICATION = "tandem/chatProgress"
STATUS_COMMAND = "tandem.status"

#: CodeChat commands → codechat actions (see "CodeChat" above).
CODECHAT_COMMANDS = {
    "tandem.refactor": "refactor",
    "tandem.tests": "tests",
    "tandem.docs": "docs",
    "tandem.explain": "explain",
    "tandem.ask": "ask",
}
#: CodeActionKind per CodeChat code action.
CODECHAT_ACTION_KINDS = {
    "refactor": "refactor.rewrite.tandem",
    "tests": "source.tandem.tests",
    "docs": "refactor.rewrite.tandem.docs",
    "explain": "source.tandem.explain",
}
#: Tests only: "module:function" returning an Engine for the settings (a scripted stand-in).
TEST_ENGINE_FACTORY_ENV = "TANDEM_TEST_ENGINE_FACTORY"

# --- Suggestion events, snooze, session numbers and health (editors helper) ------------------
#
# Every suggestion the server returns (inline item or completion item) has an id, carried in the
# item's ``command``: ``{"command": "tandem.completionAccepted", "arguments": [{"id": "s12"}]}``.
# Clients report by id (notifications, client → server)::
#
#     tandem/didShowCompletion            {"id": str}     # drawn to the user (first time counts)
#     tandem/didAcceptCompletion          {"id": str}     # accepted whole
#     tandem/didPartiallyAcceptCompletion {"id": str, "acceptedLength": int}
#                                         # characters of the suggestion accepted so far (cumulative)
#
# Clients that just run the item's command on accept reach the same counter through
# ``tandem.completionAccepted`` (workspace/executeCommand, same argument). ``tandem.snooze`` takes
# ``{"minutes": number}`` (default 30; 0 ends the snooze) and returns the status.
#
# ``tandem/status`` (and the ``tandem.status`` command) also carry::
#
#     "state": ... | "snoozed",
#     "enabled": bool, "disabledLanguages": [str], "snoozedUntil": float | None (epoch s),
#     "session": {"suggestions", "shown", "accepted", "partiallyAccepted", "acceptedChars": int,
#                 "acceptanceRate": float | None, "latencyP50Ms": float | None,
#                 "latencyP90Ms": float | None, "speculativeAcceptance": float | None},
#     "health": {"state": "healthy" | "slow" | "error", "reason"?: str, "hint"?: str}
#
# Several candidates: an explicitly invoked inline completion (triggerKind 1, e.g. VS Code's
# "next suggestion", Neovim's cycle keys) returns up to the ``candidates`` setting of distinct
# items, the greedy one first; automatic requests while typing return one.

from typing import NotRequired, TypedDict  # noqa: E402

DID_SHOW_NOTIFICATION = "tandem/didShowCompletion"
DID_ACCEPT_NOTIFICATION = "tandem/didAcceptCompletion"
DID_PARTIALLY_ACCEPT_NOTIFICATION = "tandem/didPartiallyAcceptCompletion"
ACCEPT_COMMAND = "tandem.completionAccepted"
SNOOZE_COMMAND = "tandem.snooze"


class CompletionEventParams(TypedDict):
    id: str


class PartialAcceptParams(TypedDict):
    id: str
    acceptedLength: int


class SnoozeParams(TypedDict, total=False):
    minutes: float


class SessionSummary(TypedDict):
    suggestions: int
    shown: int
    accepted: int
    partiallyAccepted: int
    acceptedChars: int
    acceptanceRate: float | None
    latencyP50Ms: float | None
    latencyP90Ms: float | None
    speculativeAcceptance: float | None


class Health(TypedDict):
    state: str  # "healthy" | "slow" | "error"
    reason: NotRequired[str]
    hint: NotRequired[str]
