"""The one copy of every open document, kept exactly as the editor has it.

pygls's workspace applies `didChange` ranges over `str.splitlines()`, which also ends lines at
\\x0b, \\x0c, \\x1c-\\x1e, \\x85, \\u2028 and \\u2029. An editor counts lines only at \\n, \\r\\n
and \\r, so after one edit near a form feed the server's copy is no longer the editor's, and a
CodeChat edit built from it deletes the user's code. It also keys documents by `unquote(uri)`
while Tandem looked them up by the raw URI, so `my%20file.py` was never served, and it reads a
file from disk when asked for one that is not open.

`DocumentStore` is pygls's `Workspace` with those three things replaced: changes are applied
with LSP's line breaks and the negotiated position encoding (`LspDocument`), every lookup goes
through `lsp_server.uris.document_key`, and nothing is ever read from disk. pygls's own
didOpen/didChange/didClose handlers feed it (the protocol installs it, see
`TandemProtocol._workspace`), so every feature (completions, CodeChat, code actions) reads the
same text.
"""

from __future__ import annotations

import logging

from lsprotocol import types
from pygls.workspace import TextDocument, Workspace

from lsp_server.positions import column_at
from lsp_server.uris import document_key
from textkit.lines import line_starts, lsp_lines

log = logging.getLogger(__name__)


class LspDocument(TextDocument):
    """An open document whose changes are applied the way the LSP counts lines.

    `uri` is the URI exactly as the client sent it in `didOpen`: edits and notifications about
    the document use it, so the client recognises its own buffer."""

    def __init__(self, *args, encoding: str = types.PositionEncodingKind.Utf16, **kwargs):
        super().__init__(*args, **kwargs)
        self.encoding = encoding or types.PositionEncodingKind.Utf16
        #: (source, its line starts): computed once per text, for the next change.
        self._starts: tuple[str, list[int]] | None = None

    @property
    def source(self) -> str:
        """The text; never read from disk (pygls does that for a document it does not have)."""
        return self._source or ""

    @property
    def lines(self) -> tuple[str, ...]:
        """Lines with their line ends, as the LSP counts them (pygls's contract)."""
        return tuple(lsp_lines(self.source, keepends=True))

    def line_starts(self) -> list[int]:
        text = self.source
        if self._starts is None or self._starts[0] is not text:
            self._starts = (text, line_starts(text))
        return self._starts[1]

    def offset_at(self, position: types.Position) -> int:
        """The string index of an LSP position: a line past the end is the end of the text, a
        character past the line's end is the line's end (before its line break)."""
        text = self.source
        starts = self.line_starts()
        line = max(0, position.line)
        if line >= len(starts):
            return len(text)
        start = starts[line]
        if line + 1 < len(starts):  # the line's content ends before its line break
            end = starts[line + 1]
            end -= 2 if text.startswith("\r\n", end - 2) and end - 2 >= start else 1
        else:
            end = len(text)
        return start + column_at(text[start:end], max(0, position.character), self.encoding)

    def offset_at_position(self, client_position: types.Position) -> int:  # pygls's name
        return self.offset_at(client_position)

    def _apply_incremental_change(self, change: types.TextDocumentContentChangePartial) -> None:
        text = self.source
        start, end = self.offset_at(change.range.start), self.offset_at(change.range.end)
        if end < start:  # a reversed range: the span between the two positions
            start, end = end, start
        self._source = text[:start] + change.text + text[end:]


class DocumentStore(Workspace):
    """pygls's workspace with LSP line semantics, one URI identity, and no disk reads."""

    @classmethod
    def adopt(cls, workspace: Workspace) -> DocumentStore:
        """The store for what pygls built at `initialize` (root, folders, encoding, sync kind)."""
        if isinstance(workspace, cls):
            return workspace
        store = cls(
            workspace.root_uri,
            workspace._sync_kind,
            list(workspace.folders.values()),
            workspace.position_encoding,
        )
        for doc in workspace.text_documents.values():
            store.put_text_document(
                types.TextDocumentItem(
                    uri=doc.uri, language_id=doc.language_id or "", version=doc.version or 0,
                    text=doc.source,
                )
            )  # fmt: skip
        return store

    def _create_text_document(self, doc_uri, source=None, version=None, language_id=None):
        return LspDocument(
            doc_uri,
            source=source,
            version=version,
            language_id=language_id,
            sync_kind=self._sync_kind,
            position_codec=self._position_codec,
            encoding=self.position_encoding or types.PositionEncodingKind.Utf16,
        )

    # -- lookups: every URI form of an open document finds it ----------------------------------

    def document(self, uri: str) -> LspDocument | None:
        """The open document `uri` names (in any encoding of it), or None."""
        return self._text_documents.get(document_key(uri))  # type: ignore[return-value]

    def is_open(self, uri: str) -> bool:
        return document_key(uri) in self._text_documents

    def get_text_document(self, doc_uri: str) -> TextDocument:
        """The open document, else an empty one (pygls would read the file from disk)."""
        return self.document(doc_uri) or self._create_text_document(doc_uri)

    def client_uri(self, uri: str) -> str:
        """The URI as the client spelled it when it opened the document (else `uri`)."""
        doc = self.document(uri)
        return doc.uri if doc is not None else uri

    # -- pygls's handlers feed these --------------------------------------------------------

    def put_text_document(self, text_document: types.TextDocumentItem, notebook_uri=None):
        key = document_key(text_document.uri)
        self._text_documents[key] = self._create_text_document(
            text_document.uri,
            source=text_document.text,
            version=text_document.version,
            language_id=text_document.language_id,
        )
        if notebook_uri:
            self._cell_in_notebook[key] = document_key(notebook_uri)

    def update_text_document(self, text_doc, change) -> None:
        doc = self.document(text_doc.uri)
        if doc is None:  # a change for a document never opened: nothing to apply it to
            log.warning("didChange for a document that is not open: %s", text_doc.uri)
            return
        doc.apply_change(change)
        doc.version = text_doc.version

    def remove_text_document(self, doc_uri: str) -> None:
        key = document_key(doc_uri)
        self._text_documents.pop(key, None)
        self._cell_in_notebook.pop(key, None)
