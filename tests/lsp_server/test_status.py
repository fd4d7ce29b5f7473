"""`tandem/status` names the engine and model actually running, not just the settings."""

from __future__ import annotations

from inference.base import Engine, EngineInfo, Generation, GenerationRequest
from lsp_server.engine_manager import EngineManager
from lsp_server.server import TandemServer


class _Loaded(Engine):
    def __init__(self, name: str, model: str) -> None:
        self._info = EngineInfo(name, model)

    @property
    def info(self) -> EngineInfo:
        return self._info

    def start(self, request: GenerationRequest) -> Generation:  # pragma: no cover - unused
        raise NotImplementedError

    def count_tokens(self, text: str) -> int:
        return len(text)


async def test_status_reports_the_fallback_model_that_actually_loaded():
    ls = TandemServer()
    # no model configured: the builder falls back to the tiny model (as default_model() does
    # when the shipped demo pair is missing)
    ls.engines = EngineManager(lambda s: (_Loaded("local", "/cache/tandem/tiny-model"), "tiny"))
    ls.send_status("loading", "loading model")
    assert ls.last_status["engine"] == "local"
    assert ls.last_status["model"] == "(default model)"  # nothing loaded yet: settings
    await ls.engines.get(ls.settings)
    ls.send_status("ready")
    assert ls.last_status["model"] == "/cache/tandem/tiny-model"


async def test_status_reports_the_running_engine_while_settings_already_changed():
    ls = TandemServer()
    ls.engines = EngineManager(lambda s: (_Loaded("openai", "qwen2.5-coder-1.5b"), None))
    ls.settings, _ = ls.settings.merged({"engine": "openai"})
    await ls.engines.get(ls.settings)
    ls.settings, _ = ls.settings.merged({"model": "/models/other"})  # not loaded yet
    ls.send_status("ready")
    assert (ls.last_status["engine"], ls.last_status["model"]) == (
        "openai",
        "qwen2.5-coder-1.5b",
    )


async def test_an_engine_error_is_shown_once_when_the_load_finishes_after_the_failure():
    """The CI race: a keystroke fails on the engine before warm-up's "loaded" step runs. That
    load is not news, so the same error on the next keystroke is not shown a second time; a
    newly loaded engine (settings changed) makes it news again."""
    ls = TandemServer()
    shown: list[str] = []
    ls.notify_user = lambda message, kind=None: shown.append(message)  # type: ignore[method-assign]
    first = _Loaded("local", "/m/a")
    ls.engines = EngineManager(lambda s: (first, None))
    engine = await ls.engines.get(ls.settings)
    ls.engine_failed("out of memory")  # the keystroke
    ls.engine_loaded(engine)  # warm-up finishing after it
    ls.engine_failed("out of memory")  # the next keystroke
    assert shown == ["out of memory"]
    ls.engine_loaded(_Loaded("local", "/m/b"))  # another engine: a failure is news again
    ls.engine_failed("out of memory")
    assert shown == ["out of memory", "out of memory"]
