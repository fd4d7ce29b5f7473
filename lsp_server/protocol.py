"""Tandem's custom LSP messages: the one typed place for everything beyond the spec.

Every custom notification, command argument and command result is a TypedDict here, with the
keys exactly as they travel (camelCase). The server builds them through these types, and
tests/lsp_server/test_protocol.py checks the editors' copies against them: the VS Code
extension's `editors/vscode/src/protocol.ts` and the field names the Neovim plugin reads.

Server → client notifications
-----------------------------
``tandem/status`` (`Status`): after every completion/CodeChat request and on engine state
changes. Editors show it in a status line: latency, tokens/s and speculative acceptance.

``tandem/chatProgress`` (`ChatProgress`): streamed CodeChat text. ``text`` is the visible answer
so far (replace, don't append; ``<think>`` reasoning is hidden); the last one has ``done: true``
and its ``text`` is the final answer. ``token`` names the run (the `CodeChatResult.token`).

``tandem/chatResult`` (`ChatResult`): the outcome of one CodeChat run, sent exactly once per
run that started, and only to clients that declare
``capabilities.experimental.tandem.chatResult = true``. Other clients get the same outcome once
as ``window/showMessage`` instead (explain/ask: the answer itself).

Commands (workspace/executeCommand)
-----------------------------------
``tandem.status`` returns the last `Status`. ``tandem.openFile`` (`OpenFileArgs`) shows a file
that a CodeChat edit created; resolved code actions that create a test file carry it as their
command, which the client runs after applying the edit.

``tandem.refactor|tests|docs|explain|ask`` take ONE `CodeChatArgs` and answer AT ONCE with a
`CodeChatResult`: ``{"ok": true, "pending": true, "token": …, "message": "… started"}`` when the
run started, or ``ok: false`` with a ``reason`` when it cannot start ("stale", "bad_request").
Wrongly typed arguments are a JSON-RPC InvalidParams error (-32602). The work then streams
through ``$/progress`` (a token the server creates when the client supports
window/workDoneProgress/create; the same value as ``token``) and ``tandem/chatProgress``, and
ends with one `ChatResult`. Edits arrive through workspace/applyEdit (minimal, versioned
TextEdits; a new test file as CreateFile + its content, for clients whose
``workspaceEdit.resourceOperations`` include "create"). Cancel with
``window/workDoneProgress/cancel``: the generation stops, nothing changes.

Code actions (textDocument/codeAction): "Tandem: Refactor" (``refactor.rewrite.tandem``),
"Tandem: Generate tests" (``source.tandem.tests``), "Tandem: Generate docs"
(``refactor.rewrite.tandem.docs``), "Tandem: Explain" (``source.tandem.explain``). Clients that
resolve "edit" get the edit from ``codeAction/resolve`` (``data`` is a `CodeActionData`; the
resolve waits for the model, and ``$/cancelRequest`` cancels it); the others get the command.
"""

# No `from __future__ import annotations` here: TypedDict must see NotRequired[...] as a type,
# not a string, to tell required keys from optional ones (__required_keys__, checked by tests).
from typing import Any, Literal, NotRequired, TypedDict

from codechat.tasks import ACTIONS

STATUS_NOTIFICATION = "tandem/status"
CHAT_PROGRESS_NOTIFICATION = "tandem/chatProgress"
CHAT_RESULT_NOTIFICATION = "tandem/chatResult"
STATUS_COMMAND = "tandem.status"
#: Shows a file the user just created through a CodeChat edit (a resolved code action's
#: follow-up command): one `OpenFileArgs`; the server asks the client to window/showDocument it.
OPEN_FILE_COMMAND = "tandem.openFile"

#: Where a client declares that it shows `tandem/chatResult` itself:
#: ``capabilities.experimental.tandem.chatResult = true``.
CHAT_RESULT_CAPABILITY = ("tandem", "chatResult")

#: CodeChat commands → codechat actions (the list itself is `codechat.tasks.ACTIONS`).
CODECHAT_COMMANDS: dict[str, str] = {f"tandem.{action}": action for action in ACTIONS}
#: CodeActionKind per CodeChat code action ("ask" needs a question, so it is a command only).
CODECHAT_ACTION_KINDS: dict[str, str] = {
    "refactor": "refactor.rewrite.tandem",
    "tests": "source.tandem.tests",
    "docs": "refactor.rewrite.tandem.docs",
    "explain": "source.tandem.explain",
}
#: Tests only: "module:function" returning an Engine for the settings (a scripted stand-in).
TEST_ENGINE_FACTORY_ENV = "TANDEM_TEST_ENGINE_FACTORY"

