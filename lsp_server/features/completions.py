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
from dataclasses import dataclass

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from completion import CompletionContext
from completion.service import CompletionOptions, CompletionResult, Superseded
from completion.templates import UnknownFimTemplate
from completion.types import OpenDocument
from inference.base import EngineError
from lsp_server.documents import DocumentUnavailable, snapshot
from lsp_server.positions import PositionError, split_lines, to_index, to_position
from lsp_server.server import TandemServer

log = logging.getLogger(__name__)
_WORD = re.compile(r"[\w$]+$")


@dataclass
class Suggestion:
    text: str
    line: int
    column: int  # code points
    lines: list[str]


def register_for_client(ls: TandemServer, caps: types.ClientCapabilities) -> None:
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


async def inline_completion(
    ls: TandemServer, params: types.InlineCompletionParams
) -> types.InlineCompletionList | None:
    manual = bool(
        params.context and params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
    )
    s = await suggest(ls, params.text_document.uri, params.position, "inline", manual)
    if s is None:
        return None
    enc = ls.workspace.position_encoding
    pos = to_position(s.lines, s.line, s.column, enc)
    return types.InlineCompletionList(
        items=[types.InlineCompletionItem(insert_text=s.text, range=types.Range(pos, pos))]
    )


async def completion(
    ls: TandemServer, params: types.CompletionParams
) -> types.CompletionList | None:
    manual = bool(
        params.context and params.context.trigger_kind == types.CompletionTriggerKind.Invoked
    )
    s = await suggest(ls, params.text_document.uri, params.position, "completion", manual)
    if s is None:
        return None
    enc = ls.workspace.position_encoding
    before = s.lines[s.line][: s.column]
    word = _WORD.search(before)
    start_col = word.start() if word else s.column
    typed = before[start_col:]
    new_text = typed + s.text
    label = new_text.split("\n", 1)[0].strip() or new_text.strip()
    item = types.CompletionItem(
        label=label[:80] + ("…" if len(label) > 80 or "\n" in new_text.strip() else ""),
        kind=types.CompletionItemKind.Text,
        detail="Tandem",
        documentation=_documentation(ls, new_text),
        filter_text=new_text,
        sort_text="0",
        preselect=True,
        insert_text_format=types.InsertTextFormat.PlainText,
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
    ls: TandemServer, uri: str, position: types.Position, kind: str, manual: bool = False
) -> Suggestion | None:
    """The text to insert at `position`, or None (with the reason logged / in the status)."""
    t0 = time.perf_counter()
    settings = ls.settings
    try:
        doc = snapshot(ls.workspace, uri, settings.max_document_bytes)
    except DocumentUnavailable as exc:
        log.warning("%s: %s", kind, exc)
        ls.send_status("ready", str(exc))
        return None
    if not settings.enabled_for(doc.language_id):
        ls.send_status("disabled", f"disabled for {doc.language_id}")
        return None
    lines = split_lines(doc.text)
    try:
        line, column = to_index(lines, position, ls.workspace.position_encoding)
    except PositionError as exc:
        raise JsonRpcInvalidParams(f"position out of range: {exc}") from exc
    ctx = CompletionContext(
        uri=uri,
        language_id=doc.language_id,
        text=doc.text,
        line=line,
        character=column,
        other_documents=_other_documents(ls, uri),
    )
    options = CompletionOptions(
        fim_template=settings.fim_template,
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
    _report(ls, kind, t0, result)
    if not result.text:
        return None
    return Suggestion(result.text, line, column, lines)


def _other_documents(ls: TandemServer, uri: str, limit: int = 5) -> list[OpenDocument]:
    docs: list[OpenDocument] = []
    for other in ls.recent.others(uri):
        try:
            snap = snapshot(ls.workspace, other, ls.settings.max_document_bytes)
        except DocumentUnavailable:
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


def _report(ls: TandemServer, kind: str, t0: float, result: CompletionResult) -> None:
    latency = (time.perf_counter() - t0) * 1000
    stats = result.stats.to_dict() if result.stats else {}
    request = {
        "kind": kind,
        "latencyMs": round(latency, 2),
        "cached": result.from_typeahead,
        "debounceMs": round(result.debounce_ms, 1),
        "stats": stats,
    }
    if stats:
        log.info(
            "%s %.0f ms (waited %.0f): %s, %d tokens, %.0f tok/s, acceptance %.0f%%, reused %d "
            "prompt tokens", kind, latency, result.debounce_ms, stats.get("strategy"),
            stats.get("generated_tokens", 0), stats.get("tokens_per_second", 0.0),
            100 * stats.get("acceptance_rate", 0.0), stats.get("prefix_tokens_reused", 0),
        )  # fmt: skip
    ls.send_status("ready", "", request)
