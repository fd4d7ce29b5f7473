"""Test-only engine factory for the real server process (`TANDEM_TEST_ENGINE_FACTORY`).

The e2e tests write a JSON script to `$TANDEM_SCRIPTED_ANSWERS` before each request:
``{"answers": {"refactor": str, "docs": str, ...}, "delay_s": float, "chunk": int}``, plus
``"raise": str`` to make starting a generation raise RuntimeError (an unexpected bug). The
answer for the action named in the prompt is streamed back, so the tests control exactly what
"the model" says while everything else (LSP, prompts, checks, diffs, applyEdit) is real.
"""

from __future__ import annotations

import json
import os

from testing.scripted import ScriptedEngine

_MARKERS = [
    ("refactor", "Refactor the code"),
    ("docs", "documentation of the code"),
    ("tests", "Write unit tests"),
    ("explain", "Explain what the code"),
]


def _script() -> dict:
    with open(os.environ["TANDEM_SCRIPTED_ANSWERS"], encoding="utf-8") as f:
        return json.load(f)


def action_of(prompt: str) -> str:
    return next((a for a, marker in _MARKERS if marker in prompt), "ask")


class _FileScriptedEngine(ScriptedEngine):
    def start(self, request):
        script = _script()
        if script.get("raise"):
            raise RuntimeError(script["raise"])
        self.delay_s = float(script.get("delay_s", 0.0))
        self.chunk = int(script.get("chunk", 16))
        return super().start(request)


def make_engine(settings) -> ScriptedEngine:
    return _FileScriptedEngine(
        lambda req: _script()["answers"].get(action_of(req.prompt or ""), ""),
        chat_template=os.environ.get("TANDEM_SCRIPTED_TEMPLATE") or None,
    )
