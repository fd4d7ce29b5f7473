"""One completion, end to end, over any `Engine`: typeahead, prepare, generate, finalize.

The LSP server and the infilling benchmark both run this, so the benchmark measures the code
path users get.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from completion.pipeline import cursor_for, prepare, to_edit
from completion.postprocess import postprocess
from completion.postprocess.stream import collect
from completion.templates import FimTemplate, detect_template
from completion.typeahead import TypeaheadCache
from completion.types import CompletionContext, Edit, PromptPlan
from inference.base import Engine, GenerationRequest, GenerationStats


@dataclass
class CompletionResult:
    text: str
    raw: str = ""
    #: The suggestion as an edit of the cursor line (`text` is its text; None from typeahead,
    #: whose text is inserted at the cursor).
    edit: Edit | None = None
    plan: PromptPlan | None = None
    #: True when typeahead answered (no engine call).
    from_typeahead: bool = False
    stats: GenerationStats | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)


async def complete(
    ctx: CompletionContext,
    engine: Engine,
    template: FimTemplate | None = None,
    *,
    typeahead: TypeaheadCache | None = None,
    max_prompt_tokens: int = 1536,
    max_tokens: int = 64,
    workspace_root: str | None = None,
    temperature: float = 0.0,
    strategy: str = "auto",
    stream_stop: bool = True,
) -> CompletionResult:
    """Raises GenerationCancelled when the engine dropped the request (a newer one for the same
    document won); task cancellation cancels the generation too."""
    if typeahead is not None:
        rest = typeahead.lookup(ctx.uri, ctx.prefix)
        if rest is not None:
            return CompletionResult(rest, from_typeahead=True)
    template = template or detect_template(engine.info.special_tokens)
    t0 = time.perf_counter()
    plan = prepare(
        ctx,
        template,
        engine.count_tokens,
        max_prompt_tokens,
        max_tokens,
        workspace_root=workspace_root,
    )
    t1 = time.perf_counter()
    gen = engine.start(
        GenerationRequest(
            prompt=plan.prompt,
            stop=plan.stop,
            max_tokens=plan.max_tokens,
            temperature=temperature,
            kind="fim",
            strategy=strategy,
            cache_key=ctx.uri,
            lookup_text=plan.lookup_text,
        )
    )
    cur = cursor_for(ctx, plan)
    try:
        # cancels the engine once the suggestion is over (stream_stop=False: benchmarks only)
        streamed = await collect(gen, cur, watch=stream_stop)
    except asyncio.CancelledError:
        gen.cancel()  # stop the engine within one decode step, not just the awaiting task
        raise
    raw = streamed.raw
    t2 = time.perf_counter()
    edit = to_edit(postprocess(raw, cur), raw, cur)
    t3 = time.perf_counter()
    gen.stats.kept_tokens = engine.count_tokens(edit.at_cursor) if edit.at_cursor else 0
    gen.stats.stopped_early = streamed.stopped_early
    if typeahead is not None:
        typeahead.remember(ctx.uri, ctx.prefix, edit.at_cursor)
    return CompletionResult(
        edit.text,
        raw=raw,
        edit=edit,
        plan=plan,
        stats=gen.stats,
        timings_ms={
            "prepare": (t1 - t0) * 1000,
            "generate": (t2 - t1) * 1000,
            "finalize": (t3 - t2) * 1000,
        },
    )
