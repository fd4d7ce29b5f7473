"""The real default model through the real server: `tandem lsp` with no configuration serves the
fetched Gemma 3 270M GGUF (and says which model in its status); with nothing fetched it serves
the demo pair and says it is a plumbing demo; a configured model wins over both. Completions from
Gemma at realistic cursors are non-empty and parse.

Gemma loads once for the module (about a second); the demo-pair and configured-model sessions
are short. Greedy decoding, so the outputs are fixed for a machine; the assertions are about
what any sensible continuation satisfies, not exact strings."""

from __future__ import annotations

import ast
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types

from inference.defaults import DEMO_DIR
from tests.e2e.real_server import real_session, wait_ready

pytestmark = pytest.mark.asyncio(loop_scope="module")


@asynccontextmanager
async def session(models_dir: Path, settings: dict | None = None):
    """`tandem lsp` with TANDEM_MODELS=models_dir and `settings` (None: no configuration at
    all), initialized as VS Code with inline completion; waits until the model is ready."""
    async with real_session(settings, env={"TANDEM_MODELS": str(models_dir)}) as client:
        await wait_ready(client)
        yield client


def _shown(client) -> list[str]:
    """window/showMessage texts (pytest-lsp's client keeps them)."""
    return [m.message for m in client.messages]


def _ready_status(client) -> dict:
    return next(s for s in client.statuses if s["state"] == "ready")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gemma(default_gguf):
    async with session(default_gguf.parent) as client:
        yield client


# Each case is a file as a user has it mid-typing, `‸` the cursor; a separate document each,
# so the file with the suggestion inserted must parse on its own.
CASES = {
    "comprehension": '''from dataclasses import dataclass


@dataclass
class Task:
    title: str
    done: bool = False


def pending(tasks: list[Task]) -> list[Task]:
    """Return the tasks that are not done yet."""
    return [task for task in tasks if ‸
''',
    "call arguments": '''import os


def file_size(path):
    """Return the size of a file in bytes."""
    return os.path.getsize(‸
''',
    "body after docstring": '''def count_words(text: str) -> int:
    """Count the words in a string."""
    ‸
''',
}


async def _complete(client, name: str, text: str) -> tuple[str, str]:
    """(the suggestion, the document with it applied as an editor would) for one case."""
    before, _, after = text.partition("‸")
    doc = before + after
    line = before.count("\n")
    char = len(before) - (before.rfind("\n") + 1)
    uri = f"file:///work/project/{name.replace(' ', '_')}.py"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=doc)
        )
    )
    result = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=char),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Invoked
            ),
        )
    )
    items = result.items if isinstance(result, types.InlineCompletionList) else (result or [])
    if not items:
        return "", doc
    item = items[0]
    text = item.insert_text if isinstance(item.insert_text, str) else item.insert_text.value
    start, end = len(before), len(before)
    if item.range is not None:  # the edit may replace part of the cursor line
        start = _offset(doc, item.range.start)
        end = _offset(doc, item.range.end)
    return text, doc[:start] + text + doc[end:]


def _offset(doc: str, pos: types.Position) -> int:
    lines = doc.split("\n")
    return sum(len(line) + 1 for line in lines[: pos.line]) + pos.character  # ASCII cases


async def test_no_configuration_serves_the_fetched_gemma_on_llamacpp(gemma, default_gguf):
    ready = _ready_status(gemma)
    assert (ready["engine"], ready["model"]) == ("llamacpp", str(default_gguf))
    assert ready["prompt"]["mode"] == "prefix"  # Gemma has no FIM tokens, and the status says so
    assert "prefix" in ready["message"]
    assert not any("plumbing demo" in m for m in _shown(gemma)), _shown(gemma)


@pytest.mark.parametrize("name", list(CASES))
async def test_gemma_completes_realistic_cursors_with_code_that_parses(gemma, name):
    suggestion, completed = await _complete(gemma, name, CASES[name])
    assert suggestion.strip(), f"no suggestion for {name!r}"
    try:
        ast.parse(completed)
    except SyntaxError as exc:
        raise AssertionError(f"{name}: {suggestion!r} does not parse:\n{completed}") from exc
    for marker in ("<|fim", "<fim", "# Path:", "<start_of_turn>", "<eos>"):
        assert marker not in suggestion, suggestion


async def test_nothing_fetched_serves_the_demo_pair_and_says_it_is_a_plumbing_demo(tmp_path):
    async with session(tmp_path) as client:
        ready = _ready_status(client)
        assert ready["model"] == str(DEMO_DIR / "target")
        assert any("plumbing demo" in m and "fetch_default_model" in m for m in _shown(client))


async def test_a_configured_model_wins_over_the_fetched_default(default_gguf, tiny_gguf):
    async with session(default_gguf.parent, {"model": str(tiny_gguf[0]), "threads": 1}) as c:
        assert _ready_status(c)["model"] == str(tiny_gguf[0])
