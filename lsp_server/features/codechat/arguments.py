"""A CodeChat command's argument object → a `ChatRequest` (code-point offsets, checked types).

Wrong types or shapes are the client's bug: JSON-RPC InvalidParams (-32602) naming the field.
Arguments that are well formed but cannot be served now (document not open, stale version, ask
without a question) raise `Unservable`, which the command answers as ``ok: false``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types
from pygls import uris
from pygls.exceptions import JsonRpcInvalidParams
from pygls.workspace import Workspace

from codechat import ChatTask
from codechat.scope import enclosing_span
from codechat.secrets import SecretMap, mask_task
from codechat.tasks import Action
from lsp_server.documents import DocumentUnavailable, snapshot
from lsp_server.positions import PositionError, to_index
from lsp_server.protocol import CodeChatArgs, Position, Range
from textkit.lines import lsp_lines

_SHAPE = "{uri, range?, position?, instruction?, version?}"
#: LSP's `uinteger` (positions): larger values are the client's bug, not ours.
MAX_UINTEGER = 2**31 - 1


class Unservable(Exception):
    """Well-formed arguments that cannot be served now; `reason` is a ChatFailure."""

    def __init__(self, message: str, reason: str = "bad_request") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class ChatRequest:
    action: Action
    uri: str
    #: The document version the request was made against (edits apply only to it).
    version: int | None
    task: ChatTask
    #: The document's text when the request was made (what `task` was cut from): an edit is
    #: built only while the document still holds exactly this text.
    source: str | None = None
    #: The secrets masked in `task` (document and instruction), to restore in an edit.
    secrets: SecretMap = field(default_factory=SecretMap)


def parse_request(
    action: Action,
    args: Any,
    workspace: Workspace,
    max_document_bytes: int,
    exclude_globs: Sequence[str] = (),
) -> ChatRequest:
    """`args` is the command's argument list (exactly one object) or a code action's data."""
    arg = _one_object(args)
    uri = arg.get("uri")
    if not isinstance(uri, str) or not uri:
        raise JsonRpcInvalidParams(f"'uri' must be a non-empty string; expected {_SHAPE}")
    version = _optional(arg, "version", int)
    instruction = _optional(arg, "instruction", str) or ""
    span = _range(arg["range"], "range") if arg.get("range") is not None else None
    pos = _position(arg["position"], "position") if arg.get("position") is not None else None
    try:
        doc = snapshot(workspace, uri, max_document_bytes, exclude_globs)
    except DocumentUnavailable as exc:
        raise Unservable(str(exc)) from exc
    uri = doc.uri  # as the client opened it: the edit must name the buffer the same way
    if version is None:
        version = doc.version
    elif doc.version is not None and version != doc.version:
        raise Unservable(stale_message(version, doc.version), "stale")
    if action == "ask" and not instruction.strip():
        raise Unservable("ask needs an instruction (the question)")
    enc = workspace.position_encoding or types.PositionEncodingKind.Utf16
    lines = doc.lines
    try:
        if span is not None:
            start, end = sorted(position_offset(doc.text, lines, p, enc) for p in span)
        elif pos is not None:
            start, end = enclosing_span(
                doc.language_id, doc.text, position_offset(doc.text, lines, pos, enc)
            )
        else:
            start, end = 0, len(doc.text)
    except PositionError as exc:
        raise JsonRpcInvalidParams(f"bad range/position: {exc}") from exc
    path = uris.to_fs_path(uri) if uri.startswith("file:") else None
    real = ChatTask(
        action, path or uri, doc.language_id, doc.text, start, end, instruction,
        roots=workspace_roots(workspace),
    )  # fmt: skip
    # the model sees the document redacted whole (once per version) and the typed instruction
    # masked too; `secrets` turns masks in an edit back into the user's values
    task, secrets = mask_task(real, doc.redacted_text)
    return ChatRequest(action, uri, version, task, source=doc.text, secrets=secrets)


def workspace_roots(workspace: Workspace) -> tuple[str, ...]:
    """Filesystem paths of the workspace folders (and the root), where new files may go."""
    found = [uris.to_fs_path(f.uri) for f in workspace.folders.values()]
    found.append(workspace.root_path)
    return tuple(dict.fromkeys(p for p in found if p))


def stale_message(asked: int, now: int | None) -> str:
    return (
        f"the document changed (version {asked} → {now}) since the request was made; nothing "
        "was changed. Run the command again."
    )


def _one_object(args: Any) -> dict:
    if isinstance(args, dict):
        return args
    if isinstance(args, list | tuple) and len(args) == 1 and isinstance(args[0], dict):
        return args[0]
    raise JsonRpcInvalidParams(f"expected one argument object {_SHAPE}")


def _optional(arg: dict, key: str, kind: type) -> Any:
    value = arg.get(key)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise JsonRpcInvalidParams(f"'{key}' must be a {kind.__name__}, not {value!r}")
    return value


def _position(value: Any, name: str) -> types.Position:
    """A JSON Position with non-negative integer line/character (bools are not integers)."""
    fields = value if isinstance(value, dict) else {}
    line, char = fields.get("line"), fields.get("character")
    if not all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_UINTEGER
        for v in (line, char)
    ):
        raise JsonRpcInvalidParams(
            f"'{name}' must be {{line, character}} with integers from 0 to {MAX_UINTEGER} "
            f"(LSP's uinteger), not {value!r}"
        )
    return types.Position(line=line, character=char)


def _range(value: Any, name: str) -> tuple[types.Position, types.Position]:
    if not isinstance(value, dict):
        raise JsonRpcInvalidParams(f"'{name}' must be {{start, end}}, not {value!r}")
    return _position(value.get("start"), f"{name}.start"), _position(
        value.get("end"), f"{name}.end"
    )


def position_offset(text: str, lines: list[str], pos: types.Position, enc: str) -> int:
    """Code-point offset of an LSP position (`lines` from split_lines, without line ends)."""
    line, col = to_index(lines, pos, enc)
    return sum(len(raw) for raw in lsp_lines(text, keepends=True)[:line]) + col


def command_argument(uri: str, version: int | None, r: types.Range) -> CodeChatArgs:
    """The argument a code action carries: the selection, or the cursor when it is empty."""
    arg = CodeChatArgs(uri=uri)
    if version is not None:
        arg["version"] = version
    if r.start == r.end:
        arg["position"] = _json_position(r.start)
    else:
        arg["range"] = Range(start=_json_position(r.start), end=_json_position(r.end))
    return arg


def _json_position(p: types.Position) -> Position:
    return Position(line=p.line, character=p.character)
