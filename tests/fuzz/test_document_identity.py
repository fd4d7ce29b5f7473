"""The server's copy of a document is the editor's (issue 26, defect 1) and every spelling of a
URI is served (defect 4), through the real `tandem lsp` process and a fake backend that records
every prompt."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.fuzz.harness import Backend, LspProcess, count, openai_settings

REPRO = "import os\n#\x0c\na = 1\nb = 2\n\n\ndef f():\n    return a\n"
AFTER_DELETE = "import os\n#\x0c\na = 1\n\n\ndef f():\n    return a\n"


@pytest.fixture
def backend():
    b = Backend("ok")
    yield b
    b.close()


def _rng(l0: int, c0: int, l1: int, c1: int) -> dict:
    return {"start": {"line": l0, "character": c0}, "end": {"line": l1, "character": c1}}


async def _finished(lsp: LspProcess, before: int) -> None:
    """Wait for the CodeChat run's one window/showMessage (the client shows no chatResult)."""
    for _ in range(3000):
        if sum(n.get("method") == "window/showMessage" for n in lsp.notifications) > before:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the CodeChat run never finished")


async def _refactor(lsp: LspProcess, arg: dict) -> dict:
    """Run tandem.refactor to its end; the workspace/applyEdit it sent (or fail)."""
    shown = sum(n.get("method") == "window/showMessage" for n in lsp.notifications)
    edits = sum(r["method"] == "workspace/applyEdit" for r in lsp.server_requests)
    res = await lsp.request("workspace/executeCommand",
                            {"command": "tandem.refactor", "arguments": [arg]})  # fmt: skip
    assert res is not None and res["result"]["ok"], res
    await _finished(lsp, shown)
    sent = [r for r in lsp.server_requests if r["method"] == "workspace/applyEdit"]
    messages = [n["params"]["message"] for n in lsp.notifications
                if n.get("method") == "window/showMessage"]  # fmt: skip
    assert len(sent) == edits + 1, messages[-1]
    return sent[-1]["params"]["edit"]


def _apply(text: str, edits: list[dict]) -> str:
    """Apply LSP TextEdits (UTF-16 positions, \\n-only text here) as an editor would."""
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)

    def offset(p: dict) -> int:
        return starts[p["line"]] + p["character"]

    for e in sorted(edits, key=lambda e: offset(e["range"]["start"]), reverse=True):
        text = (
            text[: offset(e["range"]["start"])] + e["newText"] + text[offset(e["range"]["end"]) :]
        )
    return text


async def test_the_issue_repro_refactors_the_line_the_user_sees(backend, tmp_path):
    """didOpen with a form feed, delete line 3, refactor line 2 at version 2: the model gets
    `a = 1` (pygls's copy had `b = 2` there) and the edit changes `a = 1`, nothing else."""
    lsp = await LspProcess.start(openai_settings(backend.url))
    try:
        await lsp.initialize(str(tmp_path))
        uri = f"file://{tmp_path}/ff.py"
        lsp.open(uri, REPRO)
        lsp.send({"method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": 2},
            "contentChanges": [{"range": _rng(3, 0, 4, 0), "text": ""}],
        }})  # fmt: skip
        backend.chat_answer = "```python\na = 2\n```"
        edit = await _refactor(lsp, {"uri": uri, "version": 2, "range": _rng(2, 0, 2, 5)})
        prompts = [b for b in backend.bodies if "Refactor" in b]
        assert len(prompts) == 1 and "a = 1" in prompts[0] and "b = 2" not in prompts[0]
        (doc_edit,) = (
            edit["documentChanges"]
            if "documentChanges" in edit
            else [{"textDocument": {"uri": uri, "version": 2}, "edits": edit["changes"][uri]}]
        )
        assert doc_edit["textDocument"]["uri"] == uri
        assert _apply(AFTER_DELETE, doc_edit["edits"]) == AFTER_DELETE.replace("a = 1", "a = 2")
        count("document sync", "cases")
    finally:
        await lsp.stop()


def _uri_forms(root) -> list[str]:
    return [
        f"file://{root}/my%20file.py",  # a space
        "file:///c%3A/Users/dev/proj/app.py",  # VS Code on Windows
        f"file://{root}/issue%2342.py",  # '#'
        f"file://{root}/caf%C3%A9.py",  # 'é'
    ]


async def test_every_uri_form_is_served_by_every_feature(backend, tmp_path):
    lsp = await LspProcess.start(openai_settings(backend.url, completionMode="both"))
    try:
        await lsp.initialize(str(tmp_path))
        for uri in _uri_forms(tmp_path):
            lsp.open(uri, "x = 1\n\n\ndef add(a, b):\n")
            # inline completion and plain completion
            backend.chat_answer = None
            res = await lsp.complete(uri, 4, 0)
            items = (res.get("result") or {}).get("items") or []
            assert items and "a + b" in items[0]["insertText"], (uri, res)
            res = await lsp.request("textDocument/completion", {
                "textDocument": {"uri": uri}, "position": {"line": 4, "character": 0},
            })  # fmt: skip
            assert (res.get("result") or {}).get("items"), (uri, res)
            # code actions, named by the client's own URI
            res = await lsp.request("textDocument/codeAction", {
                "textDocument": {"uri": uri}, "range": _rng(0, 0, 0, 3),
                "context": {"diagnostics": []},
            })  # fmt: skip
            actions = res.get("result") or []
            assert actions, (uri, res)
            assert all(a["command"]["arguments"][0]["uri"] == uri for a in actions), actions
            # the user finishes the function (a whole-document change, by the same URI)
            lsp.send({"method": "textDocument/didChange", "params": {
                "textDocument": {"uri": uri, "version": 2},
                "contentChanges": [{"text": "x = 1\n\n\ndef add(a, b):\n    return a + b\n"}],
            }})  # fmt: skip
            # CodeChat: an answer, and an edit that names the buffer as the client does
            shown = sum(n.get("method") == "window/showMessage" for n in lsp.notifications)
            backend.chat_answer = "It adds."
            res = await lsp.request(
                "workspace/executeCommand",
                {"command": "tandem.explain", "arguments": [{"uri": uri}]},
            )
            assert res["result"]["ok"], (uri, res)
            await _finished(lsp, shown)
            backend.chat_answer = "```python\nx = 2\n```"
            edit = await _refactor(lsp, {"uri": uri, "range": _rng(0, 0, 0, 5)})
            assert json.dumps(edit).count(json.dumps(uri)) == 1, (uri, edit)
            count("uri forms", "cases", 5)
    finally:
        await lsp.stop()
