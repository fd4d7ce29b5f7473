"""`tandem/nextEdit` and `tandem.applyNextEdit`: next-edit suggestions over LSP.

Thin glue around the pure `nextedit/` core: it feeds the edit history from document changes
(`server.document_observers`), turns an LSP request into a `nextedit.NextEditRequest` (the
versioned document, redacted, and the position in code points), picks the engine (the main
one, or the `nextEditModel`'s) and the prompt format, and turns the predicted edits back into
LSP ranges. The answer is shaped like Copilot's `textDocument/copilotInlineEdit`; see
`lsp_server/protocol.py` for the wire format.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from completion.context.privacy import uri_to_path
from inference.base import Engine, EngineError
from lsp_server.documents import DocumentRefused, DocumentUnavailable, snapshot
from lsp_server.engine_manager import EngineManager, build_engine
from lsp_server.features import events
from lsp_server.positions import PositionError, to_index, to_position
from lsp_server.protocol import (
    NEXT_EDIT_APPLY_COMMAND,
    NEXT_EDIT_REQUEST,
    NextEditItem,
    NextEditResult,
)
from lsp_server.server import TandemServer
from lsp_server.settings import Settings
from nextedit import EditHistory, NextEditRequest, predict
from nextedit.formats import NES_FORMATS, NextEditFormat, choose_format, detect_format

log = logging.getLogger(__name__)


def _build_next_edit_engine(s: Settings) -> tuple[Engine, str | None]:
    """The engine of `nextEditModel`: the same builders as the main model's."""
    return build_engine(dataclasses.replace(s, model=s.next_edit_model, draft_model=None))


class NextEditState:
    """Per server: the edit history and the engine of a separate next-edit model."""

    def __init__(self) -> None:
        self.history = EditHistory()
        self.engines = EngineManager(builder=_build_next_edit_engine)
        #: The newest request per document: an older one is cancelled (newest wins).
        self.inflight: dict[str, asyncio.Task] = {}


def _field(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def may_be_on(s: Settings) -> bool:
    """Cheap: whether NES can be on with these settings (the history only records then)."""
    if s.next_edit is not None:
        return s.next_edit
    if s.next_edit_model or s.next_edit_format in NES_FORMATS:
        return True
    return detect_format([s.model, s.model_name]) in NES_FORMATS


def model_names(engine: Engine) -> list[str | None]:
    """Names that may tell the model's format: the GGUF's general.name, the model path."""
    names: list[str | None] = [engine.info.model]
    meta = getattr(getattr(engine, "target_model", None), "meta", None)
    if callable(meta):
        try:
            names.append(meta("general.name"))
        except Exception:  # a name is a hint only
            pass
    return names


async def resolve(ls: TandemServer) -> tuple[Engine, NextEditFormat] | str:
    """(engine, format) for a next-edit request, or why NES is off."""
    s = ls.settings
    if s.next_edit is False:
        return "off"
    if s.next_edit_model:
        engine = await ls.next_edit.engines.get(s)
    else:
        engine = await ls.engines.get(s)
    fmt = choose_format(s.next_edit_format, model_names(engine), engine.info.special_tokens)
    if s.next_edit is None and not s.next_edit_model and fmt.name not in NES_FORMATS:
        return "off"  # the main model is not a next-edit model: on only when asked
    return engine, fmt


def relative_path(ls: TandemServer, uri: str) -> str:
    path = uri_to_path(uri)
    if path is None:
        return uri.rsplit("/", 1)[-1] or "untitled"
    root = getattr(ls.workspace, "root_path", None)
    if root:
        try:
            return Path(path).relative_to(root).as_posix()
        except ValueError:
            pass
    return Path(path).name


def observe(ls: TandemServer, uri: str, event: str) -> None:
    """Feed the edit history (redacted text: diffs go into prompts)."""
    state: NextEditState = ls.next_edit
    if event == "close":
        state.history.forget(uri)
        return
    if not may_be_on(ls.settings):
        return
    try:
        snap = snapshot(
            ls.workspace, uri, ls.settings.max_document_bytes, ls.settings.exclude_globs
        )
    except DocumentUnavailable:
        return
    text = snap.redacted_text.replace("\r\n", "\n")
    if event == "open":
        state.history.open(uri, text, relative_path(ls, uri))
    else:
        state.history.observe(uri, text, relative_path(ls, uri))


def register(server: TandemServer, client_capabilities: types.ClientCapabilities) -> None:
    """Next edits work with every client that can send a custom request or a command."""
    del client_capabilities
    server.next_edit = NextEditState()
    server.document_observers.append(lambda uri, event: observe(server, uri, event))

    @server.feature(NEXT_EDIT_REQUEST)
    async def next_edit(ls: TandemServer, params: Any) -> NextEditResult:
        uri, version, position = _parse(params)
        t0 = time.perf_counter()
        result = await next_edit_for(ls, uri, version, position)
        # one line per answer: a user whose editor shows nothing can read why (off, stale...)
        log.info(
            "nextEdit %s: %d edit(s)%s, %.0f ms",
            relative_path(ls, uri),
            len(result["edits"]),
            f" ({result['reason']})" if result.get("reason") else "",
            (time.perf_counter() - t0) * 1000,
        )
        return result

    @server.command(NEXT_EDIT_APPLY_COMMAND)
    async def apply_next_edit(ls: TandemServer, *args: Any) -> dict:
        return await apply_command(ls, *args)


def _parse(params: Any) -> tuple[str, int | None, types.Position]:
    doc = _field(params, "textDocument") or _field(params, "text_document")
    uri = _field(doc, "uri")
    version = _field(doc, "version")
    pos = _field(params, "position")
    line, character = _field(pos, "line"), _field(pos, "character")
    if not isinstance(uri, str) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in (line, character)
    ):
        raise JsonRpcInvalidParams("tandem/nextEdit needs textDocument.uri and a position")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise JsonRpcInvalidParams("textDocument.version must be an integer")
    return uri, version, types.Position(line=line, character=character)


