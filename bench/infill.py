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

`--model PATH` (a .gguf file or a Hugging Face model directory) runs that model on the engine
the server would pick for it; the completion mode (fim or prefix) is chosen as the server
chooses it. `--baseline raw` also runs the same model without Tandem, side by side in the same
run and on the same engine: the prefix alone, greedy, cut at the first newline for single-line
holes and at the first dedent for the others. Reported per split (`--variant`) and per cursor
mode: pass@1, exact match, empty rate, and how many suggestions leak Tandem's own prompt (FIM
markers, marker-like text, the cross-file context header: `completion.postprocess.leak`).
`--out FILE` writes one JSON line per problem (both suggestions, raw outputs, verdicts).
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

from completion.cursor import indent_of, width
from completion.postprocess.leak import leak_reason
from completion.service import complete
from completion.templates import FimTemplate, choose_mode, template_by_name
from completion.types import CompletionContext, Edit
from inference.base import Engine, GenerationRequest
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


def make_context(p: Problem, uri: str | None = None) -> CompletionContext:
    line = p.prompt.count("\n")
    character = len(p.prompt) - (p.prompt.rfind("\n") + 1)
    return CompletionContext(uri or p.uri, "python", p.prompt + p.suffix, line, character)


def document_uri(p: Problem) -> str:
    """One document per HumanEval task: its problems are cursors in the same file, so the
    engine keeps the file's KV prefix from one problem to the next, as an editor's keystrokes
    do (the holes of a task extend each other's prefix)."""
    return "file:///humaneval/" + p.task_id.rsplit("/", 1)[0].replace("/", "_") + ".py"


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
    ap.add_argument("--offset", type=int, default=0, help="skip the first N problems")
    ap.add_argument("--json", action="store_true", help="print only the JSON result")
    ap.add_argument("--widen", type=int, default=0, help="move N suffix lines into the hole")
    ap.add_argument(
        "--no-stream-stop",
        action="store_true",
        help="let every generation run to the engine's own stop (to measure what stopping saves)",
    )
    ap.add_argument(
        "--model",
        default=None,
        help="a .gguf file or a Hugging Face model directory (default: $TANDEM_MODEL, else the "
        "server's default model)",
    )
    ap.add_argument("--threads", type=int, default=0, help="llama.cpp threads (0: all cores)")
    ap.add_argument(
        "--baseline",
        choices=["raw"],
        default=None,
        help="raw: also run the same model without Tandem (the prefix alone, greedy, cut at "
        "the first newline for single-line holes, at the first dedent otherwise), side by side",
    )
    ap.add_argument("--out", default=None, help="write per-problem outputs here (JSON lines)")
    ap.add_argument("--template", default=None, help="FIM template name (default: detect)")
    ap.add_argument(
        "--completion-prompt",
        choices=["auto", "fim", "prefix"],
        default="auto",
        help="completion mode, as the completionPrompt setting (default: auto)",
    )
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


async def _generate(
    problems, engine, template, args, baseline: list | None = None
) -> tuple[list[Edit], list[float], Counter]:
    """Tandem's suggestion for each problem; with `baseline` (a list to fill), the raw model's
    right after it on the same document (`_raw_one`), side by side."""
    completions, latencies, modes = [], [], Counter()
    tokens = Counter()
    raws: list[str] = []
    oracle = isinstance(engine, OracleEngine)
    for p in problems:
        uri = None if oracle else document_uri(p)
        t0 = time.perf_counter()
        res = await complete(
            make_context(p, uri),
            engine,
            template,
            max_prompt_tokens=args.max_prompt_tokens,
            max_tokens=args.max_tokens,
            stream_stop=not args.no_stream_stop,
        )
        latencies.append((time.perf_counter() - t0) * 1000)
        completions.append(res.edit or Edit(res.text, at_cursor=res.text))
        raws.append(res.raw)
        if res.plan is not None:
            modes[res.plan.mode] += 1
        if res.stats is not None:
            tokens["generated"] += res.stats.generated_tokens
            tokens["kept"] += res.stats.kept_tokens
            tokens["stopped_early"] += int(res.stats.stopped_early)
            tokens["decode_ms"] += max(0.0, res.stats.total_ms - res.stats.ttft_ms)
        if baseline is not None:
            baseline.append(await _raw_one(p, engine, args, uri))
    modes["_tokens"] = tokens  # type: ignore[assignment]
    modes["_raws"] = raws  # type: ignore[assignment]
    return completions, latencies, modes


