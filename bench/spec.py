"""`tandem bench spec`: every speculative strategy against plain decoding, side by side.

Workloads come from real code (this Python's stdlib) and go through the same prompt builders the
server uses: a CodeChat "docs" edit (the answer copies the function, adding docstrings) and FIM
completions at real cursors. Each repeat runs every strategy back to back on the same engine, so
machine noise hits them alike; the report gives tokens/s, the ratio to plain decoding, acceptance,
and whether the greedy output is identical to plain decoding's. `auto` is the engine's own
adaptive choice, run as a user would get it: on a fresh engine (the same weights) whose selector
learns from `auto` requests only, reset before each workload, so it learns nothing from the
forced-strategy runs or the warm-up and starts each workload from scratch. Its ratio is taken
against plain runs on that same engine (forced: they teach the selector nothing), in the same
rounds; the ratio against the other engine's plain, and plain vs plain across the two engines,
are reported beside it (two instances of one model differ by a few percent on their own).

`--engine openai` runs the same idea against vLLM (see bench/openai_spec.py).
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import inspect
import json
import os
import statistics
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from codechat.prompts import build_prompt
from codechat.tasks import ChatTask
from completion import CompletionContext, prepare
from completion.templates import choose_mode
from inference.base import Engine, GenerationRequest

#: Stdlib functions without docstrings, 19-23 lines: the "add docs" edit copies them.
EDIT_FUNCTIONS = ("heapq._siftup", "base64._85encode", "string.Template.safe_substitute")
#: (module, line-in-function marker, where to cut): a FIM cursor in the middle of real code.
FIM_CURSORS = (
    ("textwrap", "        if self.width <= 0:", "        if "),
    ("shlex", "    if _find_unsafe(s) is None:", "    if "),
    ("json.decoder", "    def raw_decode(self, s, idx=0):", "    def raw_"),
    ("fnmatch", "def filter(names, pat):", "def filter("),
)


@dataclass
class Workload:
    name: str
    kind: str  # "edit" | "fim"
    request: GenerationRequest
    #: For edits: the code the answer should mostly copy (to report how much it really does).
    source: str = ""


def _source(dotted: str) -> str:
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return textwrap.dedent(inspect.getsource(obj))
    raise ValueError(dotted)


def edit_workloads(engine: Engine, fmt: str = "auto") -> list[Workload]:
    out = []
    for dotted in EDIT_FUNCTIONS:
        code = _source(dotted)
        task = ChatTask("docs", f"/bench/{dotted}.py", "python", code, 0, len(code))
        prompt = build_prompt(task, code, fmt, engine.render_chat)
        # room for the whole function plus docstrings
        max_tokens = int(engine.count_tokens(code) * 1.5) + 48
        out.append(
            Workload(
                f"edit:{dotted.rsplit('.', 1)[-1]}",
                "edit",
                GenerationRequest(
                    prompt=prompt.text,
                    kind="edit",
                    max_tokens=max_tokens,
                    stop=prompt.stop,
                    lookup_text=code,
                ),
                source=code,
            )
        )
    return out


def fim_workloads(engine: Engine, max_tokens: int = 64) -> list[Workload]:
    import importlib

    template = choose_mode(engine.info.special_tokens).template
    out = []
    for module, marker, cut in FIM_CURSORS:
        text = inspect.getsource(importlib.import_module(module))
        at = text.index(marker) + len(cut)
        line = text.count("\n", 0, at)
        col = at - (text.rfind("\n", 0, at) + 1)
        ctx = CompletionContext(f"file:///bench/{module}.py", "python", text, line, col, [])
        budget = min(1536, engine.info.max_context_tokens - max_tokens)
        plan = prepare(ctx, template, engine.count_tokens, budget, max_tokens)
        out.append(
            Workload(
                f"fim:{module}",
                "fim",
                GenerationRequest(
                    prompt=plan.prompt,
                    kind="fim",
                    max_tokens=max_tokens,
                    stop=plan.stop,
                    lookup_text=plan.lookup_text,
                ),
            )
        )
    return out


async def _run_once(engine: Engine, request: GenerationRequest, strategy: str) -> dict:
    req = GenerationRequest(**{**request.__dict__, "strategy": strategy, "cache_key": None})
    t0 = time.perf_counter()
    gen = engine.start(req)
    text = await gen.text()
    seconds = time.perf_counter() - t0
    s = gen.stats
    await s.wait_settled(timeout=5)  # speculative counts from a server land after the text
    return {
        "text": text,
        "seconds": seconds,
        "tokens": s.generated_tokens,
        "strategy": s.strategy,
        "drafted": s.drafted_tokens,
        "accepted": s.accepted_tokens,
        "forward_passes": s.target_forward_passes,
    }


#: The plain runs on auto's engine (the auto column's baseline), a key of its own in the runs.
PLAIN_ON_AUTO_ENGINE = "plain@auto_engine"


def _summary(runs: list[dict], plain: list[dict], plain_text: str) -> dict:
    """Median tokens/s, and the median of per-round ratios: run r of a strategy and run r of
    plain come from the same round, seconds apart, so load that drifts on a shared machine
    cancels out of each ratio."""
    secs = statistics.median(r["seconds"] for r in runs)
    tokens = statistics.median(r["tokens"] for r in runs)
    ratios = [p["seconds"] / r["seconds"] for p, r in zip(plain, runs, strict=True) if r["seconds"]]
    drafted = sum(r["drafted"] for r in runs)
    accepted = sum(r["accepted"] for r in runs)
    out = {
        "tokens": int(tokens),
        "tokens_per_second": round(tokens / secs, 1) if secs else 0.0,
        "ratio_vs_plain": round(statistics.median(ratios), 2) if ratios else 0.0,
        "acceptance_rate": round(accepted / drafted, 3) if drafted else None,
        "tokens_per_forward_pass": round(
            sum(r["tokens"] for r in runs) / max(1, sum(r["forward_passes"] for r in runs)), 2
        ),
        "identical": all(r["text"] == plain_text for r in runs),
    }
    chosen = Counter(r["strategy"] for r in runs)
    if len(chosen) > 1 or "auto" in out:
        out["chosen"] = dict(chosen)
    return out


async def run_bench(
    engine: Engine,
    workloads: list[Workload],
    repeats: int,
    has_draft: bool,
    log: Callable[[str], None],
    fim_factor: int = 2,
    auto_engine: Engine | None = None,
) -> dict:
    """`auto_engine` runs the `auto` column (default: `engine` itself, for engines that cannot
    be duplicated); its `selector`, when it has one, is reset before each workload."""
    separate = auto_engine is not None and auto_engine is not engine
    auto_engine = auto_engine or engine
    strategies = ["plain", "prompt_lookup"] + (["draft"] if has_draft else []) + ["auto"]
    if separate:
        # auto's baseline on auto's own engine: the ratio then compares runs of one engine
        # instance (its caches, its worker thread). Forced strategies teach the selector
        # nothing and start no replays (inference/local/engine.py), so the selector still
        # learns from auto requests only; across instances plain alone read 0.91-0.98x.
        strategies.append(PLAIN_ON_AUTO_ENGINE)
    report: dict[str, dict] = {}
    for w in workloads:
        await _run_once(engine, w.request, "plain")  # warm-up: allocator, caches, kernels
        if auto_engine is not engine:
            # the same warm-up for the auto engine (its prompt's KV cached, as plain's is): a
            # forced strategy teaches its selector nothing, and the reset below clears it anyway
            await _run_once(auto_engine, w.request, "plain")
        selector = getattr(auto_engine, "selector", None)
        if selector is not None:
            selector.reset()  # each workload starts from nothing, as a user's first request
        runs: dict[str, list[dict]] = {s: [] for s in strategies}
        # FIM requests are short (prefill-bound) and noisier; they are also cheap: run more
        for r in range(repeats if w.kind == "edit" else repeats * fim_factor):
            # rotate the order so no strategy always runs first after a pause
            order = strategies[r % len(strategies) :] + strategies[: r % len(strategies)]
            for strategy in order:
                if strategy in ("auto", PLAIN_ON_AUTO_ENGINE):
                    forced = "plain" if strategy == PLAIN_ON_AUTO_ENGINE else "auto"
                    runs[strategy].append(await _run_once(auto_engine, w.request, forced))
                else:
                    runs[strategy].append(await _run_once(engine, w.request, strategy))
        plain = runs["plain"]
        plain_text = plain[0]["text"]
        plain_secs = [x["seconds"] for x in plain]
        entry = {
            "kind": w.kind,
            "plain_deterministic": all(x["text"] == plain_text for x in plain),
            # the noise floor: how much the same plain request varies within this run
            "plain_spread": round(
                (max(plain_secs) - min(plain_secs)) / statistics.median(plain_secs), 2
            ),
        }
        if w.source:
            # How much of the answer copies the input (1.0 = all of it). A model that does
            # the edit copies most; a weak model's repetitive noise does not, and any lookup
            # speedup on it comes from the repetition, not from copying.
            entry["output_copies_input"] = round(
                difflib.SequenceMatcher(None, w.source, plain_text, autojunk=False).ratio(), 3
            )
        shown = [s for s in strategies if s != PLAIN_ON_AUTO_ENGINE]
        for strategy in shown:
            entry[strategy] = _summary(runs[strategy], plain, plain_text)
        if separate:
            # auto against plain on the same engine instance; the cross-instance ratio and
            # the two instances' plain ratio (the bias a cross-instance ratio carries) beside it
            own = runs[PLAIN_ON_AUTO_ENGINE]
            entry["auto"] = {
                **_summary(runs["auto"], own, plain_text),
                "ratio_vs_plain_other_engine": entry["auto"]["ratio_vs_plain"],
            }
            entry["plain_other_engine_vs_plain"] = _summary(own, plain, plain_text)[
                "ratio_vs_plain"
            ]
        entry["auto"]["chosen"] = dict(Counter(x["strategy"] for x in runs["auto"]))
        report[w.name] = entry
        best = max(shown, key=lambda s: entry[s]["ratio_vs_plain"])
        log(
            f"bench spec: {w.name}: "
            + ", ".join(f"{s} {entry[s]['ratio_vs_plain']}x" for s in shown)
            + f" (best {best})"
        )
    return report


def main(argv: list[str] | None = None, make_engine: Callable[..., Engine] | None = None) -> int:
    p = argparse.ArgumentParser(prog="tandem bench spec", description=__doc__.split("\n")[0])
    p.add_argument("--engine", choices=["local", "openai"], default="local")
    p.add_argument("--model", help="target model dir (default: the shipped demo model)")
    p.add_argument("--gguf", help="a GGUF file on Tandem's llama.cpp engine instead (completions "
                   "in prefix mode where it has no FIM tokens)")  # fmt: skip
    p.add_argument("--threads", type=int, help="llama.cpp threads (default: all cores)")
    p.add_argument("--draft-model", help="draft model dir (default: the demo draft)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument(
        "--repeats", type=int, default=5, help="runs per strategy (median; the order rotates)"
    )
    p.add_argument("--only", choices=["edit", "fim"], help="one workload family")
    p.add_argument("--limit", type=int, help="the first N workloads of each family")
    p.add_argument("--json", action="store_true", help="print only the JSON report on stdout")
    p.add_argument("--out", help="also write the JSON report here")
    a, rest = p.parse_known_args(argv)
    if a.engine == "openai":
        from bench import openai_spec as openai_bench

        args = rest + (["--model", a.model] if a.model else [])
        args += ["--draft-model", a.draft_model] if a.draft_model else []
        args += ["--out", a.out] if a.out else []
        return openai_bench.main(args)
    if rest:
        p.error(f"unrecognized arguments: {' '.join(rest)}")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if make_engine is None and a.gguf:
        from inference.llamacpp import LlamaCppEngine

        engine = LlamaCppEngine.load(a.gguf, n_threads=a.threads)
        # the auto column's own engine: same file, its own context, selector and caches
        auto_engine = LlamaCppEngine.load(a.gguf, n_threads=a.threads)
        has_draft = False
    elif make_engine is None:
        from inference.defaults import demo_model
        from inference.local import LocalEngine

        model, draft = a.model, a.draft_model
        if model is None:
            d = demo_model()
            log(d.notice)
            model, draft = str(d.target), (str(d.draft) if d.draft else None)
        engine = LocalEngine.load(model, draft, device=a.device)
        # the auto column's own engine: same weights, its own selector and caches
        auto_engine: Engine = LocalEngine(
            engine.target, engine.draft, num_speculative=engine.num_speculative
        )
        has_draft = draft is not None
    else:
        engine, auto_engine, has_draft = make_engine(), make_engine(), False
    log(
        f"bench spec: {engine.info.model} ({engine.info.device}), draft: {a.draft_model or has_draft}"
    )
    workloads: list[Workload] = []
    if a.only in (None, "edit"):
        workloads += edit_workloads(engine)[: a.limit]
    if a.only in (None, "fim"):
        workloads += fim_workloads(engine)[: a.limit]

    async def go() -> dict:
        try:
            return await run_bench(
                engine, workloads, a.repeats, has_draft, log, auto_engine=auto_engine
            )
        finally:
            await engine.close()
            await auto_engine.close()

    t0 = time.perf_counter()
    load_before = [round(x, 2) for x in os.getloadavg()]
    results = asyncio.run(go())
    report = {
        "bench": "spec",
        "engine": engine.info.name,
        "model": engine.info.model,
        "device": engine.info.device,
        "draft": has_draft,
        "load_average": {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]},
        "repeats": a.repeats,
        "note": "ratio_vs_plain = median over rounds of plain seconds / strategy seconds (each "
        "round runs every strategy once, order rotating), same engine; FIM workloads run "
        "2x the repeats; auto runs on a fresh engine (same weights) whose selector learns from auto "
        "requests only, reset per workload, and its ratio is against forced plain runs on that "
        "engine (ratio_vs_plain_other_engine: against the first engine's plain; "
        "plain_other_engine_vs_plain: the two engines' plain, the instance bias); plain_spread = (max - min) / median of the plain runs, the noise "
        "floor; tokens/s counts from request start (prefill included); greedy",
        "workloads": results,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    text = json.dumps(report, indent=None if a.json else 2)
    print(text)
    if a.out:
        with open(a.out, "w", encoding="utf-8") as f:
            f.write(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
