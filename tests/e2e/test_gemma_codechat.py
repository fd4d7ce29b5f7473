"""CodeChat explain on the real default model (Gemma 3 270M base GGUF) through the real LSP
server: the answer ends by itself (a section stop, EOS, or the repetition stop), never runs to
the token limit, and is never empty. A base model has no chat template, so this is the
`alpaca` (### Instruction / ### Response) format end to end."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from lsprotocol import types
from pytest_lsp import ClientServerConfig, client_capabilities

ROOT = Path(__file__).resolve().parents[2]
MAX_TOKENS = 200
SOURCE = (
    "def is_leap(year):\n"
    "    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)\n"
    "\n"
    "\n"
    "def mean(xs):\n"
    "    if not xs:\n"
    '        raise ValueError("empty")\n'
    "    return sum(xs) / len(xs)\n"
)


def _plain(obj):
    if hasattr(obj, "_asdict"):
        return {k: _plain(v) for k, v in obj._asdict().items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj


async def test_explain_on_gemma_ends_by_itself(tmp_path, default_gguf):
    """`is_leap`: Gemma loops on it ("… is a simple example of a python program …"), so this
    also proves the repetition stop on the real model; a fluke answer that ends by itself is
    just as fine."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TANDEM_TEST_ENGINE_FACTORY", None)
    client = await ClientServerConfig(
        server_command=[sys.executable, "-m", "lsp_server", "lsp"], server_env=env
    ).start()
    results: list[dict] = []
    statuses: list[dict] = []
    client.feature("tandem/chatResult")(lambda p: results.append(_plain(p)))
    client.feature("tandem/status")(lambda p: statuses.append(_plain(p)))
    caps = client_capabilities("visual-studio-code")
    caps.experimental = {"tandem": {"chatResult": True}}
    settings = {"model": str(default_gguf), "threads": 1, "chatMaxTokens": MAX_TOKENS}
    await client.initialize_session(
        types.InitializeParams(capabilities=caps, initialization_options=settings)
    )
    try:
        uri = (tmp_path / "cal.py").as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=SOURCE
                )
            )
        )
        started = _plain(
            await client.workspace_execute_command_async(
                types.ExecuteCommandParams(
                    command="tandem.explain",
                    arguments=[{"uri": uri, "position": {"line": 0, "character": 5}}],
                )
            )
        )
        assert started["ok"] and started.get("pending"), started
        for _ in range(3000):  # bounded: 5 minutes on a loaded 2-core machine, seconds idle
            if results:
                break
            await asyncio.sleep(0.1)
        assert len(results) == 1, statuses[-3:]
        result = results[0]
        # an answer, or the repetition stop with the text before the loop: never "ready" for a
        # loop, never empty, never the token limit
        assert result["ok"] or result.get("reason") == "repetition", result
        assert (result.get("markdown") or "").strip(), result
        if not result["ok"]:
            assert "repeated itself" in result["message"]
        stats = [
            s["request"]["stats"]
            for s in statuses
            if s.get("request", {}).get("kind") == "codechat" and s["request"].get("stats")
        ]
        assert stats and stats[-1]["engine"] == "llamacpp"
        assert 0 < stats[-1]["generated_tokens"] < MAX_TOKENS, stats[-1]
        assert stats[-1]["finish_reason"] in ("stop", "cancelled"), stats[-1]
    finally:
        await client.shutdown_session()
        await client.stop()
