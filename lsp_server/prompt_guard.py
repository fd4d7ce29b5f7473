"""The one door every prompt leaves through: secrets are masked on the way to the engine.

Documents are redacted whole, once per version (`documents.snapshot`), before completion
windows, cross-file snippets or CodeChat tasks are cut from them, and CodeChat masks the user's
typed instruction too. This guard is the last line behind those: the `EngineManager` hands out
every engine wrapped in it, so a prompt, a chat message, the n-gram lookup text and any text
sent for token counting (the openai engine POSTs it to /tokenize) are redacted, whichever
feature built them. Masking is length for length, so an already redacted prompt passes
unchanged (and its KV prefix still matches); a secret caught here means a path forgot to redact,
and is logged (without the secret) so it gets fixed.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from inference.base import Engine, EngineInfo, Generation, GenerationRequest
from textkit.secrets import redact_secrets

log = logging.getLogger(__name__)


def guard_text(text: str, where: str) -> str:
    if not text:
        return text
    masked, count = redact_secrets(text)
    if count:
        log.warning("prompt guard masked %d secret(s) in the %s", count, where)
    return masked


def guard_request(request: GenerationRequest) -> GenerationRequest:
    """The request with every text a model or a server would see masked."""
    prompt = guard_text(request.prompt, "prompt") if request.prompt is not None else None
    messages = request.messages
    if messages is not None:
        messages = [
            {**m, "content": guard_text(m.get("content", ""), "chat messages")} for m in messages
        ]
    lookup = guard_text(request.lookup_text, "lookup text")
    if prompt is request.prompt and lookup is request.lookup_text and messages == request.messages:
        return request
    return dataclasses.replace(request, prompt=prompt, messages=messages, lookup_text=lookup)


class GuardedEngine(Engine):
    """`inner` with every outgoing text masked; everything else is `inner`'s own."""

    def __init__(self, inner: Engine) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:  # health_check, engine-specific extras
        return getattr(self.inner, name)

    @property
    def info(self) -> EngineInfo:
        return self.inner.info

    def start(self, request: GenerationRequest) -> Generation:
        return self.inner.start(guard_request(request))

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(guard_text(text, "text counted"))

    def count_tokens_many(self, texts: list[str]) -> list[int]:
        return self.inner.count_tokens_many([guard_text(t, "text counted") for t in texts])

    def render_chat(self, messages: list[dict[str, str]]) -> str | None:
        return self.inner.render_chat(messages)

    async def ready(self) -> EngineInfo:
        return await self.inner.ready()

    async def close(self) -> None:
        await self.inner.close()


def guarded(engine: Engine) -> Engine:
    return engine if isinstance(engine, GuardedEngine) else GuardedEngine(engine)
