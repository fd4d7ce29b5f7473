"""Safe access to open documents: unknown, huge and binary documents give a clear reason."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from completion.context.privacy import refusal_reason

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
    uri: str
    language_id: str
    version: int | None
    text: str


def language_of(uri: str, language_id: str | None) -> str:
    if language_id:
        return language_id
    ext = uri.rsplit(".", 1)[-1].lower() if "." in uri.rsplit("/", 1)[-1] else ""
    return {
        "py": "python", "js": "javascript", "ts": "typescript", "go": "go", "rs": "rust",
        "java": "java", "c": "c", "h": "c", "cpp": "cpp", "cc": "cpp", "hpp": "cpp",
        "lua": "lua", "rb": "ruby", "md": "markdown",
    }.get(ext, "plaintext")  # fmt: skip


def snapshot(
    workspace, uri: str, max_bytes: int, exclude_globs: Sequence[str] = ()
) -> DocumentSnapshot:
    """The current text of an open document, or DocumentUnavailable (DocumentRefused for a
    secret or excluded one: completion and CodeChat both come through here, so neither can send
    a `.env` to a model)."""
    if uri not in workspace.text_documents:
        raise DocumentUnavailable(f"document is not open: {uri} (send textDocument/didOpen first)")
    doc = workspace.get_text_document(uri)
    text, size = sanitized_with_size(doc.source)
    if size > max_bytes:
        raise DocumentUnavailable(
            f"document is too large for AI completion ({size} bytes > {max_bytes}); "
            "raise `tandem.maxDocumentBytes` to allow it"
        )
    if "\x00" in text:
        raise DocumentUnavailable("document looks binary (contains NUL bytes); skipped")
    language_id = language_of(uri, doc.language_id)
    root = getattr(workspace, "root_path", None)
    reason = refusal_reason(uri, language_id, text, root, tuple(exclude_globs))
    if reason:
        raise DocumentRefused(reason)
    return DocumentSnapshot(uri, language_id, doc.version, text)


class RecentDocuments:
    """Most-recently opened/edited URIs first: cross-file context prefers what the user touched."""

    def __init__(self, capacity: int = 20) -> None:
        self._order: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def touch(self, uri: str) -> None:
        self._order[uri] = None
        self._order.move_to_end(uri, last=False)
        while len(self._order) > self._capacity:
            self._order.popitem(last=True)

    def forget(self, uri: str) -> None:
        self._order.pop(uri, None)

    def others(self, uri: str) -> list[str]:
        return [u for u in self._order if u != uri]