EngineState = Literal["loading", "ready", "generating", "error", "disabled", "snoozed"]
#: Why a CodeChat run did not succeed (`CodeChatResult.reason`).
ChatFailure = Literal[
    "bad_request",  # the arguments cannot be served (document not open, ask without question)
    "stale",  # the document version moved on; nothing changed
    "engine_error",
    "rejected",  # the answer failed a check (does not parse, docs edit changes code, ...)
    "no_code",
    "no_change",
    "empty",
    "cancelled",
    "too_large",
    "outside_workspace",  # a target file resolves outside every workspace folder
    "cannot_create",  # the client cannot create files; the content is in `markdown`
    "timeout",  # the editor did not answer workspace/applyEdit in time
    "apply_refused",
    "apply_failed",
    "internal_error",  # a server bug; logged with its traceback
]


class Position(TypedDict):
    line: int
    character: int


class Range(TypedDict):
    start: Position
    end: Position


class StatusRequest(TypedDict):
    """The request a status reports on."""

    kind: Literal["inline", "completion", "codechat"]
    #: Request received → answer sent (CodeChat: → run finished).
    latencyMs: float
    #: Served by typeahead, no model call.
    cached: bool
    #: Completions only: how long the adaptive debounce held the request.
    debounceMs: NotRequired[float]
    #: Completions only: server time by stage (context, prepare, generate, finalize; the
    #: stages that ran), so the server's own overhead can be told from the engine's time.
    timingsMs: NotRequired[dict[str, float]]
    #: inference.base.GenerationStats.to_dict(), {} when there was no generation. Numbers an
    #: engine learns after the answer (vLLM's speculative counts) come in a second status for
    #: the same request, sent while it is still the latest (see lsp_server/late_stats.py).
    stats: dict[str, Any]
    #: CodeChat only.
    action: NotRequired[str]


class Status(TypedDict):
    """``tandem/status`` notification, and the ``tandem.status`` command result."""

    state: EngineState
    #: Human-readable, e.g. the error.
    message: str
    engine: str
    model: str
    #: Absent for pure state changes.
    request: NotRequired[StatusRequest]
    #: Run-time toggles (settings `enabled`, `disabledLanguages`) and the snooze (epoch s).
    enabled: NotRequired[bool]
    disabledLanguages: NotRequired[list[str]]
    snoozedUntil: NotRequired[float | None]
    #: This session's suggestion numbers and the health verdict (see below).
    session: NotRequired["SessionSummary"]
    health: NotRequired["Health"]
    #: How completion prompts are built for the loaded model (known once it loaded).
    prompt: NotRequired["PromptInfo"]


class PromptInfo(TypedDict):
    """The completion mode: "fim" (the model's FIM tokens) or "prefix" (no FIM tokens: the
    model continues the text before the cursor)."""

    mode: Literal["fim", "prefix"]
    #: The FIM template's name ("qwen", ...), "prefix" in prefix mode.
    template: str
    #: For people: "fim: qwen", "prefix: the model has no FIM tokens".
    description: str


class CodeChatArgs(TypedDict):
    """The ONE argument object of ``tandem.refactor|tests|docs|explain|ask``."""

    uri: str
    #: Absent: the function enclosing ``position``, else the whole file.
    range: NotRequired[Range]
    position: NotRequired[Position]
    #: Free-form; required for ``tandem.ask``.
    instruction: NotRequired[str]
    #: The document version the request was made against.
    version: NotRequired[int]


class CodeActionData(CodeChatArgs):
    """``CodeAction.data`` of a Tandem code action that the client resolves."""

    action: str


class CodeChatResult(TypedDict):
    """What a CodeChat command answers (at once), and the core of `ChatResult`."""

    ok: bool
    message: str
    #: explain/ask: the answer; cannot_create: the file content to paste.
    markdown: NotRequired[str]
    #: Edit actions: whether the editor applied the edit.
    applied: NotRequired[bool]
    #: When not ok.
    reason: NotRequired[ChatFailure]
    #: The run's name in ``tandem/chatProgress``, ``tandem/chatResult`` and ``$/progress``.
    token: NotRequired[str]
    #: True in the immediate answer of a run that started: the outcome follows as `ChatResult`.
    pending: NotRequired[bool]


class OpenFileArgs(TypedDict):
    """The argument of ``tandem.openFile``."""

    uri: str


class ChatProgress(TypedDict):
    """``tandem/chatProgress``: the visible answer so far (replace, don't append)."""

    token: str
    text: str
    done: bool
    action: str
    uri: str


class ChatResult(TypedDict):
    """``tandem/chatResult``: the outcome of one run, sent once."""

    token: str
    action: str
    uri: str
    ok: bool
    message: str
    markdown: NotRequired[str]
    applied: NotRequired[bool]
    reason: NotRequired[ChatFailure]


def code_chat_result(ok: bool, message: str, **extra: Any) -> CodeChatResult:
    """A `CodeChatResult` without the optional keys that are None."""
    result = CodeChatResult(ok=ok, message=message)
    result.update({k: v for k, v in extra.items() if v is not None})  # type: ignore[typeddict-item]
    return result


# --- Suggestion events, snooze, session numbers and health --------------------------------------
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
