"""`tandem bench nextedit`: next-edit suggestions on real edit history, and their speed.

Cases come from a git repository's history (this project's by default): in each commit, a
file's first hunk is the user's recent edit, and the next hunk a few lines below it is the edit
to predict (it must lie inside the 21-line region around the cursor, which sits at the end of
the first hunk). The pipeline is the server's: `nextedit.predict` with the chosen format. The
report gives the exact-match rate (the edits applied to the document give the next version
exactly) and the share of predicted edits that apply cleanly (inside the document, not
overlapping).

`--oracle` answers with a stand-in that writes the true next version in each format
(`testing/nextedit_oracle.py`); the pipeline must reproduce 100% of the targets.
`--model x.gguf` runs a real model through the llama.cpp engine.
`--speed` compares speculative rewriting (prompt lookup from the region plus the early stop)
with plain decoding of the same requests, side by side in one run, and checks they give the
same rewrite.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from inference.base import Engine
from nextedit import NextEditRequest, apply_edits, predict
from nextedit.formats import FORMATS, NextEditFormat, choose_format, format_by_name
from nextedit.history import edit_from_texts
from nextedit.predict import build_input
from nextedit.region import region_around

REPO = Path(__file__).resolve().parents[1]
#: Most lines a hunk may change to make a case (next edits are small).
MAX_HUNK_LINES = 6
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class Hunk:
    old_start: int  # 0-based first old line (for a pure insertion: the line it goes before)
    old: tuple[str, ...]
    new: tuple[str, ...]


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    before: tuple[str, ...]  # the file before the commit
    current: tuple[str, ...]  # after the first hunk: what the user sees
    target: tuple[str, ...]  # after both hunks: what the next edit should give
    line: int
    col: int

    @property
    def uri(self) -> str:
        return f"file:///bench/{self.name}/{self.path}"


def _git(repo: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, errors="replace"
    )
    return out.stdout if out.returncode == 0 else ""


def parse_hunks(diff: str) -> dict[str, list[Hunk]]:
    """`git diff -U0` output → hunks per file (b/ path)."""
    files: dict[str, list[Hunk]] = {}
    path = None
    cur: list | None = None
    for line in diff.split("\n"):
        if line.startswith("+++ "):
            path = line[6:] if line.startswith("+++ b/") else None
            continue
        if line.startswith("--- ") or line.startswith("diff ") or line.startswith("index "):
            continue
        m = _HUNK.match(line)
        if m and path:
            old_start, old_n = int(m.group(1)), int(m.group(2) or 1)
            cur = [old_start - 1 if old_n else old_start, [], []]
            files.setdefault(path, []).append(cur)  # type: ignore[arg-type]
            continue
        if cur is not None and line.startswith("-"):
            cur[1].append(line[1:])
        elif cur is not None and line.startswith("+"):
            cur[2].append(line[1:])
    return {p: [Hunk(h[0], tuple(h[1]), tuple(h[2])) for h in hs] for p, hs in files.items()}


def _apply(lines: list[str], hunks: list[Hunk]) -> list[str]:
    out = list(lines)
    for h in sorted(hunks, key=lambda h: h.old_start, reverse=True):
        out[h.old_start : h.old_start + len(h.old)] = list(h.new)
    return out


def case_from(name: str, path: str, before: list[str], h1: Hunk, h2: Hunk) -> Case | None:
    """The case for hunk `h1` done and `h2` next, if `h2` lies in the region at the cursor."""
    if h2.old_start < h1.old_start + len(h1.old):
        return None
    current = _apply(before, [h1])
    target = _apply(before, [h1, h2])
    if current == target or current == before:
        return None
    line = h1.old_start + max(0, len(h1.new) - 1)
    line = min(line, len(current) - 1)
    col = len(current[line]) if h1.new else 0
    region = region_around(current, line, col)
    shift = len(h1.new) - len(h1.old)
    lo = h2.old_start + shift
    hi = lo + len(h2.old)
    if lo < region.start or hi >= region.end:  # the edit must end inside the region
        return None
    return Case(name, path, tuple(before), tuple(current), tuple(target), line, col)


def cases_from_git(
    repo: Path, limit: int = 40, max_commits: int = 300, glob: str = "*.py"
) -> list[Case]:
    """Consecutive-hunk cases from the newest `max_commits` commits of `repo`."""
    cases: list[Case] = []
    log = _git(repo, "log", "--no-merges", f"-n{max_commits}", "--format=%H", "--", glob)
    for commit in log.split():
        diff = _git(repo, "diff", "-U0", "--no-color", f"{commit}^", commit, "--", glob)
        for path, hunks in sorted(parse_hunks(diff).items()):
            small = [h for h in hunks if max(len(h.old), len(h.new)) <= MAX_HUNK_LINES]
            if len(small) < 2:
                continue
            text = _git(repo, "show", f"{commit}^:{path}")
            if not text or "\r" in text:
                continue
            before = text.split("\n")
            for h1, h2 in zip(small, small[1:], strict=False):
                c = case_from(f"{commit[:10]}-{len(cases)}", path, before, h1, h2)
                if c is not None:
                    cases.append(c)
                    break  # one case per file and commit
            if len(cases) >= limit:
                return cases
    return cases


def request_for(case: Case) -> NextEditRequest:
    recent = edit_from_texts(case.uri, case.path, "\n".join(case.before), "\n".join(case.current))
    return NextEditRequest(
        uri=case.uri, path=case.path, lines=case.current, line=case.line, col=case.col,
        recent=(recent,),
    )  # fmt: skip


def oracle_answers(cases: list[Case], fmt: NextEditFormat) -> dict[str, str]:
    """What a perfect model would write for each case, keyed as `predict` keys requests."""
    answers = {}
    for case in cases:
        inp = build_input(request_for(case))
        r = inp.region
        grow = len(case.target) - len(case.current)
        answers[f"nextedit:{case.uri}"] = fmt.render(inp, list(case.target[r.start : r.end + grow]))
    return answers


async def evaluate(
    engine: Engine, fmt: NextEditFormat, cases: list[Case], max_tokens: int = 768
) -> dict:
    exact = suggested = edits_total = edits_clean = early = 0
    drafted = accepted = generated = saved = 0
    misses: list[str] = []
    for case in cases:
        result = await predict(engine, fmt, request_for(case), max_tokens=max_tokens)
        s = result.stats
        drafted, accepted = drafted + s.drafted_tokens, accepted + s.accepted_tokens
        generated, saved = generated + s.generated_tokens, saved + s.saved_tokens
        early += s.stopped_early
        if not result.edits:
            misses.append(f"{case.name} {case.path}: no suggestion ({result.reason})")
            continue
        suggested += 1
        for e in result.edits:
            edits_total += 1
            try:
                apply_edits(case.current, [e])
                edits_clean += 1
            except ValueError:
                pass
        try:
            ok = apply_edits(case.current, result.edits) == list(case.target)
        except ValueError:
            ok = False
        exact += ok
        if not ok:
            misses.append(f"{case.name} {case.path}: edits differ from the next version")
    n = len(cases)
    return {
        "format": fmt.name,
        "cases": n,
        "exact_match": round(exact / n, 4) if n else None,
        "suggested": round(suggested / n, 4) if n else None,
        "edits": edits_total,
        "edits_apply_cleanly": round(edits_clean / edits_total, 4) if edits_total else None,
        "early_stops": early,
        "tokens": {
            "generated": generated,
            "drafted": drafted,
            "accepted": accepted,
            "saved_by_early_stop": saved,
        },
        "misses": misses[:10],
    }


# -- speed: speculative rewriting vs plain decoding ----------------------------------------

#: A 21-line region whose next edit is one line: the user renamed `items` to `records` in the
#: signature; the loop below still says `items` once.
SPEED_BEFORE = '''def summarize(items, limit=10):
    """Count, total and the largest values of a list of numbers."""
    if not items:
        return {"count": 0, "total": 0, "top": []}
    total = 0
    largest = []
    for value in items:
        total += value
        largest.append(value)
        largest.sort(reverse=True)
        del largest[limit:]
    mean = total / len(records)
    report = {
        "count": len(records),
        "total": total,
        "mean": mean,
        "top": largest,
    }
    if limit > 1:
        report["limit"] = limit
    return report
'''


def speed_request(fmt: NextEditFormat) -> NextEditRequest:
    before = SPEED_BEFORE.rstrip("\n")
    after = before.replace("def summarize(items,", "def summarize(records,", 1).replace(
        "    if not items:", "    if not records:", 1
    )
    uri, path = "file:///bench/speed/stats.py", "stats.py"
    recent = edit_from_texts(uri, path, before, after)
    lines = tuple(after.split("\n"))
    return NextEditRequest(uri=uri, path=path, lines=lines, line=10, col=0, recent=(recent,))


async def speed(
    engine: Engine, fmt: NextEditFormat, rounds: int, max_tokens: int, lookup_only: bool = False
) -> dict:
    """Alternate plain and speculative runs of one request; wall time to the rewrite. One
    warm-up run first prefills the prompt, so every measured run reuses its KV (the same
    prompt), as on the next request for a document: the runs differ only in decoding."""
    req = speed_request(fmt)
    modes = {
        "plain": {"strategy": "plain", "early_stop": False},
        "speculative": {"strategy": "prompt_lookup", "early_stop": True},
    }
    if lookup_only:  # prompt lookup without the early stop: what each part gives
        modes["lookup_only"] = {"strategy": "prompt_lookup", "early_stop": False}
    await predict(engine, fmt, req, max_tokens=max_tokens, **modes["speculative"])
    times: dict[str, list[float]] = {m: [] for m in modes}
    last = {}
    for _ in range(rounds):
        for mode, kw in modes.items():
            t0 = time.perf_counter()
            result = await predict(engine, fmt, req, max_tokens=max_tokens, **kw)
            times[mode].append((time.perf_counter() - t0) * 1000)
            last[mode] = result
    plain, spec = last["plain"], last["speculative"]
    med = {m: statistics.median(v) for m, v in times.items()}
    changed = 0
    if plain.rewrite is not None:
        matcher = difflib.SequenceMatcher(None, list(plain.region.lines), plain.rewrite)
        changed = sum(
            max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
        )
    # each round's plain and speculative runs are back to back: their ratio is robust to the
    # load of a shared machine drifting between rounds
    paired = [p / q for p, q in zip(times["plain"], times["speculative"], strict=True)]
    return {
        "format": fmt.name,
        "rounds": rounds,
        "region_lines": len(plain.region.lines),
        "plain_rewrite_lines_changed": changed,
        "identical_rewrite": spec.rewrite == plain.rewrite,
        "median_ms": {m: round(v, 1) for m, v in med.items()},
        "ms_per_round": {m: [round(x) for x in v] for m, v in times.items()},
        "speedup_vs_plain": round(med["plain"] / med["speculative"], 2),
        "paired_speedups": [round(x, 2) for x in paired],
        "median_paired_speedup": round(statistics.median(paired), 2),
        **(
            {
                "identical_rewrite_lookup_only": last["lookup_only"].rewrite == plain.rewrite,
                "speedup_lookup_only": round(med["plain"] / med["lookup_only"], 2),
            }
            if lookup_only
            else {}
        ),
        "stats": {m: last[m].stats.to_dict() for m in modes},
        "plain_rewrite": plain.rewrite,
    }


def _engine(args: argparse.Namespace) -> Engine:
    from lsp_server.engine_manager import build_engine
    from lsp_server.settings import Settings

    engine, notice = build_engine(Settings(model=args.model, threads=args.threads))
    if notice:
        print(notice, file=sys.stderr)
    return engine


async def _main(args: argparse.Namespace) -> dict:
    if args.speed:
        engine = _engine(args)
        try:
            fmt = _format_for(args.format, engine)
            report = await speed(engine, fmt, args.rounds, args.max_tokens, args.lookup_only)
            report["engine"] = f"{engine.info.name}: {engine.info.model} ({engine.info.device})"
            return report
        finally:
            await engine.close()
    cases = cases_from_git(Path(args.repo), limit=args.cases, max_commits=args.commits)
    report: dict = {"repo": str(args.repo), "cases": len(cases)}
    if args.oracle:
        from testing.nextedit_oracle import oracle_engine

        names = list(FORMATS) if args.format == "auto" else [args.format]
        report["engine"] = "oracle stand-in (testing/nextedit_oracle.py), not a model"
        report["results"] = [
            await evaluate(oracle_engine(oracle_answers(cases, format_by_name(n))),
                           format_by_name(n), cases)
            for n in names
        ]  # fmt: skip
        return report
    engine = _engine(args)
    try:
        fmt = _format_for(args.format, engine)
        report["engine"] = f"{engine.info.name}: {engine.info.model}"
        report["results"] = [await evaluate(engine, fmt, cases, args.max_tokens)]
    finally:
        await engine.close()
    return report


def _format_for(name: str, engine: Engine) -> NextEditFormat:
    from lsp_server.features.nextedit import model_names

    return choose_format(name, model_names(engine), engine.info.special_tokens)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="tandem bench nextedit", description=__doc__.split("\n")[0])
    p.add_argument("--repo", default=str(REPO), help="git repository whose history gives cases")
    p.add_argument("--cases", type=int, default=40)
    p.add_argument("--commits", type=int, default=300, help="newest commits to look through")
    p.add_argument("--oracle", action="store_true", help="the oracle stand-in, every format")
    p.add_argument("--model", help="a model (.gguf for llama.cpp); default: the server's default")
    p.add_argument("--format", default="auto", choices=["auto", *FORMATS])
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--max-tokens", type=int, default=768)
    p.add_argument("--speed", action="store_true", help="speculative vs plain rewriting")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--lookup-only", action="store_true", help="--speed: also lookup, no early stop")
    p.add_argument("--out", help="also write the JSON report here")
    args = p.parse_args(argv)
    report = asyncio.run(_main(args))
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0