# --- the raw baseline: the same model without Tandem -------------------------------------------


def single_line_hole(p: Problem) -> bool:
    """A hole of one whole line (or less): the raw baseline cuts at the first newline."""
    return "\n" not in p.canonical_solution.rstrip("\n")


def raw_cut(p: Problem, raw: str) -> str:
    """The raw model's middle as a plain script would take it: the first line for a single-line
    hole; for others, lines up to the first one indented left of where the hole starts (the
    first dedent), blank lines kept."""
    raw = raw.replace("\r\n", "\n")
    if single_line_hole(p):
        head = raw.split("\n", 1)[0]
        return head + "\n" if p.canonical_solution.endswith("\n") else head
    line_start = p.prompt[p.prompt.rfind("\n") + 1 :]
    lines = raw.split("\n")
    base = width(indent_of(line_start + lines[0])) if (line_start + lines[0]).strip() else None
    kept = [lines[0]]
    for line in lines[1:]:
        if line.strip():
            col = width(indent_of(line))
            if base is None:
                base = col
            elif col < base:
                return "\n".join(kept) + "\n"
        kept.append(line)
    return "\n".join(kept)


async def _raw_one(p: Problem, engine: Engine, args, uri: str | None) -> tuple[Edit, str]:
    """The prefix alone, greedy, no postprocessing but the cut (`raw_cut`)."""
    gen = engine.start(
        GenerationRequest(
            prompt=p.prompt,
            max_tokens=args.max_tokens,
            stop=["\n"] if single_line_hole(p) else [],
            temperature=0.0,
            kind="fim",
            strategy="plain",
            cache_key=uri,
        )
    )
    raw = await gen.text()
    text = raw_cut(p, raw)
    return Edit(text, at_cursor=text), raw


def _score(problems, completions, args) -> dict:
    """Execution (pass@1), exact match and empty rate, overall and per cursor mode."""
    with ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool:
        passed = list(
            pool.map(
                lambda pc: run_program(program(*pc), args.timeout),
                zip(problems, completions, strict=True),
            )
        )
    holes = [as_hole(p) for p in problems]
    exacts = [check(h, c)[1] for c, h in zip(completions, holes, strict=True)]
    empties = [not c.text.strip() for c in completions]
    leaks = [leak_reason(c.text) for c in completions]
    n = len(problems)
    per_mode: dict[str, Counter] = {}
    for h, ok, ex, em in zip(holes, passed, exacts, empties, strict=True):
        m = per_mode.setdefault(h.position_kind, Counter())
        m["n"] += 1
        m["passed"] += int(ok)
        m["exact"] += int(ex)
        m["empty"] += int(em)

    def rates(c: Counter) -> dict:
        k = c["n"] or 1
        return {
            "n": c["n"],
            "passed": c["passed"],
            "pass_rate": round(c["passed"] / k, 4),
            "exact_match": round(c["exact"] / k, 4),
            "empty_rate": round(c["empty"] / k, 4),
        }

    total = Counter(n=n, passed=sum(passed), exact=sum(exacts), empty=sum(empties))
    return {
        **rates(total),
        "per_mode": {k: rates(v) for k, v in sorted(per_mode.items())},
        "leaks": sum(1 for x in leaks if x),
        "_passed": passed,
        "_exact": exacts,
        "_leaks": leaks,
    }


def _engine_for(args, make_engine: Callable[..., Engine] | None) -> Engine:
    if make_engine is None:
        raise SystemExit(
            "no engine: pass --model PATH, --oracle / --oracle-mode, or run it as "
            "`tandem bench infill`"
        )
    try:
        return make_engine(model=args.model, threads=args.threads)
    except TypeError:  # a zero-argument factory (tests)
        return make_engine()


