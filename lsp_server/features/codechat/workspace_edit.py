"""Checked file changes → one LSP WorkspaceEdit. Pure: it reads nothing and writes nothing.

A new file (generated tests) is created INSIDE the edit, as CreateFile followed by its content,
so nothing exists on disk until the editor applies the edit, and refusing the edit leaves
nothing behind. A client that cannot create files gets `CannotCreate` (the caller shows the
content instead); never a file written by the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lsprotocol import types
from pygls import uris

from codechat.diff import offset_to_line_col
from codechat.runner import FileChange
from lsp_server.positions import split_lines, to_position
from lsp_server.uris import document_key


class CannotCreate(Exception):
    """The edit needs a new file and the client declares no resourceOperations "create"."""

    def __init__(self, path: str, content: str) -> None:
        super().__init__(
            f"your editor cannot create files through LSP (no workspaceEdit.resourceOperations "
            f'"create"); create {path} and paste the content below, or run the command again '
            "once the file exists"
        )
        self.path, self.content = path, content


@dataclass(frozen=True)
class EditTarget:
    """The document the request was made on, and what the client can apply."""

    uri: str
    path: str
    #: The version the request was made against.
    version: int | None
    #: Versions of the open documents, by `document_key` (the client applies edits to its
    #: buffers).
    open_versions: Mapping[str, int | None]
    encoding: str
    capabilities: types.WorkspaceEditClientCapabilities | None
    #: The URI each open document was opened with, by `document_key`: an edit names a buffer
    #: the way its client does (`my%20file.py`, `c%3A/...`), or the client cannot find it.
    open_uris: Mapping[str, str] = field(default_factory=dict)


def can_create_files(caps: types.WorkspaceEditClientCapabilities | None) -> bool:
    """Resource operations only exist inside documentChanges, so a client that lists "create"
    applies documentChanges (Neovim lists it without setting documentChanges)."""
    ops = (caps.resource_operations if caps else None) or []
    return types.ResourceOperationKind.Create in ops


def build_workspace_edit(target: EditTarget, files: list[FileChange]) -> types.WorkspaceEdit:
    """documentChanges (versioned; CreateFile for new files) when the client takes them, else
    plain `changes`. Raises CannotCreate for a new file the client cannot create."""
    caps = target.capabilities
    can_create = can_create_files(caps)
    versioned = bool(caps and caps.document_changes) or can_create
    doc_changes: list[types.TextDocumentEdit | types.CreateFile] = []
    changes: dict[str, list[types.TextEdit]] = {}
    for fc in files:
        if fc.path == target.path:
            uri, version = target.uri, target.version
        else:  # another file (new tests): its open buffer's own URI and version, if open
            uri = uris.from_fs_path(fc.path) or fc.path
            key = document_key(uri)
            uri, version = target.open_uris.get(key, uri), target.open_versions.get(key)
        if fc.create:
            if not can_create:
                raise CannotCreate(fc.path, fc.new_text)
            doc_changes.append(
                types.CreateFile(
                    uri=uri, options=types.CreateFileOptions(overwrite=False, ignore_if_exists=True)
                )
            )
        edits = text_edits(fc, target.encoding)
        if versioned:
            identifier = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
            doc_changes.append(types.TextDocumentEdit(text_document=identifier, edits=edits))
        else:
            changes[uri] = edits
    if versioned:
        return types.WorkspaceEdit(document_changes=doc_changes)
    return types.WorkspaceEdit(changes=changes)


def text_edits(fc: FileChange, encoding: str) -> list[types.TextEdit]:
    """The change's code-point spans as LSP ranges in the negotiated encoding."""
    lines = split_lines(fc.old_text)
    edits = []
    for c in fc.changes:
        (sl, sc), (el, ec) = (
            offset_to_line_col(fc.old_text, c.start),
            offset_to_line_col(fc.old_text, c.end),
        )
        start, end = to_position(lines, sl, sc, encoding), to_position(lines, el, ec, encoding)
        edits.append(types.TextEdit(range=types.Range(start=start, end=end), new_text=c.new_text))
    return edits
