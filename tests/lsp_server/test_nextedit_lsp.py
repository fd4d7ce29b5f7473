"""`tandem/nextEdit` and `tandem.applyNextEdit` through the real server (pytest-lsp).

The "model" is the rename stand-in (testing/nextedit_oracle.py): after the user renames a
parameter, it proposes the same rename in the region. Checked here: the edit comes back as
LSP ranges lines away from the cursor with the document version and an accept command; a
stale version, bad params, NES switched off and the apply command.
"""

from __future__ import annotations

import os
import sys

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsp_server.protocol import NEXT_EDIT_APPLY_COMMAND, NEXT_EDIT_REQUEST, TEST_ENGINE_FACTORY_ENV

URI = "file:///work/project/geo.py"
BEFORE = "def area(w, h):\n    check(w)\n    check(h)\n    return w * h\n"
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "lsp_server", "lsp"],
        server_env={**os.environ, TEST_ENGINE_FACTORY_ENV: "testing.nextedit_oracle:rename_engine"},
    ),
)
async def client(lsp_client: LanguageClient):
    lsp_client.applied = []  # type: ignore[attr-defined]

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def on_apply(params: types.ApplyWorkspaceEditParams):
        lsp_client.applied.append(params.edit)
        return types.ApplyWorkspaceEditResult(applied=True)

    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            initialization_options={"nextEdit": True},
        )
    )
    lsp_client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=URI, language_id="python", version=1, text=BEFORE
            )
        )
    )
    # the user renames `w` in the signature
    lsp_client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(0, 9), types.Position(0, 10)), text="width"
                )
            ],
        )
    )
    yield
    await lsp_client.shutdown_session()


def _params(version: int | None = 2, line: int = 0, character: int = 14) -> dict:
    doc: dict = {"uri": URI}
    if version is not None:
        doc["version"] = version
    return {"textDocument": doc, "position": {"line": line, "character": character}}


async def test_next_edit_proposes_the_rename_lines_away(client: LanguageClient):
    result = await client.protocol.send_request_async(NEXT_EDIT_REQUEST, _params())
    edits = [(e.range.start.line, e.range.start.character, e.range.end.character, e.text)
             for e in result.edits]  # fmt: skip
    assert edits == [(1, 10, 11, "width"), (3, 11, 12, "width")]
    first = result.edits[0]
    assert first.textDocument.uri == URI and first.textDocument.version == 2
    assert first.command.command == "tandem.completionAccepted"
    assert result.stats.stopped_early in (True, False) and result.stats.format == "generic"


async def test_a_stale_version_answers_at_once(client: LanguageClient):
    result = await client.protocol.send_request_async(NEXT_EDIT_REQUEST, _params(version=1))
    assert list(result.edits) == [] and result.reason == "stale"


async def test_bad_params_are_invalid_params(client: LanguageClient):
    with pytest.raises(Exception, match="position"):
        await client.protocol.send_request_async(NEXT_EDIT_REQUEST, {"textDocument": {"uri": URI}})
    with pytest.raises(Exception, match="out of range"):
        await client.protocol.send_request_async(NEXT_EDIT_REQUEST, _params(line=99))


async def test_apply_command_edits_through_apply_edit(client: LanguageClient):
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=NEXT_EDIT_APPLY_COMMAND, arguments=[])
    )
    assert result == {"applied": True, "edits": 2}
    [edit] = client.applied
    [doc_edit] = edit.document_changes
    assert doc_edit.text_document.version == 2
    assert [e.new_text for e in doc_edit.edits] == ["width", "width"]


async def test_switched_off_answers_off(client: LanguageClient):
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"tandem": {"nextEdit": False}})
    )
    result = await client.protocol.send_request_async(NEXT_EDIT_REQUEST, _params())
    assert list(result.edits) == [] and result.reason == "off"