def run(args: argparse.Namespace, make_engine: Callable[..., Engine] | None) -> dict:
    data = args.data or default_data()
    if not data:
        raise SystemExit("no data: pass --data FILE (HumanEval infilling jsonl or jsonl.gz)")
    offset = getattr(args, "offset", 0) or 0
    problems = load_problems(data, None if args.limit is None else offset + args.limit)[offset:]
    if args.variant != "single":
        problems = make_variant(problems, args.variant)
        if args.limit is not None:
            problems = problems[: args.limit]
    if args.widen:
        problems = [widen_hole(p, args.widen) for p in problems]
    oracle_mode = args.oracle_mode or ("overrun" if args.oracle else None)
    if oracle_mode and args.baseline:
        raise SystemExit("--baseline raw needs a model, not an oracle")
    t_start = time.perf_counter()
    mode_text = ""
    if oracle_mode:
        template: FimTemplate = template_by_name(args.template or "tandem-demo")
        engine: Engine = OracleEngine(problems, template, oracle_mode)
    else:
        engine = _engine_for(args, make_engine)
        mode = choose_mode(
            engine.info.special_tokens, args.template, getattr(args, "completion_prompt", "auto")
        )
        template, mode_text = mode.template, mode.describe()
        print(f"bench infill: {engine.info.model}: {mode_text}", file=sys.stderr)

    async def go():
        try:
            await engine.ready()
            pairs: list | None = [] if args.baseline else None
            out = await _generate(problems, engine, template, args, pairs)
            raw = ([e for e, _ in pairs], [r for _, r in pairs]) if pairs is not None else None
            return out, raw
        finally:
            await engine.close()

    (completions, latencies, modes), raw_run = asyncio.run(go())
    tokens = modes.pop("_tokens")
    tandem_raws = modes.pop("_raws")
    t_gen = time.perf_counter()
    scored = _score(problems, completions, args)
    baseline = _score(problems, raw_run[0], args) if raw_run else None
    t_exec = time.perf_counter()
    n = len(problems)
    split = args.variant + (f"+widen{args.widen}" if args.widen else "")
    public = {k: v for k, v in scored.items() if not k.startswith("_")}
    result = {
        "pass_rate": public["pass_rate"],
        "n": n,
        "passed": public["passed"],
        "exact_match": public["exact_match"],
        "empty_rate": public["empty_rate"],
        "leaks": public["leaks"],
        "template": template.name,
        "mode": mode_text,
        "per_mode": public["per_mode"],
        "splits": {split: public},
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
        "failures": [
            p.task_id for p, ok in zip(problems, scored["_passed"], strict=True) if not ok
        ][:20],
    }
    if baseline is not None:
        base_public = {k: v for k, v in baseline.items() if not k.startswith("_")}
        result["baseline_raw"] = {**base_public, "splits": {split: base_public}}
        result["vs_raw"] = (
            round(public["passed"] / base_public["passed"], 4) if base_public["passed"] else None
        )
    if isinstance(engine, OracleEngine):
        result["overruns"] = dict(engine.kinds)
    if args.out:
        _write_out(args.out, problems, completions, tandem_raws, scored, raw_run, baseline)
    return result


def _write_out(path, problems, completions, raws, scored, raw_run, baseline) -> None:
    """One JSON line per problem: where the cursor is, each variant's suggestion and verdict."""
    with open(path, "w", encoding="utf-8") as f:
        for i, p in enumerate(problems):
            row = {
                "task_id": p.task_id,
                "position_kind": as_hole(p).position_kind,
                "canonical": p.canonical_solution,
                "tandem": {
                    "text": completions[i].text,
                    "replace_before": completions[i].replace_before,
                    "replace_after": completions[i].replace_after,
                    "raw": raws[i],
                    "passed": scored["_passed"][i],
                    "exact": scored["_exact"][i],
                    "leak": scored["_leaks"][i],
                },
            }
            if raw_run is not None and baseline is not None:
                row["raw"] = {
                    "text": raw_run[0][i].text,
                    "raw": raw_run[1][i],
                    "passed": baseline["_passed"][i],
                    "exact": baseline["_exact"][i],
                }
            f.write(json.dumps(row) + "\n")


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
            f"empty {result['empty_rate']:.4f}, leaks {result['leaks']}, "
            f"template {result['template']}, {result['timing']['total_s']}s",
            file=sys.stderr,
        )
        base = result.get("baseline_raw")
        if base:
            print(
                f"raw baseline: pass@1 {base['pass_rate']:.4f} ({base['passed']}/{base['n']}), "
                f"exact match {base['exact_match']:.4f}, empty {base['empty_rate']:.4f}; "
                f"Tandem / raw = {result['vs_raw']}",
                file=sys.stderr,
            )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
