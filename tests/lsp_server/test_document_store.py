"""The document store keeps exactly the editor's text (defect 1 of issue 26), under every line
break character Unicode knows and every position encoding, and finds a document by any
spelling of its URI (defect 4)."""

from __future__ import annotations

import random

import pytest
from lsprotocol import types
from pygls.workspace import Workspace

from lsp_server.document_store import DocumentStore, LspDocument
from lsp_server.documents import snapshot
from lsp_server.server import TandemProtocol
from lsp_server.uris import document_key
from tests.lsp_server.editor_model import ENCODINGS, Editor, random_text

URI = "file:///w/a.py"
REPRO = "import os\n#\x0c\na = 1\nb = 2\n\n\ndef f():\n    return a\n"


def store(encoding: str = "utf-16") -> DocumentStore:
    return DocumentStore.adopt(Workspace("file:///w", position_encoding=encoding))


def open_doc(ws: DocumentStore, text: str, uri: str = URI, version: int = 1) -> None:
    ws.put_text_document(types.TextDocumentItem(uri=uri, language_id="python", version=version,
                                                text=text))  # fmt: skip


def change(ws: DocumentStore, start, end, text: str, version: int, uri: str = URI) -> None:
    rng = types.Range(types.Position(*start), types.Position(*end))
    ws.update_text_document(
        types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        types.TextDocumentContentChangePartial(range=rng, text=text),
    )


def test_the_issue_repro_deletes_the_line_the_editor_deleted():
    ws = store()
    open_doc(ws, REPRO)
    change(ws, (3, 0), (4, 0), "", 2)
    assert ws.document(URI).source == "import os\n#\x0c\na = 1\n\n\ndef f():\n    return a\n"
    # pygls's own workspace deletes "a = 1" instead (it counts \x0c as a line break)
    plain = Workspace("file:///w")
    plain.put_text_document(types.TextDocumentItem(uri=URI, language_id="python", version=1,
                                                   text=REPRO))  # fmt: skip
    plain.update_text_document(
        types.VersionedTextDocumentIdentifier(uri=URI, version=2),
        types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(3, 0), types.Position(4, 0)), text=""
        ),
    )
    assert "b = 2" in plain.get_text_document(URI).source  # the drift this store fixes


@pytest.mark.parametrize("sep", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028",
                                 "\u2029"])  # fmt: skip
def test_every_unicode_separator_stays_inside_its_line(sep):
    ws = store()
    open_doc(ws, f"a{sep}b\nc\nd\n")
    change(ws, (1, 0), (2, 0), "", 2)  # delete "c\n"
    assert ws.document(URI).source == f"a{sep}b\nd\n"


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_random_edit_sequences_never_diverge_from_the_editor(encoding):
    """Thousands of random edits over text full of line breaks of every kind, astral
    characters, CRLF and lone CR: after every change the store's text is the editor's."""
    rng = random.Random(f"docstore-{encoding}")
    divergences, edits = 0, 0
    for seq in range(700):
        text = random_text(rng, 40)
        ws, editor = store(encoding), Editor(text, encoding)
        open_doc(ws, text)
        for version in range(2, 22):
            start, end, new = editor.random_edit(rng)
            editor.apply(start, end, new)
            change(ws, start, end, new, version)
            edits += 1
            if ws.document(URI).source != editor.text:
                divergences += 1
                pytest.fail(
                    f"diverged at sequence {seq}, edit {version}: {start}-{end} "
                    f"{new!r}\nstore  {ws.document(URI).source!r}\neditor {editor.text!r}"
                )
    assert (divergences, edits) == (0, 700 * 20)


def test_a_whole_document_change_and_a_change_past_the_end():
    ws = store()
    open_doc(ws, "a\r\nb")
    ws.update_text_document(
        types.VersionedTextDocumentIdentifier(uri=URI, version=2),
        types.TextDocumentContentChangeWholeDocument(text="x\ry"),
    )
    assert ws.document(URI).source == "x\ry"
    change(ws, (9, 0), (9, 0), "!", 3)  # a line past the end: the end of the text
    assert ws.document(URI).source == "x\ry!" and ws.document(URI).version == 3


