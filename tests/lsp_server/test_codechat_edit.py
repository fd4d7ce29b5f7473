"""The CodeChat WorkspaceEdit builder is pure, and new files only ever exist inside an edit;
target paths must resolve inside a workspace folder (../ and symlinks included)."""

from __future__ import annotations

import os

import pytest
from lsprotocol import types

from codechat.diff import Change
from codechat.runner import FileChange
from codechat.testfiles import OutsideWorkspace, contained_path
from lsp_server.features.codechat.workspace_edit import (
    CannotCreate,
    EditTarget,
    build_workspace_edit,
)

SRC = "def add(a, b):\n    return a + b\n"
TESTS = "from sample import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"


def target(tmp_path, caps: types.WorkspaceEditClientCapabilities | None) -> EditTarget:
    path = str(tmp_path / "sample.py")
    return EditTarget(
        uri=f"file://{path}", path=path, version=3, open_versions={}, encoding="utf-16",
        capabilities=caps,
    )  # fmt: skip


def new_test_file(tmp_path) -> FileChange:
    return FileChange(str(tmp_path / "test_sample.py"), True, "", TESTS, [Change(0, 0, TESTS)])


NVIM = types.WorkspaceEditClientCapabilities(
    resource_operations=[types.ResourceOperationKind.Create]
)
VSCODE = types.WorkspaceEditClientCapabilities(
    document_changes=True, resource_operations=[types.ResourceOperationKind.Create]
)
EMACS = types.WorkspaceEditClientCapabilities(document_changes=True)


@pytest.mark.parametrize("caps", [NVIM, VSCODE], ids=["nvim", "vscode"])
def test_new_file_is_created_inside_the_edit_and_nothing_on_disk(tmp_path, caps):
    edit = build_workspace_edit(target(tmp_path, caps), [new_test_file(tmp_path)])
    create, fill = edit.document_changes
    assert isinstance(create, types.CreateFile) and create.uri.endswith("/test_sample.py")
    assert create.options.overwrite is False and create.options.ignore_if_exists is True
    assert isinstance(fill, types.TextDocumentEdit) and fill.text_document.uri == create.uri
    assert fill.edits[0].new_text == TESTS
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("caps", [EMACS, None], ids=["emacs", "no-caps"])
def test_clients_that_cannot_create_get_the_content_not_a_file(tmp_path, caps):
    with pytest.raises(CannotCreate) as err:
        build_workspace_edit(target(tmp_path, caps), [new_test_file(tmp_path)])
    assert err.value.content == TESTS and "cannot create files" in str(err.value)
    assert os.listdir(tmp_path) == []


def test_edits_to_the_document_are_versioned_or_plain(tmp_path):
    t = target(tmp_path, EMACS)
    change = FileChange(
        t.path, False, SRC, SRC.replace("a + b", "b + a"), [Change(26, 31, "b + a")]
    )
    (doc_edit,) = build_workspace_edit(t, [change]).document_changes
    assert doc_edit.text_document.version == 3
    assert doc_edit.edits[0].range == types.Range(types.Position(1, 11), types.Position(1, 16))
    plain = build_workspace_edit(target(tmp_path, None), [change])
    assert list(plain.changes) == [t.uri]


def test_contained_path_accepts_paths_inside(tmp_path):
    (tmp_path / "pkg").mkdir()
    inside = str(tmp_path / "pkg" / "test_x.py")
    assert contained_path(inside, [str(tmp_path)]) == inside
    # a new directory below the workspace is still inside
    deeper = str(tmp_path / "src" / "test" / "XTest.java")
    assert contained_path(deeper, [str(tmp_path)]) == deeper


def test_contained_path_refuses_dotdot_and_symlinks(tmp_path):
    ws, outside = tmp_path / "ws", tmp_path / "outside"
    ws.mkdir()
    outside.mkdir()
    (ws / "link").symlink_to(outside, target_is_directory=True)
    (ws / "test_evil.py").symlink_to(outside / "evil.py")  # the file itself is a link
    for path in (
        str(ws / ".." / "outside" / "test_x.py"),
        str(ws / "a" / "b" / ".." / ".." / ".." / "x" / "y" / "z" / "test_x.py"),
        str(ws / "link" / "test_x.py"),
        str(ws / "test_evil.py"),
    ):
        with pytest.raises(OutsideWorkspace, match="outside the workspace folders"):
            contained_path(path, [str(ws)])
    with pytest.raises(OutsideWorkspace, match="not an absolute path"):
        contained_path("test_x.py", [str(ws)])
    assert sorted(os.listdir(outside)) == []
