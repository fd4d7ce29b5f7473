"""Document snapshots are taken once per version and shared; an edit is always seen."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pygls.workspace import Workspace

from completion import CompletionContext
from lsp_server.documents import DocumentRefused, DocumentUnavailable, snapshot

URI = "file:///w/a.py"


def _workspace(text: str, version: int = 1, uri: str = URI) -> Workspace:
    ws = Workspace(None)
    ws.put_text_document(types.TextDocumentItem(uri=uri, language_id="python", version=version,
                                                text=text))  # fmt: skip
    return ws


def _edit(ws: Workspace, text: str, version: int, uri: str = URI) -> None:
    ws.update_text_document(
        types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        types.TextDocumentContentChangeWholeDocument(text=text),
    )


def test_one_snapshot_per_version_and_an_edit_is_always_seen():
    ws = _workspace("x = 1\n")
    first = snapshot(ws, URI, 1 << 20)
    assert snapshot(ws, URI, 1 << 20) is first  # shared: lines, redaction computed once
    assert first.lines == ["x = 1", ""]
    _edit(ws, "y = 2\n", 2)
    second = snapshot(ws, URI, 1 << 20)
    assert second.text == "y = 2\n" and second.version == 2
    # a client that repeats a version number still gets the new text
    _edit(ws, "z = 3\n", 2)
    assert snapshot(ws, URI, 1 << 20).text == "z = 3\n"


def test_limits_and_refusals_are_per_call_settings_not_cached_away():
    ws = _workspace("x = 1\n" * 100)
    assert snapshot(ws, URI, 1 << 20).text
    with pytest.raises(DocumentUnavailable, match="too large"):
        snapshot(ws, URI, 10)  # a lower limit on the same version
    with pytest.raises(DocumentRefused):
        snapshot(ws, URI, 1 << 20, exclude_globs=("**/a.py",))
    assert snapshot(ws, URI, 1 << 20).text  # and back


def test_a_secret_document_stays_refused_on_every_request():
    uri = "file:///w/.env"
    ws = _workspace("API_KEY=sk-live-0123456789abcdef0123456789abcdef\n", uri=uri)
    for _ in range(2):
        with pytest.raises(DocumentRefused):
            snapshot(ws, uri, 1 << 20)


def test_redacted_text_keeps_positions():
    text = 'token = "ghp_0123456789abcdefghijklmnopqrstuvwxyz0123"\nnext_line = 1\n'
    snap = snapshot(_workspace(text), URI, 1 << 20)
    assert "ghp_0123456789" not in snap.redacted_text
    assert len(snap.redacted_text) == len(text)


@pytest.mark.parametrize(
    "text", ["a = 1\n  bb = 2\n\nccc\n", "a = 1\r\n  bb = 2\r\rccc", "é = 1\n😀 = 2\n", "x"]
)
def test_offsets_match_the_contexts_own_computation(text: str):
    snap = snapshot(_workspace(text), URI, 1 << 20)
    for line, body in enumerate(snap.lines):
        for column in range(len(body) + 1):
            fresh = CompletionContext(URI, "python", text, line, column)
            seeded = CompletionContext(URI, "python", text, line, column).at_offset(
                snap.offset(line, column)
            )
            assert (seeded.offset, seeded.current_line) == (fresh.offset, fresh.current_line)
            assert seeded._memo  # the seed was taken, not recomputed


def test_an_offset_off_a_line_start_is_not_taken():
    ctx = CompletionContext(URI, "python", "ab\ncd\n", 1, 1).at_offset(5)  # a column off
    assert (ctx.offset, ctx.current_line) == (4, "cd")
    ctx = CompletionContext(URI, "python", "ab\ncd\n", 1, 1).at_offset(99)  # past the end
    assert (ctx.offset, ctx.current_line) == (4, "cd")
