"""Infilling benchmark (HumanEval infilling format) through the server's own pipeline.

Each problem becomes a document (prompt + suffix, cursor between) and goes through the same
`complete()` -> `prepare` / `engine.start` / `finalize` path as an editor request; the
suggestion is then executed: `prompt + completion + suffix + test + check(entry_point)` in a
subprocess with a timeout. A pass means the program exits 0.

`--oracle-mode overrun` (or `--oracle`) replaces the model by a stand-in that knows the
canonical middle and then overruns the way models do (the next 1-3 lines of the suffix, a
repeated line, or a stray closing line, chosen per task by a seeded RNG); `--oracle-mode exact`
answers the canonical middle alone. pass_rate 1.0 there means postprocessing removes every such
overrun without damaging the middle. Without an oracle, `make_engine` builds the real engine
(the lead's `tandem bench infill`), which gives the model's pass@1.

The suggestion is applied as the server offers it (an edit of the cursor line, see
`completion.Edit`). `per_mode` splits pass rate and exact match by where the cursor is:
"line_start" (column 0), "in_indent" (inside the indentation), "mid_line" (after code),
"block" (an empty line after a block opener). `--variant multi_line|random_span` cuts new holes
in the same programs (whole-line spans of 2-5 lines, or random character spans of the body, as
HumanEval's multi-line and random-span splits do) to measure held-out layouts. `tokens` reports
what the engine generated against what the suggestions kept, and how many generations the
stream watcher stopped early.
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
from completion.types import CompletionContext, Edit
from inference.base import Engine
from testing.holes import Hole, check
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


def as_hole(p: Problem) -> Hole:
    """The problem as a hole cut in its canonical program (cursor position kinds, checks)."""
    source = p.prompt + p.canonical_solution + p.suffix
    start = len(p.prompt)
    return Hole(source, start, start + len(p.canonical_solution), "python", p.uri, "humaneval")


def _body_start(problems: list[Problem]) -> dict[str, int]:
    """Per task: where the function body starts (the earliest hole of the single-line split)."""
    out: dict[str, int] = {}
    for p in problems:
        task = p.task_id.rsplit("/", 1)[0]
        out[task] = min(out.get(task, len(p.prompt)), len(p.prompt))
    return out


def make_variant(problems: list[Problem], variant: str, seed: int = 7) -> list[Problem]:
    """New holes in the same programs: "multi_line" (2-5 whole lines) or "random_span"."""
    rng = __import__("random").Random(seed)
    starts = _body_start(problems)
    seen: set[str] = set()
    out: list[Problem] = []
    for p in problems:
        task = p.task_id.rsplit("/", 1)[0]
        if task in seen:
            continue
        seen.add(task)
        source = p.prompt + p.canonical_solution + p.suffix
        body = starts[task]
        for k in range(8):
            if variant == "multi_line":
                offsets = [i + 1 for i, c in enumerate(source) if c == "\n" and i + 1 >= body]
                offsets = [body] + [o for o in offsets if o > body and o < len(source)]
                if len(offsets) < 3:
                    break
                i = rng.randrange(0, len(offsets) - 2)
                j = min(len(offsets) - 1, i + rng.randint(2, 5))
                a, b = offsets[i], offsets[j]
            elif variant == "random_span":
                a = rng.randrange(body, len(source) - 1)
                b = min(len(source), a + rng.randint(1, 120))
            else:
                raise SystemExit(f"unknown variant {variant!r} (multi_line, random_span)")
            if not source[a:b].strip():
                continue
            out.append(
                Problem(f"{task}/{variant}{k}", source[:a], source[b:], source[a:b], p.test,
                        p.entry_point)
            )  # fmt: skip
    return out


def make_context(p: Problem) -> CompletionContext:
    line = p.prompt.count("\n")
    character = len(p.prompt) - (p.prompt.rfind("\n") + 1)
    return CompletionContext(p.uri, "python", p.prompt + p.suffix, line, character)


# --- execution ---------------------------------------------------------------------------------


def program(p: Problem, completion: str | Edit) -> str:
    """The test program with the suggestion accepted (an `Edit` is applied as the editor does)."""
    edit = completion if isinstance(completion, Edit) else Edit(completion)
    return f"{edit.apply(p.prompt, p.suffix)}\n{p.test}\ncheck({p.entry_point})\n"


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
    ap.add_argument("--oracle", action="store_true", help="same as --oracle-mode overrun")
    ap.add_argument(
        "--oracle-mode",
        choices=["exact", "overrun"],
        default=None,
        help="no model: the canonical middle alone, or followed by a realistic overrun",
    )
    ap.add_argument(
        "--variant",
        choices=["single", "multi_line", "random_span"],
        default="single",
        help="holes of the data set, or new multi-line / random-span holes in its programs",
    )
    ap.add_argument("--limit", type=int, default=None, help="first N problems only")
    ap.add_argument("--json", action="store_true", help="print only the JSON result")
    ap.add_argument("--widen", type=int, default=0, help="move N suffix lines into the hole")
    ap.add_argument(
        "--no-stream-stop",
        action="store_true",
        help="let every generation run to the engine's own stop (to measure what stopping saves)",
    )
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


async def _generate(problems, engine, template, args) -> tuple[list[Edit], list[float], Counter]:
    completions, latencies, modes = [], [], Counter()
    tokens = Counter()
    for p in problems:
        t0 = time.perf_counter()
        res = await complete(
            make_context(p),
            engine,
            template,
            max_prompt_tokens=args.max_prompt_tokens,
            max_tokens=args.max_tokens,
            stream_stop=not args.no_stream_stop,
        )
        latencies.append((time.perf_counter() - t0) * 1000)
        completions.append(res.edit or Edit(res.text, at_cursor=res.text))
        if res.plan is not None:
            modes[res.plan.mode] += 1
        if res.stats is not None:
            tokens["generated"] += res.stats.generated_tokens
            tokens["kept"] += res.stats.kept_tokens
            tokens["stopped_early"] += int(res.stats.stopped_early)
            tokens["decode_ms"] += max(0.0, res.stats.total_ms - res.stats.ttft_ms)
    modes["_tokens"] = tokens  # type: ignore[assignment]
    return completions, latencies, modes


def run(args: argparse.Namespace, make_engine: Callable[[], Engine] | None) -> dict:
    data = args.data or default_data()
    if not data:
        raise SystemExit("no data: pass --data FILE (HumanEval infilling jsonl or jsonl.gz)")
    problems = load_problems(data, args.limit)
    if args.variant != "single":
        problems = make_variant(problems, args.variant)
        if args.limit is not None:
            problems = problems[: args.limit]
    if args.widen:
        problems = [widen_hole(p, args.widen) for p in problems]
    oracle_mode = args.oracle_mode or ("overrun" if args.oracle else None)
    t_start = time.perf_counter()
    if oracle_mode:
        template = template_by_name(args.template or "tandem-demo")
        engine: Engine = OracleEngine(problems, template, oracle_mode)
    else:
        if make_engine is None:
            raise SystemExit(
                "no engine: pass --oracle / --oracle-mode, or run it as `tandem bench infill`"
            )
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
    tokens = modes.pop("_tokens")
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
    holes = [as_hole(p) for p in problems]
    exacts = [check(h, c)[1] for c, h in zip(completions, holes, strict=False)]
    exact = sum(exacts)
    per_mode: dict[str, dict] = {}
    for h, ok, ex in zip(holes, passed, exacts, strict=False):
        m = per_mode.setdefault(h.position_kind, {"n": 0, "passed": 0, "exact": 0})
        m["n"] += 1
        m["passed"] += int(ok)
        m["exact"] += int(ex)
    per_mode = {
        k: {
            "n": v["n"],
            "pass_rate": round(v["passed"] / v["n"], 4),
            "exact_match": round(v["exact"] / v["n"], 4),
        }
        for k, v in sorted(per_mode.items())
    }
    result = {
        "pass_rate": round(sum(passed) / n, 4) if n else 0.0,
        "n": n,
        "passed": sum(passed),
        "exact_match": round(exact / n, 4) if n else 0.0,
        "template": template.name,
        "per_mode": per_mode,
        "oracle_mode": oracle_mode,
        "variant": args.variant,
        "tokens": {
            "generated": tokens["generated"],
            "kept": tokens["kept"],
            "kept_share": round(tokens["kept"] / tokens["generated"], 4)
            if tokens["generated"]
            else 0.0,
            "stopped_early": tokens["stopped_early"],
            "decode_ms": round(tokens["decode_ms"], 1),
        },
        "engine": "oracle" if oracle_mode else engine.info.name,
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
