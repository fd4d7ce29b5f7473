"""Owns the engine: builds it from settings off the event loop, swaps it when settings change,
and turns load failures into a clear, remembered error instead of a crash."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable

from inference.base import Engine, EngineError
from inference.defaults import FETCH_HINT, default_model, demo_model
from lsp_server.prompt_guard import guarded
from lsp_server.settings import Settings

log = logging.getLogger(__name__)


def is_gguf(path: str | None) -> bool:
    return bool(path) and str(path).lower().endswith(".gguf")


def uses_llamacpp(s: Settings) -> bool:
    """`engine: "llamacpp"`, or the default engine with `model` pointing at a .gguf file."""
    return s.engine == "llamacpp" or (s.engine == "local" and is_gguf(s.model))


def _engine_key(s: Settings) -> tuple:
    if s.engine == "openai":
        return (
            "openai", tuple(s.endpoint), s.api_key, s.model_name, s.tokenizer, s.fim_template,
            s.completion_timeout_s, s.chat_timeout_s,
        )  # fmt: skip
    if uses_llamacpp(s):
        return (
            "llamacpp",
            s.model,
            s.draft_model,
            s.threads,
            s.context_size,
            s.num_speculative_tokens,
        )
    return ("local", s.model, s.draft_model, s.device, s.num_speculative_tokens)


def build_llamacpp_engine(s: Settings) -> Engine:
    """Blocking: the llama.cpp engine for a GGUF `model` (and optional GGUF `draftModel`)."""
    if not is_gguf(s.model):
        raise EngineError(
            'engine "llamacpp" needs `model` pointing at a .gguf file'
            + (f", got {s.model!r}" if s.model else "")
        )
    if s.draft_model and not is_gguf(s.draft_model):
        raise EngineError(
            f"draftModel {s.draft_model!r} is not a .gguf file; the llama.cpp engine needs a "
            "GGUF draft with the target's vocabulary"
        )
    from inference.llamacpp import LlamaCppEngine

    return LlamaCppEngine.load(
        s.model,
        s.draft_model,
        n_threads=s.threads or None,
        n_ctx=s.context_size,
        num_speculative=s.num_speculative_tokens,
    )


def build_engine(s: Settings) -> tuple[Engine, str | None]:
    """Blocking: construct the engine for `s`. Returns (engine, notice for the user or None).

    With no `model` configured: the fetched default GGUF (Gemma 3 270M) on llama.cpp, named in
    the log and the status; else the shipped demo pair, with a notice shown to the user that it
    is a plumbing demo (`inference/defaults.py` has the order)."""
    if s.engine == "openai":
        try:
            from inference.openai import OpenAIEngine
            from inference.openai.engine import Deadlines
        except ImportError as exc:  # pragma: no cover - package always ships it
            raise EngineError(f"openai engine unavailable: {exc}") from exc
        # the first token within two thirds of the limit: the last third is for failover
        fim = Deadlines(s.completion_timeout_s * 2 / 3, s.completion_timeout_s)
        chat = Deadlines(min(60.0, s.chat_timeout_s * 2 / 3), s.chat_timeout_s)
        from completion.templates import detection_tokens, template_by_name

        try:
            fim_tokens = template_by_name(s.fim_template).tokens if s.fim_template else []
        except ValueError as exc:  # an unknown name: say so now, not at the first keystroke
            raise EngineError(str(exc)) from exc
        return (
            OpenAIEngine(
                endpoints=list(s.endpoint),
                api_key=s.api_key,
                model=s.model_name,
                tokenizer_dir=s.tokenizer,
                fim_tokens=fim_tokens,
                probe_tokens=detection_tokens(),
                deadlines={"fim": fim, "chat": chat, "edit": chat},
            ),
            None,
        )
    if not s.model and s.engine in ("local", "llamacpp"):
        d = default_model()
        if d.kind == "gguf":  # the fetched Gemma: the llama.cpp engine, as if configured
            log.info("%s", d.notice)
            return build_llamacpp_engine(dataclasses.replace(s, model=str(d.target))), None
        if s.engine == "llamacpp":  # the demo pair is not a GGUF: say what is missing
            raise EngineError(
                'engine "llamacpp" needs `model` pointing at a .gguf file, and the default '
                f"model is not fetched: {FETCH_HINT}"
            )
    if uses_llamacpp(s):
        return build_llamacpp_engine(s), None
    if is_gguf(s.draft_model):
        raise EngineError(
            f"draftModel {s.draft_model!r} is a GGUF file: point `model` at a .gguf file too "
            "(the llama.cpp engine), or use a Hugging Face draft directory"
        )
    from inference.local import LocalEngine

    notice = None
    model, draft = s.model, s.draft_model
    if not model:  # no model configured and no fetched default: the demo pair, said so
        d = demo_model()
        model, notice = str(d.target), d.notice
        draft = draft or (str(d.draft) if d.draft else None)
    engine = LocalEngine.load(
        model, draft, device=s.device, num_speculative=s.num_speculative_tokens
    )
    return engine, notice


class EngineManager:
    """Builds the engine for the current settings, once.

    The load runs in its own task: a request cancelled while the model loads (the user typed on)
    leaves the load running for the next request instead of starting a second one next to it.
    """

    def __init__(self, builder: Callable[[Settings], tuple[Engine, str | None]] = build_engine):
        self._builder = builder
        self._engine: Engine | None = None
        self._key: tuple | None = None
        self._error: str | None = None
        self._load_task: asyncio.Task | None = None
        self.notice: str | None = None

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def current(self) -> Engine | None:
        """The engine actually loaded (None while loading or after a failure): what the status
        reports, which may differ from the settings (no model configured: the demo or the
        tiny fallback model)."""
        return self._engine if self._load_task is None else None

    async def get(self, settings: Settings) -> Engine:
        """The engine for these settings, (re)built if needed; raises EngineError with the reason."""
        key = _engine_key(settings)
        while True:
            if self._load_task is None:
                if self._engine is not None and key == self._key:
                    return self._engine
                if self._error is not None and key == self._key:
                    raise EngineError(self._error)
                self._load_task = asyncio.ensure_future(self._load(settings, key))
            # shield: cancelling this request must not cancel a load others will use
            await asyncio.shield(self._load_task)

    async def _load(self, settings: Settings, key: tuple) -> None:
        old, self._engine, self._key, self._error = self._engine, None, key, None
        try:
            if old is not None:
                await old.close()
            engine, self.notice = await asyncio.to_thread(self._builder, settings)
            self._engine = guarded(engine)  # every prompt leaves through the secrets guard
        except EngineError as exc:
            self._error = str(exc)
        except Exception as exc:  # any loader failure becomes a message, not a crash
            log.exception("engine failed to load")
            self._error = f"engine failed to load: {type(exc).__name__}: {exc}"
        finally:
            self._load_task = None

    def reset_error(self) -> None:
        """Forget a remembered load error (settings changed, or the user asked to retry)."""
        self._error = None
        if self._engine is None:
            self._key = None

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.close()
            self._engine = None
