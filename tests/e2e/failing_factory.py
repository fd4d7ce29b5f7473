"""Test-only engine factory (`TANDEM_TEST_ENGINE_FACTORY`) whose model can be made to fail.

While the file named by `$TANDEM_TEST_ENGINE_ERROR` holds text, starting a generation raises
`EngineError` with that text (what a dead server or a broken model does to every keystroke);
when it is empty the engine answers `x + 1`. The engine reports Qwen's FIM tokens, so the
completion pipeline is the real one in between.
"""

from __future__ import annotations

import os

from completion.templates import template_by_name
from inference.base import EngineError, EngineInfo, GenerationRequest
from testing.scripted import ScriptedEngine


class _FailingEngine(ScriptedEngine):
    @property
    def info(self) -> EngineInfo:
        info = super().info
        info.special_tokens = list(template_by_name("qwen").tokens)
        return info

    def start(self, request: GenerationRequest):
        with open(os.environ["TANDEM_TEST_ENGINE_ERROR"], encoding="utf-8") as f:
            error = f.read().strip()
        if error:
            raise EngineError(error)
        return super().start(request)


def make_engine(settings) -> ScriptedEngine:
    return _FailingEngine("x + 1")