def test_a_change_to_a_document_never_opened_is_ignored_not_an_error():
    ws = store()
    change(ws, (0, 0), (0, 0), "x", 2, uri="file:///w/never.py")
    assert not ws.is_open("file:///w/never.py")


def test_nothing_is_read_from_disk(tmp_path):
    path = tmp_path / "on_disk.py"
    path.write_text("SECRET_ON_DISK = 1\n")
    ws = store()
    doc = ws.get_text_document(f"file://{path}")
    assert isinstance(doc, LspDocument) and doc.source == ""  # pygls would read the file
    assert not ws.is_open(f"file://{path}")


URI_FORMS = [
    ("file:///w/my%20file.py", "file:///w/my file.py"),
    ("file:///c%3A/src/a.py", "file:///C:/src/a.py"),
    ("file:///w/issue%2342.py", "file:///w/issue%2342.py"),
    ("file:///w/caf%C3%A9.py", "file:///w/café.py"),
    ("FILE:///w/x.py", "file:///w/x.py"),
    ("file://localhost/w/x.py", "file:///w/x.py"),
]


@pytest.mark.parametrize(("opened", "asked"), URI_FORMS)
def test_every_spelling_of_a_uri_finds_the_document_and_keeps_the_clients(opened, asked):
    ws = store()
    open_doc(ws, "x = 1\n", uri=opened)
    assert document_key(opened) == document_key(asked)
    assert ws.is_open(asked) and ws.document(asked).uri == opened  # edits use the client's form
    change(ws, (0, 0), (0, 0), "# hi\n", 2, uri=asked)
    snap = snapshot(ws, asked, 1 << 20)
    assert snap.text == "# hi\nx = 1\n" and snap.uri == opened
    ws.remove_text_document(asked)
    assert not ws.is_open(opened)


def test_different_files_keep_different_keys():
    keys = {document_key(u) for u in ("file:///w/a.py", "file:///w/A.py", "file:///w/a%23b.py",
                                      "file:///w/a#b.py", "untitled:Untitled-1")}  # fmt: skip
    assert len(keys) == 5


def test_the_protocol_installs_the_store_at_initialize():
    protocol = TandemProtocol.__new__(TandemProtocol)
    protocol._workspace = Workspace("file:///w", position_encoding="utf-8")
    assert isinstance(protocol._workspace, DocumentStore)
    assert protocol._workspace.position_encoding == "utf-8"
    assert protocol._workspace.root_path == "/w"


def test_an_edit_is_built_only_on_the_text_its_task_was_cut_from():
    from types import SimpleNamespace

    from lsp_server.features.codechat.apply import _stale
    from lsp_server.features.codechat.arguments import parse_request

    ws = store()
    open_doc(ws, "a = 1\nb = 2\n", uri="file:///w/my%20file.py", version=3)
    arg = {"uri": "file:///w/my file.py", "range": {"start": {"line": 0, "character": 0},
                                                   "end": {"line": 0, "character": 5}}}  # fmt: skip
    req = parse_request("refactor", [arg], ws, 1 << 20)
    assert req.uri == "file:///w/my%20file.py" and req.task.code == "a = 1"
    ls = SimpleNamespace(workspace=ws)
    assert _stale(ls, req) is None
    # the same version number with other text (a client that does not count versions)
    ws.update_text_document(
        types.VersionedTextDocumentIdentifier(uri=req.uri, version=3),
        types.TextDocumentContentChangeWholeDocument(text="b = 2\n"),
    )
    assert "changed" in _stale(ls, req)
    change(ws, (0, 0), (0, 0), "", 4, uri=req.uri)
    assert "version 3 → 4" in _stale(ls, req)
    ws.remove_text_document(req.uri)
    assert "closed" in _stale(ls, req)
