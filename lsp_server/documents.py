"""Safe access to open documents: unknown, huge and binary documents give a clear reason."""

from __future__ import annotations

import itertools
import re
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from completion.context.privacy import redact_secrets, refusal_reason
from lsp_server.positions import split_lines
from lsp_server.uris import document_key
from textkit.lines import LSP_LINE_BREAK

#: A UTF-16 surrogate code point not paired up: JSON allows the escape "\\ud800", Python keeps it,
#: and UTF-8 encoders (tokenizers, tree-sitter, httpx) raise on it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def sanitize_text(text: str) -> str:
    """Text any encoder accepts, with the same length in UTF-16 code units and code points.

    A lone surrogate becomes U+FFFD (one unit for one unit), so positions the client computes
    over its own text still land on the same characters. NUL bytes and lone "\\r" stay: NUL
    marks a binary document (refused in `snapshot`), and "\\r" is an LSP line break.
    """
    return sanitized_with_size(text)[0]


def sanitized_with_size(text: str) -> tuple[str, int]:
    """`sanitize_text(text)` and its size in UTF-8 bytes, from one encoding pass in the common
    case (0.3 ms per 360 kB; it fails only on a lone surrogate)."""
    if not isinstance(text, str):
        return "", 0
    try:
        return text, len(text.encode("utf-8"))
    except UnicodeEncodeError:
        clean = _LONE_SURROGATE.sub(REPLACEMENT, text)
        return clean, len(clean.encode("utf-8"))


class DocumentUnavailable(Exception):
    """The request cannot be served for this document; the message says why."""


class DocumentRefused(DocumentUnavailable):
    """A secret or excluded document: no model may see it (a quiet status, not an error)."""


@dataclass
class DocumentSnapshot:
    """One version of an open document. What requests derive from the whole text (its lines,
    line starts, the redacted copy) is computed once per version and shared: on a 10k-line
    document each is a millisecond or more, and several requests (inline items, candidates,
    CodeChat, other documents' context) read the same version."""

    uri: str
    language_id: str
    version: int | None
    text: str
    _lines: list[str] | None = field(default=None, repr=False, compare=False)
    _starts: list[int] | None = field(default=None, repr=False, compare=False)
    _redacted: str | None = field(default=None, repr=False, compare=False)
    #: What cross-file context leaves out of this version was logged (once per version).
    context_noted: bool = field(default=False, repr=False, compare=False)

    @property
    def lines(self) -> list[str]:
        """`split_lines(text)`: lines without their terminators (treat as read-only)."""
        if self._lines is None:
            self._lines = split_lines(self.text)
        return self._lines

    @property
    def redacted_text(self) -> str:
        """The text with secrets masked, same length (positions hold): what a model may see."""
        if self._redacted is None:
            self._redacted = redact_secrets(self.text)[0]
        return self._redacted

    def offset(self, line: int, column: int) -> int:
        """The string index of (line, code-point column); the column is clamped to the line."""
        if self._starts is None:
            if "\r" in self.text:  # terminators of 1 or 2 characters
                self._starts = [0, *(m.end() for m in LSP_LINE_BREAK.finditer(self.text))]
            else:
                self._starts = [0, *itertools.accumulate(len(x) + 1 for x in self.lines[:-1])]
        return self._starts[line] + min(column, len(self.lines[line]))


def language_of(uri: str, language_id: str | None) -> str:
    if language_id:
        return language_id
    ext = uri.rsplit(".", 1)[-1].lower() if "." in uri.rsplit("/", 1)[-1] else ""
    return {
        "py": "python", "js": "javascript", "ts": "typescript", "go": "go", "rs": "rust",
        "java": "java", "c": "c", "h": "c", "cpp": "cpp", "cc": "cpp", "hpp": "cpp",
        "lua": "lua", "rb": "ruby", "md": "markdown",
    }.get(ext, "plaintext")  # fmt: skip


#: TextDocument -> (what the snapshot was taken under, the snapshot or why it was refused).
#: Weak: a closed document's entry goes with it. The key holds the source string itself, so an
#: edit (which replaces it) is a miss even when a client repeats a version number.
_SNAPSHOTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def snapshot(
    workspace, uri: str, max_bytes: int, exclude_globs: Sequence[str] = ()
) -> DocumentSnapshot:
    """The current text of an open document, or DocumentUnavailable (DocumentRefused for a
    secret or excluded one: completion and CodeChat both come through here, so neither can send
    a `.env` to a model). Taken once per document version and settings."""
    doc = open_document(workspace, uri)
    if doc is None:
        raise DocumentUnavailable(f"document is not open: {uri} (send textDocument/didOpen first)")
    uri = doc.uri  # as the client opened it: what edits and context name it by
    source = doc.source
    root = getattr(workspace, "root_path", None)
    key = (doc.version, doc.language_id, max_bytes, tuple(exclude_globs), root)
    try:
        cached = _SNAPSHOTS.get(doc)
    except TypeError:  # a document type that cannot be weakly referenced: no cache
        cached = None
    if cached is not None and cached[0] is source and cached[1] == key:
        if isinstance(cached[2], DocumentUnavailable):
            raise cached[2]
        return cached[2]
    try:
        result: DocumentSnapshot | DocumentUnavailable = _take(uri, doc, source, max_bytes, root,
                                                               exclude_globs)  # fmt: skip
    except DocumentUnavailable as exc:
        result = exc
    try:
        _SNAPSHOTS[doc] = (source, key, result)
    except TypeError:
        pass
    if isinstance(result, DocumentUnavailable):
        raise result
    return result


def open_document(workspace, uri: str):
    """The open document `uri` names in any spelling of it (percent-encoding, drive letter
    case), or None; never a file read from disk."""
    find = getattr(workspace, "document", None)
    if find is not None:  # the DocumentStore
        return find(uri)
    key = document_key(uri)  # a plain pygls Workspace (unit tests): keys are unquoted URIs
    return next((d for k, d in workspace.text_documents.items() if document_key(k) == key), None)


def _take(uri: str, doc, source, max_bytes: int, root, exclude_globs) -> DocumentSnapshot:
    text, size = sanitized_with_size(source)
    if size > max_bytes:
        raise DocumentUnavailable(
            f"document is too large for AI completion ({size} bytes > {max_bytes}); "
            "raise `tandem.maxDocumentBytes` to allow it"
        )
    if "\x00" in text:
        raise DocumentUnavailable("document looks binary (contains NUL bytes); skipped")
    language_id = language_of(uri, doc.language_id)
    reason = refusal_reason(uri, language_id, text, root, tuple(exclude_globs))
    if reason:
        raise DocumentRefused(reason)
    return DocumentSnapshot(uri, language_id, doc.version, text)


class RecentDocuments:
    """Most-recently opened/edited URIs first: cross-file context prefers what the user touched.
    One entry per document, however the client spells its URI (`document_key`)."""

    def __init__(self, capacity: int = 20) -> None:
        self._order: OrderedDict[str, str] = OrderedDict()  # key -> the URI last used
        self._capacity = capacity

    def touch(self, uri: str) -> None:
        key = document_key(uri)
        self._order[key] = uri
        self._order.move_to_end(key, last=False)
        while len(self._order) > self._capacity:
            self._order.popitem(last=True)

    def forget(self, uri: str) -> str | None:
        """Drop the document; returns the URI it was last touched by (None: unknown)."""
        return self._order.pop(document_key(uri), None)

    def others(self, uri: str) -> list[str]:
        key = document_key(uri)
        return [u for k, u in self._order.items() if k != key]
