"""A stand-in engine that answers from a script: tests and `bench codechat --scripted` use it to
prove both the apply path (known-good answers) and the reject path (known-bad ones) without a
model that can actually write code. It is never selected by user settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from inference.base import (
    Engine,
    EngineInfo,
    Generation,
    GenerationCancelled,
    GenerationRequest,
)

Responder = Callable[[GenerationRequest], str]


class ScriptedGeneration(Generation):
    def __init__(
        self, text: str, chunk: int, delay_s: float, stop: list[str], max_tokens: int = 0
    ) -> None:
        super().__init__("scripted")
        cut = min([i for s in stop if s and (i := text.find(s)) >= 0] or [len(text)])
        self._chunk = max(1, chunk)
        # Each chunk counts as one token: an answer longer than `max_tokens` chunks is cut
        # there ("length"), like a model at its limit; one that ends is a model's EOS ("stop").
        limit = max_tokens * self._chunk if max_tokens > 0 else cut
        self.stats.finish_reason = "length" if limit < cut else "stop"
        self._text = text[: min(cut, limit)]
        self._delay = delay_s
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    async def __aiter__(self) -> AsyncIterator[str]:  # type: ignore[override]
        for i in range(0, len(self._text), self._chunk):
            if self._delay:
                await asyncio.sleep(self._delay)
            if self.cancelled:
                self.stats.finish_reason = "cancelled"
                raise GenerationCancelled()
            piece = self._text[i : i + self._chunk]
            self.stats.generated_tokens += 1
            yield piece
        if self.cancelled:
            self.stats.finish_reason = "cancelled"
            raise GenerationCancelled()


class ScriptedEngine(Engine):
    """Answers `respond(request)`, streamed in `chunk`-character pieces `delay_s` apart.

    `chat_template`: "chatml" renders messages like a ChatML tokenizer template; None behaves
    like a model without one (prompts fall back to a plain format).
    """

    def __init__(
        self,
        respond: Responder | str,
        *,
        chunk: int = 16,
        delay_s: float = 0.0,
        chat_template: str | None = None,
        max_context_tokens: int = 32768,
    ) -> None:
        self._respond = respond if callable(respond) else (lambda _req, t=respond: t)
        self.chunk, self.delay_s = chunk, delay_s
        self.chat_template = chat_template
        self.max_context_tokens = max_context_tokens
        self.requests: list[GenerationRequest] = []
        self.generations: list[ScriptedGeneration] = []

    @property
    def info(self) -> EngineInfo:
        return EngineInfo(
            name="scripted",
            model="scripted stand-in (not a model)",
            has_chat_template=self.chat_template is not None,
            max_context_tokens=self.max_context_tokens,
        )

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 4)

    def render_chat(self, messages: list[dict[str, str]]) -> str | None:
        if self.chat_template != "chatml":
            return None
        body = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return body + "<|im_start|>assistant\n"

    def start(self, request: GenerationRequest) -> Generation:
        self.requests.append(request)
        gen = ScriptedGeneration(
            self._respond(request), self.chunk, self.delay_s, request.stop, request.max_tokens
        )
        self.generations.append(gen)
        return gen
