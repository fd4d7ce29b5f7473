"""Document sync through the real server (pytest-lsp over stdio): random edit sequences over
text full of every line-break character, in each position encoding, sent as the editor's
didChange notifications (several changes in one, as multi-cursor editing sends them); after
every notification the server's text is the editor's (defect 1 of issue 26)."""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, client_capabilities

from tests.lsp_server.editor_model import Editor, random_text

ROOT = Path(__file__).resolve().parents[2]
SERVER = Path(__file__).with_name("docsync_server.py")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8"])  # utf-32: the store's own test
async def test_the_servers_text_never_diverges_from_the_editors(encoding):
    config = ClientServerConfig(
        server_command=[sys.executable, str(SERVER)],
        # a scripted stand-in engine: nothing loads a model while the test types
        server_env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TANDEM_TEST_ENGINE_FACTORY": "tests.codechat.scripted_factory:make_engine",
        },
    )
    client = await config.start()
    caps = client_capabilities("visual-studio-code")
    caps.general = types.GeneralClientCapabilities(position_encodings=[encoding])
    init = await client.initialize_session(types.InitializeParams(capabilities=caps))
    assert init.capabilities.position_encoding == encoding
    rng = random.Random(f"docsync-lsp-{encoding}")
    checks = 0
    try:
        for seq in range(12):
            uri = f"file:///w/doc%20{seq}.py"  # a percent-encoded URI, as VS Code sends it
            text = random_text(rng, 40)
            editor = Editor(text, encoding)
            client.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
                )
            )
            for version in range(2, 14):
                changes: list = []
                for _ in range(rng.randint(1, 3)):
                    start, end, new = editor.random_edit(rng)
                    editor.apply(start, end, new)
                    changes.append(
                        types.TextDocumentContentChangePartial(
                            range=types.Range(types.Position(*start), types.Position(*end)),
                            text=new,
                        )
                    )
                client.text_document_did_change(
                    types.DidChangeTextDocumentParams(
                        types.VersionedTextDocumentIdentifier(uri=uri, version=version), changes
                    )
                )
                got = await client.workspace_execute_command_async(
                    types.ExecuteCommandParams(
                        command="tandemTest.documentText", arguments=[{"uri": uri}]
                    )
                )
                assert got == editor.text, (seq, version, changes)
                checks += 1
            client.text_document_did_close(
                types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=uri))
            )
        assert checks == 12 * 12
    finally:
        await client.shutdown_session()
        await client.stop()
