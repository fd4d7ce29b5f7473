"""Speculative-decoding benchmark through vLLM: the same workloads with no speculation, n-gram
prompt lookup and a draft model, via `OpenAIEngine` (so it measures what Tandem sees).

One vLLM server at a time (`tandem serve` code path), restarted per setup: three servers at
once would not fit a small machine, and restarts are cheap enough with the shared compile cache
(`.cache/vllm`; the first run compiles each setup cold, later runs start warm). The numbers are
end-to-end per request (time to the last token, streaming), greedy, one request at a time.

`tandem bench spec --engine openai` calls `run_spec_bench`; `python -m bench.openai_spec`
runs it standalone and prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from inference.base import GenerationRequest
from inference.openai.engine import OpenAIEngine
from inference.vllm.command import REPO_ROOT, ServeConfig
from inference.vllm.server import VLLMServer, free_port

SETUPS = ("none", "ngram", "draft")

_CODE = '''import json


class Inventory:
    """Items and their counts, saved as JSON."""

    def __init__(self, path):
        self.path = path
        self.items = {}

    def add(self, name, count=1):
        self.items[name] = self.items.get(name, 0) + count

    def remove(self, name, count=1):
        left = self.items.get(name, 0) - count
        if left <= 0:
            self.items.pop(name, None)
        else:
            self.items[name] = left

    def save(self):
        with open(self.path, "w") as f:
            json.dump(self.items, f)
'''


@dataclass
class Workload:
    name: str
    request: GenerationRequest


def default_workloads(max_tokens: int = 128) -> list[Workload]:
    """FIM (short, novel), an edit (copies its input: n-gram's best case), a continuation."""
    fim = f"<fim_prefix>{_CODE[:400]}<fim_suffix>{_CODE[400:]}<fim_middle>"
    return [
        Workload("fim", GenerationRequest(prompt=fim, max_tokens=32, kind="fim")),
        Workload(
            "edit",
            GenerationRequest(
                messages=[
                    {"role": "user", "content": "Add type hints, change nothing else:\n" + _CODE}
                ],
                max_tokens=max_tokens,
                kind="edit",
            ),
        ),
        Workload("continue", GenerationRequest(prompt=_CODE, max_tokens=max_tokens, kind="chat")),
    ]


async def measure(
    base_url: str, workloads: list[Workload], repeats: int = 3, model: str | None = None
) -> dict:
    """Run each workload `repeats` times against a running server (after one warm-up each)."""
    eng = OpenAIEngine([base_url], model=model, read_timeout=300)
    await eng.connect()
    out: dict[str, dict] = {}
    try:
        for w in workloads:
            await eng.start(w.request).text()  # warm-up (compile shapes, prefix cache)
            runs = []
            text = ""
            for _ in range(repeats):
                gen = eng.start(w.request)
                text = await gen.text()
                # vLLM's counters land after the text (read in the background); waiting
                # here also keeps the runs apart, so each gets exactly its own counts
                await gen.stats.wait_settled(timeout=5)
                runs.append(gen.stats)
            out[w.name] = {
                "total_ms": statistics.median(s.total_ms for s in runs),
                "ttft_ms": statistics.median(s.ttft_ms for s in runs),
                "generated_tokens": runs[-1].generated_tokens,
                "tokens_per_second": statistics.median(
                    s.generated_tokens / (s.total_ms / 1000) for s in runs if s.total_ms > 0
                ),
                "drafted_tokens": sum(s.drafted_tokens for s in runs),
                "accepted_tokens": sum(s.accepted_tokens for s in runs),
                "acceptance_rate": round(
                    sum(s.accepted_tokens for s in runs)
                    / max(1, sum(s.drafted_tokens for s in runs)),
                    3,
                ),
                "text": text,
            }
    finally:
        await eng.close()
    return out


def build_bench_models(root: Path, draft_scale: float = 0.1) -> tuple[Path, Path]:
    """A random 6-layer target and its 1-layer draft (see `build_layer0_draft`)."""
    from testing.vllm_models import build_layer0_draft, build_vllm_tiny_model

    target = build_vllm_tiny_model(root / "target", hidden_size=256, num_layers=6)
    draft = build_layer0_draft(target, root / "draft", scale=draft_scale)
    return target, draft


def run_spec_bench(
    model_dir: str | Path | None = None,
    draft_dir: str | Path | None = None,
    *,
    setups: tuple[str, ...] = SETUPS,
    workloads: list[Workload] | None = None,
    repeats: int = 3,
    num_speculative_tokens: int = 4,
    python: str | None = None,
    work_dir: str | Path | None = None,
    preload_iomp: bool = True,
    log=print,  # noqa: ANN001 - any callable taking one string
) -> dict:
    """Benchmark `setups` sequentially; returns per-setup numbers and speedups vs "none".

    Without `model_dir`, builds random tiny models (plumbing numbers only: their acceptance says
    nothing about real models). "draft" is skipped when there is no draft model.
    """
    work = Path(work_dir or tempfile.mkdtemp(prefix="tandem-bench-"))
    if model_dir is None:
        model_dir, draft_dir = build_bench_models(work)
    workloads = workloads or default_workloads()
    results: dict[str, dict] = {}
    starts: dict[str, float] = {}
    for setup in setups:
        if setup == "draft" and draft_dir is None:
            log("bench: no draft model, skipping the draft setup")
            continue
        cfg = ServeConfig(
            model=str(model_dir),
            ngram=setup == "ngram",
            draft_model=str(draft_dir) if setup == "draft" else None,
            num_speculative_tokens=num_speculative_tokens,
            port=free_port(),
            python=python,
            served_model_name="bench",
            cache_root=str(REPO_ROOT / ".cache" / "vllm"),
            max_model_len=4096,
            preload_iomp=preload_iomp,
        )
        server = VLLMServer(cfg, work / f"vllm-{setup}.log")
        log(f"bench: starting vLLM ({setup}) ...")
        try:
            starts[setup] = round(server.start(timeout=600), 1)
            log(f"bench: {setup} up in {starts[setup]} s")
            results[setup] = asyncio.run(measure(server.base_url, workloads, repeats, "bench"))
        finally:
            server.stop()
    return summarize(results, starts)


def summarize(results: dict[str, dict], starts: dict[str, float]) -> dict:
    base = results.get("none", {})
    speedups: dict[str, dict[str, float]] = {}
    for setup, per in results.items():
        if setup == "none" or not base:
            continue
        speedups[setup] = {
            w: round(base[w]["total_ms"] / per[w]["total_ms"], 2)
            for w in per
            if w in base and per[w]["total_ms"] > 0
        }
    identical = {
        w: len({results[s][w]["text"] for s in results if w in results[s]}) == 1
        for w in (base or next(iter(results.values()), {}))
    }
    for per in results.values():
        for r in per.values():
            r.pop("text", None)
            for k in ("total_ms", "ttft_ms", "tokens_per_second"):
                r[k] = round(r[k], 1)
    return {
        "setups": results,
        "speedup_vs_none": speedups,
        "greedy_outputs_identical": identical,
        "server_start_seconds": starts,
        "note": "end-to-end per request, greedy, one stream; median of repeats",
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.openai_spec", description=__doc__)
    p.add_argument("--model", help="target model dir (default: random tiny test models)")
    p.add_argument("--draft-model")
    p.add_argument("--setups", default=",".join(SETUPS))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--python", help="vLLM venv interpreter")
    p.add_argument("--out", help="write the JSON here too")
    p.add_argument("--no-iomp-preload", action="store_true")
    a = p.parse_args(argv)
    t0 = time.monotonic()
    result = run_spec_bench(
        a.model,
        a.draft_model,
        setups=tuple(a.setups.split(",")),
        repeats=a.repeats,
        python=a.python,
        preload_iomp=not a.no_iomp_preload,
        log=lambda m: print(m, file=sys.stderr, flush=True),
    )
    result["bench_seconds"] = round(time.monotonic() - t0, 1)
    text = json.dumps(result, indent=2)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
