"""What the server should answer, computed in-process with the same engine and pipeline."""

from __future__ import annotations

import asyncio
import concurrent.futures
from functools import lru_cache

from completion import CompletionContext, finalize, prepare
from completion.templates import detect_template
from inference.base import GenerationRequest
from inference.local import LocalEngine
from lsp_server.settings import Settings


@lru_cache(maxsize=2)
def _engine(model_dir: str) -> LocalEngine:
    return LocalEngine.load(model_dir)


def expected_suggestion(
    model_dir: str, text: str, line: int, column: int, lang: str = "python"
) -> str:
    s = Settings()
    engine = _engine(str(model_dir))
    ctx = CompletionContext("file:///x", lang, text, line, column, [])
    template = detect_template(engine.info.special_tokens, None)
    budget = min(s.max_prompt_tokens, engine.info.max_context_tokens - s.max_tokens)
    plan = prepare(ctx, template, engine.count_tokens, budget, s.max_tokens)

    async def go() -> str:
        gen = engine.start(
            GenerationRequest(
                prompt=plan.prompt, stop=plan.stop, max_tokens=plan.max_tokens, kind="fim"
            )
        )
        return finalize(await gen.text(), ctx, plan)

    # run on a private loop in another thread: never disturb the test's own event loop
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


def find_nonempty(
    model_dir: str, text: str, candidates: list[tuple[int, int]]
) -> tuple[int, int, str]:
    """The first cursor among `candidates` where the model suggests something."""
    for line, col in candidates:
        out = expected_suggestion(model_dir, text, line, col)
        if out:
            return line, col, out
    raise AssertionError("the tiny model suggested nothing at any candidate cursor")
