"""textDocument/inlineCompletion and the textDocument/completion fallback.

Both turn the request into a `CompletionContext` and hand it to `completion.service`
(`ls.completions`), which owns the per-document state: typeahead, adaptive debounce, newest-wins,
prepare → generate → finalize. This module keeps none of its own. Which of the two the server
advertises follows the client's capabilities (`completionMode` overrides).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field

from lsprotocol import types
from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams

from completion import CompletionContext
from completion.service import CompletionOptions, CompletionResult, Superseded
from completion.templates import UnknownFimTemplate
from completion.types import Edit, OpenDocument
from inference.base import EngineError
from lsp_server import late_stats
from lsp_server.documents import DocumentRefused, DocumentUnavailable, snapshot
from lsp_server.features import candidates, completion_mode, events
from lsp_server.positions import PositionError, to_index, to_position
from lsp_server.server import RECEIVED_AT, TandemServer

log = logging.getLogger(__name__)
_WORD = re.compile(r"[\w$]+$")


@dataclass
class Suggestion:
    text: str
    line: int
    column: int  # code points
    lines: list[str]
    language: str = ""
    #: The tandem/status "request" object of this answer (latency, stats).
    request: dict = field(default_factory=dict)
    #: The item replaces this many code points before / after the cursor on its line (the
    #: indentation a cursor sits in; closers the suggestion re-types). See completion.Edit.
    replace_before: int = 0
    replace_after: int = 0
    #: The same change as an insertion at the cursor (textDocument/completion).
    at_cursor: str | None = None
    #: Further distinct candidates (explicit requests only, see features/candidates.py).
    extra: list[Edit] = field(default_factory=list)
    #: When the request arrived (perf_counter seconds): `publish` measures from here.
    received: float = 0.0


def register(ls: TandemServer, caps: types.ClientCapabilities) -> None:
    """Advertise inline completion to clients that have it, plain completion to the rest."""
    mode = ls.settings.completion_mode
    has_inline = bool(caps.text_document and caps.text_document.inline_completion)
    inline = mode in ("inline", "both") or (mode == "auto" and has_inline)
    plain = mode in ("completion", "both") or (mode == "auto" and not has_inline)
    if inline:
        ls.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())(
            inline_completion
        )
    if plain:
        ls.feature(
            types.TEXT_DOCUMENT_COMPLETION,
            types.CompletionOptions(
                trigger_characters=[".", "(", " ", "\n"], resolve_provider=False
            ),
        )(completion)
    completion_mode.remember_static(ls)


async def inline_completion(
    ls: TandemServer, params: types.InlineCompletionParams
) -> types.InlineCompletionList | None:
    invoked = bool(
        params.context and params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
    )
    want = ls.settings.candidates if invoked else 1
    s = await suggest(ls, params.text_document.uri, params.position, "inline", want, invoked)
    if s is None:
        return None
    try:
        return _inline_list(ls, s)
    finally:
        publish(ls, s.request, s.received)


def _inline_list(ls: TandemServer, s: Suggestion) -> types.InlineCompletionList:
    enc = ls.workspace.position_encoding
    first = Edit(s.text, s.replace_before, s.replace_after, s.at_cursor or s.text)
    edits = [first, *s.extra]
    ids = events.record_suggestion(ls, s.language, "inline", [e.text for e in edits], s.request)

    def span(e: Edit) -> types.Range:
        start = to_position(s.lines, s.line, s.column - e.replace_before, enc)
        end = to_position(s.lines, s.line, s.column + e.replace_after, enc)
        return types.Range(start, end)

    return types.InlineCompletionList(
        items=[
            types.InlineCompletionItem(
                insert_text=e.text, range=span(e), command=events.accept_command_for(i)
            )
            for e, i in zip(edits, ids, strict=True)
        ]
    )


async def completion(
    ls: TandemServer, params: types.CompletionParams
) -> types.CompletionList | None:
    manual = bool(
        params.context and params.context.trigger_kind == types.CompletionTriggerKind.Invoked
    )
    s = await suggest(ls, params.text_document.uri, params.position, "completion", 1, manual)
    if s is None:
        return None
    try:
        return _completion_list(ls, s)
    finally:
        publish(ls, s.request, s.received)


def _completion_list(ls: TandemServer, s: Suggestion) -> types.CompletionList:
    enc = ls.workspace.position_encoding
    before = s.lines[s.line][: s.column]
    word = _WORD.search(before)
    start_col = word.start() if word else s.column
    typed = before[start_col:]
    new_text = typed + (s.text if s.at_cursor is None else s.at_cursor)
    label = new_text.split("\n", 1)[0].strip() or new_text.strip()
    [sid] = events.record_suggestion(ls, s.language, "completion", [s.text], s.request)
    item = types.CompletionItem(
        label=label[:80] + ("…" if len(label) > 80 or "\n" in new_text.strip() else ""),
        kind=types.CompletionItemKind.Text,
        detail="Tandem",
        documentation=_documentation(ls, new_text),
        filter_text=new_text,
        sort_text="0",
        preselect=True,
        insert_text_format=types.InsertTextFormat.PlainText,
        command=events.accept_command_for(sid),
        text_edit=types.TextEdit(
            range=types.Range(
                start=to_position(s.lines, s.line, start_col, enc),
                end=to_position(s.lines, s.line, s.column, enc),
            ),
            new_text=new_text,
        ),
    )
    return types.CompletionList(is_incomplete=True, items=[item])


async def suggest(
    ls: TandemServer,
    uri: str,
    position: types.Position,
    kind: str,
    want: int = 1,
    manual: bool = False,
) -> Suggestion | None:
    """The text to insert at `position`, or None (with the reason logged / in the status).
    With a suggestion, the caller builds its response and then calls `publish`: the status
    reports the server's whole time, from the request's arrival."""
    t0 = time.perf_counter()
    received = RECEIVED_AT.get() or t0
    settings = ls.settings
    if kind not in completion_mode.active_kinds(ls):
        return None  # completionMode changed at run time
    try:
        doc = snapshot(ls.workspace, uri, settings.max_document_bytes, settings.exclude_globs)
    except DocumentUnavailable as exc:  # DocumentRefused (a secret): quiet, status only
        refused = isinstance(exc, DocumentRefused)
        log.log(logging.INFO if refused else logging.WARNING, "%s: %s", kind, exc)
        ls.send_status("disabled" if refused else "ready", str(exc))
        return None
    if (blocked := events.blocked_reason(ls, doc.language_id)) is not None:
        ls.send_status(*blocked)  # toggled off, per language, or snoozed
        return None
    lines = doc.lines  # split once per document version
    try:
        line, column = to_index(lines, position, ls.workspace.position_encoding)
    except PositionError as exc:
        raise JsonRpcInvalidParams(f"position out of range: {exc}") from exc
    ctx = CompletionContext(
        uri=uri,
        language_id=doc.language_id,
        text=doc.redacted_text,  # same length: positions hold
        line=line,
        character=column,
        other_documents=_other_documents(ls, uri),
    ).at_offset(doc.offset(line, column))

    context_ms = (time.perf_counter() - t0) * 1000  # snapshot, positions, redaction
    options = CompletionOptions(
        fim_template=settings.fim_template,
        prompt_mode=settings.completion_prompt,
        max_prompt_tokens=settings.max_prompt_tokens,
        max_tokens=settings.max_tokens,
        workspace_root=ls.workspace.root_path,
        temperature=settings.temperature,
        strategy=settings.speculative,
        debounce=settings.debounce,
        manual=manual,
    )
    try:
        result = await ls.completions.request(ctx, lambda: ls.engines.get(settings), options)
    except Superseded:
        return None  # a newer request for the same document took over
    except (EngineError, UnknownFimTemplate) as exc:
        ls.send_status("error", str(exc))
        log.error("%s failed: %s", kind, exc)
        return None
    except Exception as exc:  # a bug or odd input: an error for this request, not the server
        log.exception("%s failed for %s", kind, uri)
        ls.send_status("error", f"{kind} failed: {type(exc).__name__}: {exc}")
        raise JsonRpcInternalError(f"{kind} failed: {type(exc).__name__}: {exc}") from None
    if result.mode is not None and ls.engines.current is not None:
        ls.prompt_mode = (ls.engines.current, result.mode)
    request = _record(ls, kind, received, t0, result, context_ms, doc.language_id)
    if not result.text:
        publish(ls, request, received)
        return None
    edit = result.as_edit()
    extra = await candidates.alternatives(ls, ctx, edit, want) if want > 1 else []
    return Suggestion(
        edit.text, line, column, lines, doc.language_id, request,
        edit.replace_before, edit.replace_after, edit.at_cursor, extra, received,
    )  # fmt: skip


def _other_documents(ls: TandemServer, uri: str, limit: int = 5) -> list[OpenDocument]:
    docs: list[OpenDocument] = []
    for other in ls.recent.others(uri):
        try:
            snap = snapshot(
                ls.workspace, other, ls.settings.max_document_bytes, ls.settings.exclude_globs
            )
        except Exception:  # unavailable (or odd): never let another document fail this request
            continue
        docs.append(OpenDocument(snap.uri, snap.language_id, snap.text))
        if len(docs) >= limit:
            break
    return docs


def _documentation(ls: TandemServer, code: str) -> types.MarkupContent | str:
    """Markdown only for clients that declare it (Emacs, for one, does not)."""
    td = ls.client_capabilities.text_document
    item = td.completion.completion_item if td and td.completion else None
    formats = (item.documentation_format if item else None) or []
    if types.MarkupKind.Markdown in formats:
        return types.MarkupContent(kind=types.MarkupKind.Markdown, value=f"```\n{code}\n```")
    return code


def _record(
    ls: TandemServer,
    kind: str,
    received: float,
    t0: float,
    result: CompletionResult,
    context_ms: float = 0.0,
    language: str = "",
) -> dict:
    """The request's report (session stats, log, late speculative counts); `publish` sends it."""
    latency = (time.perf_counter() - received) * 1000
    stats = result.stats.to_dict() if result.stats else {}
    request = {
        "kind": kind,
        "latencyMs": round(latency, 2),
        "cached": result.from_typeahead,
        "debounceMs": round(result.debounce_ms, 1),
        # where the time went on the server's side: receive (JSON, params check, dispatch),
        # context (document snapshot, positions, redaction), prepare (prompt), generate (engine,
        # streamed), finalize (postprocess), other (what lies between: the service's own
        # bookkeeping, task switches, the LSP items; set by `publish`)
        "timingsMs": {
            "receive": round((t0 - received) * 1000, 2),
            "context": round(context_ms, 2),
            **{k: round(v, 2) for k, v in result.timings_ms.items()},
        },
        "stats": stats,
    }
    ls.session.record_request(latency, result.from_typeahead, stats)
    # late speculative counts: into the session, and the events log when a suggestion is logged
    late_stats.follow(ls, request, result.stats, count=True, log_language=result.text and language)
    if stats:
        log.info(
            "%s %.0f ms (waited %.0f): %s, %d tokens, %.0f tok/s, acceptance %.0f%%, reused %d "
            "prompt tokens", kind, latency, result.debounce_ms, stats.get("strategy"),
            stats.get("generated_tokens", 0), stats.get("tokens_per_second", 0.0),
            100 * stats.get("acceptance_rate", 0.0), stats.get("prefix_tokens_reused", 0),
        )  # fmt: skip
    return request


def publish(ls: TandemServer, request: dict, received: float) -> None:
    """Send the request's `tandem/status`, its latency now covering the response too (all but
    pygls writing it out); "other" is the time outside the named stages."""
    total = (time.perf_counter() - received) * 1000
    timings = request["timingsMs"]
    timings["other"] = round(max(0.0, total - sum(timings.values())), 2)
    request["latencyMs"] = round(total, 2)
    ls.send_status("ready", "", request)
