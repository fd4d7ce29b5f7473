"""Infilling benchmark (HumanEval infilling format) through the server's own pipeline.

Each problem becomes a document (prompt + suffix, cursor between) and goes through the same
`complete()` -> `prepare` / `engine.start` / `finalize` path as an editor request; the
suggestion is then executed: `prompt + completion + suffix + test + check(entry_point)` in a
subprocess with a timeout. A pass means the program exits 0.

`--oracle` replaces the model by a stand-in that knows the canonical middle and then overruns
the way models do (the next 1-3 lines of the suffix, a repeated line, or a stray closing line,
chosen per task by a seeded RNG): pass_rate 1.0 there means postprocessing removes every such
overrun without damaging the middle. Without `--oracle`, `make_engine` builds the real engine
(the lead's `tandem bench infill`), which gives the model's pass@1.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from completion.service import complete
from completion.templates import detect_template, template_by_name
from completion.types import CompletionContext
from inference.base import Engine
from testing.oracle import OracleEngine

DATA_NAME = "humaneval-infilling/HumanEval-SingleLineInfilling.jsonl.gz"


@dataclass
class Problem:
    task_id: str
    prompt: str
    suffix: str
    canonical_solution: str
    test: str
    entry_point: str

    @property
    def uri(self) -> str:
        return "file:///humaneval/" + self.task_id.replace("/", "_") + ".py"


def default_data() -> str | None:
    """The single-line split in shared/data, looked up from the cwd and the repo root."""
    env = os.environ.get("TANDEM_INFILL_DATA")
    if env:
        return env
    here = Path(__file__).resolve().parent.parent
    for base in (Path.cwd(), here, here.parent):
        p = base / "shared" / "data" / DATA_NAME
        if p.exists():
            return str(p)
    return None


def load_problems(path: str | os.PathLike[str], limit: int | None = None) -> list[Problem]:
    opener = gzip.open if str(path).endswith(".gz") else open
    out: list[Problem] = []
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            out.append(
                Problem(
                    r["task_id"],
                    r["prompt"],
                    r["suffix"],
                    r["canonical_solution"],
                    r["test"],
                    r["entry_point"],
                )
            )
            if limit is not None and len(out) >= limit:
                break
    return out


def widen_hole(p: Problem, extra_lines: int) -> Problem:
    """A multi-line variant: the next `extra_lines` lines of the suffix join the middle."""
    lines = p.suffix.splitlines(keepends=True)
    take = lines[:extra_lines]
    return Problem(
        f"{p.task_id}/W{extra_lines}",
        p.prompt,
        "".join(lines[extra_lines:]),
        p.canonical_solution + "".join(take),
        p.test,
        p.entry_point,
    )


def make_context(p: Problem) -> CompletionContext:
    line = p.prompt.count("\n")
    character = len(p.prompt) - (p.prompt.rfind("\n") + 1)
    return CompletionContext(p.uri, "python", p.prompt + p.suffix, line, character)


# --- execution ---------------------------------------------------------------------------------


def program(p: Problem, completion: str) -> str:
    return f"{p.prompt}{completion}{p.suffix}\n{p.test}\ncheck({p.entry_point})\n"


def run_program(source: str, timeout: float) -> bool:
    with tempfile.TemporaryDirectory(prefix="tandem-infill-") as tmp:
        try:
            r = subprocess.run(
                [sys.executable, "-I", "-"],
                input=source,
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=tmp,
            )
        except subprocess.TimeoutExpired:
            return False
    return r.returncode == 0


# --- driver ------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="tandem bench infill",
        description="HumanEval-infilling pass@1 through the completion pipeline",
    )
    ap.add_argument("--data", help="jsonl(.gz) in HumanEval infilling format")
    ap.add_argument("--oracle", action="store_true", help="canonical middle + overrun, no model")
    ap.add_argument("--limit", type=int, default=None, help="first N problems only")
    ap.add_argument("--json", action="store_true", help="print only the JSON result")
    ap.add_argument("--widen", type=int, default=0, help="move N suffix lines into the hole")
    ap.add_argument("--template", default=None, help="FIM template name (default: detect)")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--max-prompt-tokens", type=int, default=1536)
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per test program")
    ap.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    return ap


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def _generate(problems, engine, template, args) -> tuple[list[str], list[float], Counter]:
    completions, latencies, modes = [], [], Counter()
    for p in problems:
        t0 = time.perf_counter()
        res = await complete(
            make_context(p),
            engine,
            template,
            max_prompt_tokens=args.max_prompt_tokens,
            max_tokens=args.max_tokens,
        )
        latencies.append((time.perf_counter() - t0) * 1000)
        completions.append(res.text)
        if res.plan is not None:
            modes[res.plan.mode] += 1
    return completions, latencies, modes


def run(args: argparse.Namespace, make_engine: Callable[[], Engine] | None) -> dict:
    data = args.data or default_data()
    if not data:
        raise SystemExit("no data: pass --data FILE (HumanEval infilling jsonl or jsonl.gz)")
    problems = load_problems(data, args.limit)
    if args.widen:
        problems = [widen_hole(p, args.widen) for p in problems]
    t_start = time.perf_counter()
    if args.oracle:
        template = template_by_name(args.template or "tandem-demo")
        engine: Engine = OracleEngine(problems, template)
    else:
        if make_engine is None:
            raise SystemExit("no engine: pass --oracle, or run it as `tandem bench infill`")
        engine = make_engine()
        template = (
            template_by_name(args.template)
            if args.template
            else detect_template(engine.info.special_tokens)
        )

    async def go():
        try:
            return await _generate(problems, engine, template, args)
        finally:
            await engine.close()

    completions, latencies, modes = asyncio.run(go())
    t_gen = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool:
        passed = list(
            pool.map(
                lambda pc: run_program(program(*pc), args.timeout),
                zip(problems, completions, strict=False),
            )
        )
    t_exec = time.perf_counter()
    n = len(problems)
    exact = sum(
        c.rstrip() == p.canonical_solution.rstrip()
        for p, c in zip(problems, completions, strict=False)
    )
    result = {
        "pass_rate": round(sum(passed) / n, 4) if n else 0.0,
        "n": n,
        "passed": sum(passed),
        "exact_match": round(exact / n, 4) if n else 0.0,
        "template": template.name,
        "engine": "oracle" if args.oracle else engine.info.name,
        "model": engine.info.model,
        "data": os.path.basename(data),
        "widen": args.widen,
        "modes": dict(modes),
        "timing": {
            "total_s": round(t_exec - t_start, 3),
            "generate_s": round(t_gen - t_start, 3),
            "exec_s": round(t_exec - t_gen, 3),
            "latency_ms_mean": round(statistics.fmean(latencies), 2) if latencies else 0.0,
            "latency_ms_p50": round(_pct(latencies, 0.5), 2),
            "latency_ms_p90": round(_pct(latencies, 0.9), 2),
        },
        "failures": [p.task_id for p, ok in zip(problems, passed, strict=False) if not ok][:20],
    }
    if isinstance(engine, OracleEngine):
        result["overruns"] = dict(engine.kinds)
    return result


def main(argv: list[str] | None = None, make_engine: Callable[[], Engine] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result = run(args, make_engine)
    except SystemExit as e:
        if isinstance(e.code, str):
            print(f"bench infill: {e.code}", file=sys.stderr)
            return 2
        raise
    if not args.json:
        print(
            f"{result['data']}: pass@1 {result['pass_rate']:.4f} "
            f"({result['passed']}/{result['n']}), exact match {result['exact_match']:.4f}, "
            f"template {result['template']}, {result['timing']['total_s']}s",
            file=sys.stderr,
        )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
