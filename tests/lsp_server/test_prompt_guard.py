"""Every engine the server hands out masks secrets in whatever leaves through it."""

from __future__ import annotations

from inference.base import GenerationRequest
from lsp_server.engine_manager import EngineManager
from lsp_server.prompt_guard import GuardedEngine
from lsp_server.settings import Settings
from testing.scripted import ScriptedEngine

TOKEN = "ghp_" + "Gu4rd" * 8


class Counting(ScriptedEngine):
    def __init__(self) -> None:
        super().__init__("ok")
        self.counted: list[str] = []

    def count_tokens(self, text: str) -> int:
        self.counted.append(text)
        return len(text)


async def test_the_manager_hands_out_guarded_engines_that_mask_everything():
    inner = Counting()
    manager = EngineManager(builder=lambda _s: (inner, None))
    engine = await manager.get(Settings())
    assert isinstance(engine, GuardedEngine) and engine.inner is inner
    assert engine is await manager.get(Settings())  # one wrapper: per-engine caches hold
    request = GenerationRequest(prompt=f"t = '{TOKEN}'\n", lookup_text=f"x = '{TOKEN}'")
    assert await engine.start(request).text() == "ok"
    chat = GenerationRequest(messages=[{"role": "user", "content": f"is {TOKEN} valid?"}])
    await engine.start(chat).text()
    engine.count_tokens(f"# {TOKEN}")
    seen = [inner.requests[0].prompt, inner.requests[0].lookup_text,
            inner.requests[1].messages[0]["content"], *inner.counted]  # fmt: skip
    assert all(TOKEN not in s and "*" * len(TOKEN) in s for s in seen), seen
    assert engine.info.name == "scripted"


async def test_a_clean_request_passes_unchanged():
    inner = Counting()
    request = GenerationRequest(prompt="def add(a, b):\n")
    await GuardedEngine(inner).start(request).text()
    assert inner.requests[0] is request  # no copy: the KV prefix and stats keys stay as they were
