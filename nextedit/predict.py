"""One next-edit request end to end: prompt → speculative rewrite → early stop → edits.

The region being rewritten is the draft: the engine's n-gram prompt lookup finds it in the
prompt (it is the newest copy there, `current/` or the excerpt) and proposes its next tokens,
which the target verifies many at a time (`inference/speculation.py`). Greedy verification
keeps the output the target's own. While the text streams, `rejoin.rejoined` watches for the
rewrite to re-join the original; then the generation is cancelled and the rest of the region is
spliced in from the original. The stats say what each part saved.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from inference.base import Engine, GenerationCancelled, GenerationRequest
from nextedit.edits import TextEdit, postprocess, rewrite_to_edits
from nextedit.formats import NextEditFormat, NextEditInput
from nextedit.history import RecentEdit
from nextedit.region import Region, region_around
from nextedit.rejoin import ANCHOR_LINES, rejoined


@dataclass(frozen=True)
class NextEditRequest:
    uri: str
    path: str
    lines: tuple[str, ...]
    line: int
    col: int
    recent: tuple[RecentEdit, ...] = ()
    context_files: tuple[tuple[str, str], ...] = ()


@dataclass
class NextEditStats:
    format: str = ""
    strategy: str = ""
    prompt_tokens: int = 0
    generated_tokens: int = 0
    drafted_tokens: int = 0
    accepted_tokens: int = 0
    #: The rewrite re-joined the original and generation stopped there.
    stopped_early: bool = False
    #: Original lines spliced in after the early stop, and their tokens (decode work saved).
    spliced_lines: int = 0
    saved_tokens: int = 0
    ttft_ms: float = 0.0
    total_ms: float = 0.0
    finish_reason: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ttft_ms"] = round(self.ttft_ms, 1)
        d["total_ms"] = round(self.total_ms, 1)
        return d


@dataclass
class NextEditResult:
    region: Region
    edits: list[TextEdit]
    #: The region rewritten (None: the output was malformed or refused).
    rewrite: list[str] | None
    output: str
    stats: NextEditStats = field(default_factory=NextEditStats)
    #: Why there is no suggestion, when there is none ("" otherwise).
    reason: str = ""


def build_input(req: NextEditRequest) -> NextEditInput:
    region = region_around(req.lines, req.line, req.col)
    return NextEditInput(
        path=req.path,
        lines=req.lines,
        region=region,
        recent=req.recent,
        context_files=req.context_files,
    )


def max_tokens_for(engine: Engine, region: Region, cap: int) -> int:
    """Room for the region twice over (a rewrite may grow) plus the format's own text."""
    return max(16, min(cap, 2 * engine.count_tokens(region.text) + 64))


async def predict(
    engine: Engine,
    fmt: NextEditFormat,
    req: NextEditRequest,
    *,
    strategy: str = "prompt_lookup",
    early_stop: bool = True,
    max_tokens: int = 1024,
    anchor: int = ANCHOR_LINES,
) -> NextEditResult:
    """Predict the next edit around the cursor. `strategy="plain"` and `early_stop=False`
    give plain decoding of the same request (the benchmark's baseline)."""
    t0 = time.perf_counter()
    inp = build_input(req)
    stats = NextEditStats(format=fmt.name)
    if fmt.refuses(inp):
        return NextEditResult(inp.region, [], None, "", stats, reason="reserved_tokens")
    spec = fmt.build(inp, chat=engine.info.has_chat_template)
    request = GenerationRequest(
        prompt=spec.prompt,
        messages=spec.messages,
        max_tokens=max_tokens_for(engine, inp.region, max_tokens),
        temperature=0.0,
        stop=spec.stop,
        kind="edit",
        strategy=strategy,  # type: ignore[arg-type]
        cache_key=f"nextedit:{req.uri}",
    )
    gen = engine.start(request)
    original = list(inp.region.lines)
    output = ""
    spliced: tuple[list[str], int] | None = None
    first = 0.0
    try:
        async for chunk in gen:
            if not first:
                first = time.perf_counter()
            output += chunk
            if early_stop and "\n" in chunk:
                so_far = fmt.region_so_far(output)
                if so_far is not None:
                    spliced = rejoined(original, so_far, anchor)
                    if spliced is not None:
                        gen.cancel()
                        break
    except GenerationCancelled:  # cancelled from outside (a newer request for the document)
        stats.finish_reason = "cancelled"
        return NextEditResult(inp.region, [], None, output, stats, reason="cancelled")
    done = time.perf_counter()
    if spliced is not None:
        try:  # let the engine notice the cancel (one decode step) so its stats are final
            async for _ in gen:
                pass
        except GenerationCancelled:
            pass
    g = gen.stats
    stats.strategy = g.strategy
    stats.prompt_tokens = g.prompt_tokens
    stats.generated_tokens = g.generated_tokens
    stats.drafted_tokens = g.drafted_tokens
    stats.accepted_tokens = g.accepted_tokens
    stats.finish_reason = g.finish_reason
    stats.ttft_ms = (first - t0) * 1000 if first else 0.0
    stats.total_ms = (done - t0) * 1000
    if spliced is not None:
        rewrite, n_rest = spliced
        stats.stopped_early = True
        stats.spliced_lines = n_rest
        if n_rest:
            stats.saved_tokens = engine.count_tokens("\n".join(original[-n_rest:]) + "\n")
    else:
        rewrite = fmt.parse(output)
    return finish(inp, rewrite, output, stats)


def finish(
    inp: NextEditInput, rewrite: Sequence[str] | None, output: str, stats: NextEditStats
) -> NextEditResult:
    """Edits from a rewrite, postprocessed."""
    region = inp.region
    if rewrite is None:
        return NextEditResult(region, [], None, output, stats, reason="malformed")
    rewrite = list(rewrite)
    if not any(x.strip() for x in rewrite) and any(x.strip() for x in region.lines):
        return NextEditResult(region, [], rewrite, output, stats, reason="empty_rewrite")
    edits = rewrite_to_edits(region, rewrite, len(inp.lines))
    edits = postprocess(inp.lines, region, edits)
    return NextEditResult(
        region, edits, rewrite, output, stats, reason="" if edits else "no_change"
    )