async def next_edit_for(
    ls: TandemServer, uri: str, version: int | None, position: types.Position
) -> NextEditResult:
    s = ls.settings
    try:
        snap = snapshot(ls.workspace, uri, s.max_document_bytes, s.exclude_globs)
    except DocumentRefused:
        return {"edits": [], "reason": "refused"}
    except DocumentUnavailable as exc:
        raise JsonRpcInvalidParams(str(exc)) from exc
    if version is not None and snap.version is not None and version != snap.version:
        return {"edits": [], "reason": "stale"}
    try:
        resolved = await resolve(ls)
    except EngineError as exc:
        return {"edits": [], "reason": "engine_error", "stats": {"error": str(exc)}}
    if isinstance(resolved, str):
        return {"edits": [], "reason": resolved}
    engine, fmt = resolved
    lines = snap.redacted_text.replace("\r\n", "\n").split("\n")
    enc = ls.workspace.position_encoding
    try:
        line, col = to_index(lines, position, enc)
    except PositionError as exc:
        raise JsonRpcInvalidParams(str(exc)) from exc
    state: NextEditState = ls.next_edit
    req = NextEditRequest(
        uri=uri,
        path=relative_path(ls, uri),
        lines=tuple(lines),
        line=line,
        col=col,
        recent=tuple(state.history.recent()),
    )
    strategy = "prompt_lookup" if s.speculative == "auto" else s.speculative
    older = state.inflight.get(uri)
    if older is not None and not older.done():
        older.cancel()
    task = asyncio.ensure_future(
        predict(engine, fmt, req, strategy=strategy, max_tokens=s.next_edit_max_tokens)
    )
    state.inflight[uri] = task
    try:
        result = await task
    except asyncio.CancelledError:
        return {"edits": [], "reason": "cancelled"}
    except EngineError as exc:
        return {"edits": [], "reason": "engine_error", "stats": {"error": str(exc)}}
    finally:
        if state.inflight.get(uri) is task:
            del state.inflight[uri]
    stats = result.stats.to_dict()
    if not result.edits:
        return {"edits": [], "reason": result.reason or "no_change", "stats": stats}
    ids = events.record_suggestion(
        ls, snap.language_id, "nextEdit", [e.text for e in result.edits], {"stats": stats}
    )
    items: list[NextEditItem] = []
    for e, sid in zip(result.edits, ids, strict=True):
        start = to_position(lines, e.start_line, e.start_col, enc)
        end = to_position(lines, e.end_line, e.end_col, enc)
        cmd = events.accept_command_for(sid)
        items.append(
            {
                "range": {
                    "start": {"line": start.line, "character": start.character},
                    "end": {"line": end.line, "character": end.character},
                },
                "text": e.text,
                "textDocument": {"uri": uri, "version": snap.version},
                "command": {"title": cmd.title, "command": cmd.command, "arguments": cmd.arguments},
            }
        )
    return {"edits": items, "stats": stats}


async def apply_command(ls: TandemServer, *args: Any) -> dict:
    """Predict and apply: for clients without a preview. No arguments: at the latest edit."""
    arg = args[0] if args else None
    if isinstance(arg, list):  # some clients pass the arguments array as one value
        arg = arg[0] if arg else None
    if arg:
        uri, version, position = _parse(arg)
    else:
        last = ls.next_edit.history.last_edit()
        if last is None:
            return {"applied": False, "reason": "no_recent_edit"}
        uri, version = last.uri, None
        line = last.start + max(0, len(last.new_lines) - 1)
        col = len(last.new_lines[-1]) if last.new_lines else 0
        try:
            snap = snapshot(ls.workspace, uri, ls.settings.max_document_bytes)
            position = to_position(snap.lines, line, col, ls.workspace.position_encoding)
        except (DocumentUnavailable, IndexError):
            return {"applied": False, "reason": "no_recent_edit"}
    result = await next_edit_for(ls, uri, version, position)
    if not result["edits"]:
        return {"applied": False, "reason": result.get("reason", "no_change")}
    doc_version = result["edits"][0]["textDocument"].get("version")
    edit = types.WorkspaceEdit(
        document_changes=[
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(
                    uri=uri, version=doc_version
                ),
                edits=[
                    types.TextEdit(
                        range=types.Range(
                            start=types.Position(**e["range"]["start"]),
                            end=types.Position(**e["range"]["end"]),
                        ),
                        new_text=e["text"],
                    )
                    for e in result["edits"]
                ],
            )
        ]
    )
    try:
        answer = await ls.request_client(
            types.WORKSPACE_APPLY_EDIT,
            types.ApplyWorkspaceEditParams(edit=edit, label="Tandem: next edit"),
        )
    except Exception as exc:  # noqa: BLE001 - timeout or an error answer
        return {"applied": False, "reason": f"applyEdit failed: {exc}"}
    applied = bool(getattr(answer, "applied", False))
    if applied:
        for e in result["edits"]:
            events.accepted(ls, e["command"]["arguments"][0]["id"])
    return {"applied": applied, "edits": len(result["edits"])}
