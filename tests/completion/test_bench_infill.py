"""The infilling benchmark: the oracle run must be perfect on HumanEval infilling (single-line
and a multi-line split made here by widening the holes), through the server's pipeline."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from bench import infill as bench
from completion.pipeline import finalize, prepare
from completion.templates import template_by_name
from inference.base import Engine, EngineInfo, GenerationRequest
from testing import oracle

DATA = Path("/work/shared/data/humaneval-infilling/HumanEval-SingleLineInfilling.jsonl.gz")
REPO_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / bench.DATA_NAME
SINGLE = next((p for p in (REPO_DATA, DATA) if p.exists()), None)
needs_data = pytest.mark.skipif(SINGLE is None, reason="HumanEval infilling data not present")


def _norm(s: str) -> str:
    return "\n".join(x.rstrip() for x in s.rstrip().split("\n"))


def _oracle_finalize(p: bench.Problem) -> tuple[str, str]:
    ctx = bench.make_context(p)
    plan = prepare(ctx, template_by_name("tandem-demo"), lambda s: len(s.split()))
    raw, kind = oracle.oracle_output(p)
    cut = min([i for s in plan.stop if (i := raw.find(s)) != -1] or [len(raw)])
    return finalize(raw[:cut], ctx, plan), kind


def _write(problems: list[bench.Problem], path: Path) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for p in problems:
            f.write(json.dumps(p.__dict__) + "\n")
    return path


def _run(capsys, argv, make_engine=None) -> dict:
    assert bench.main(argv, make_engine) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@needs_data
def test_oracle_recovers_every_middle_of_the_single_line_split():
    """All 1,033 problems, without executing them: the finalized oracle output is the canonical
    middle (up to trailing whitespace), so it passes wherever the canonical solution does."""
    problems = bench.load_problems(SINGLE)
    assert len(problems) == 1033
    kinds = set()
    for p in problems:
        out, kind = _oracle_finalize(p)
        kinds.add(kind)
        assert _norm(out) == _norm(p.canonical_solution), p.task_id
    assert kinds == {"suffix", "repeat", "closer"}


@needs_data
@pytest.mark.parametrize("extra", [1, 2, 3])
def test_oracle_recovers_widened_multi_line_holes(extra):
    for p in bench.load_problems(SINGLE)[::3]:
        w = bench.widen_hole(p, extra)
        out, _ = _oracle_finalize(w)
        assert _norm(out) == _norm(w.canonical_solution), w.task_id


@needs_data
def test_oracle_run_executes_and_passes(capsys):
    res = _run(capsys, ["--data", str(SINGLE), "--oracle", "--limit", "40", "--json"])
    assert res["pass_rate"] == 1.0 and res["n"] == 40 and res["exact_match"] == 1.0
    assert res["template"] == "tandem-demo" and res["engine"] == "oracle"
    assert set(res["timing"]) >= {"total_s", "generate_s", "exec_s", "latency_ms_p50"}


@needs_data
def test_synthetic_multi_line_split_passes(tmp_path, capsys):
    problems = bench.load_problems(SINGLE)
    wide = [bench.widen_hole(p, 1 + i % 3) for i, p in enumerate(problems[::40])]
    assert any(p.canonical_solution.count("\n") >= 3 for p in wide)
    data = _write(wide, tmp_path / "HumanEval-MultiLine-synthetic.jsonl.gz")
    res = _run(capsys, ["--data", str(data), "--oracle", "--json"])
    assert res["n"] == len(wide) and res["pass_rate"] == 1.0


def test_a_wrong_completion_fails_the_program():
    p = bench.Problem(
        "t/0", "def f(x):\n", "", "    return x + 1\n", "def check(f):\n    assert f(1) == 2\n", "f"
    )
    assert bench.run_program(bench.program(p, p.canonical_solution), 10)
    assert not bench.run_program(bench.program(p, "    return x\n"), 10)
    assert not bench.run_program(bench.program(p, "    while True: pass\n"), 1)  # timeout


class _EchoEngine(Engine):
    """A stand-in for the real engine: answers `return x` to everything."""

    def __init__(self) -> None:
        self.requests: list[GenerationRequest] = []

    @property
    def info(self) -> EngineInfo:
        return EngineInfo("echo", "echo-model", special_tokens=["<|fim_prefix|>", "<|fim_pad|>"])

    def count_tokens(self, text: str) -> int:
        return len(text) // 4

    def start(self, request: GenerationRequest):
        self.requests.append(request)
        return oracle._TextGeneration("echo", "    return x\n")


def test_real_engine_path_uses_make_engine_and_detects_the_template(tmp_path, capsys):
    probs = [
        bench.Problem("t/0", "def f(x):\n", "", "    return x\n", "def check(f):\n    assert f(3) == 3\n", "f"),
        bench.Problem("t/1", "def g(x):\n", "", "    return x * 2\n", "def check(g):\n    assert g(3) == 6\n", "g"),
    ]  # fmt: skip
    data = _write(probs, tmp_path / "tiny.jsonl.gz")
    engines: list[_EchoEngine] = []
    res = _run(
        capsys,
        ["--data", str(data), "--json"],
        lambda: engines.append(_EchoEngine()) or engines[-1],
    )
    assert res["engine"] == "echo" and res["template"] == "qwen"
    assert res["n"] == 2 and res["pass_rate"] == 0.5 and res["exact_match"] == 0.5
    assert res["failures"] == ["t/1"]
    req = engines[0].requests[0]
    assert req.kind == "fim" and req.prompt.startswith("<|fim_prefix|>def f(x):\n")


def test_without_oracle_or_engine_it_explains(capsys, tmp_path):
    data = _write([], tmp_path / "empty.jsonl.gz")
    assert bench.main(["--data", str(data)], None) == 2
    assert "--oracle" in capsys.readouterr().err


def test_oracle_overrun_is_deterministic_per_task():
    p = bench.Problem("X/1", "def f():\n", "    y = 1\n    z = 2\n", "    x = 0\n", "", "f")
    assert oracle.oracle_output(p) == oracle.oracle_output(p)
    raw, kind = oracle.oracle_output(p)
    assert raw.startswith("    x = 0\n") and len(raw) > len("    x = 0\n")
    kinds = {
        oracle.oracle_output(
            bench.Problem(f"X/{i}", p.prompt, p.suffix, p.canonical_solution, "", "f")
        )[1]
        for i in range(30)
    }
    assert kinds == {"suffix", "repeat", "closer"}


@needs_data
@pytest.mark.parametrize("mode", ["exact", "overrun"])
def test_oracle_modes_report_per_cursor_mode(capsys, mode):
    res = _run(capsys, ["--data", str(SINGLE), "--oracle-mode", mode, "--limit", "30", "--json"])
    assert res["oracle_mode"] == mode and res["pass_rate"] == 1.0 and res["exact_match"] == 1.0
    assert set(res["per_mode"]) <= {"line_start", "in_indent", "mid_line", "block"}
    assert sum(m["n"] for m in res["per_mode"].values()) == 30
    assert all(m["pass_rate"] == 1.0 for m in res["per_mode"].values())
    assert set(res["tokens"]) >= {"generated", "kept", "stopped_early"}


def _oracle_edit(p: bench.Problem, mode: str):
    from completion.pipeline import finalize_edit

    ctx = bench.make_context(p)
    plan = prepare(ctx, template_by_name("tandem-demo"), lambda s: len(s.split()))
    raw, _ = oracle.oracle_output(p, mode)
    cut = min([i for s in plan.stop if (i := raw.find(s)) != -1] or [len(raw)])
    return finalize_edit(raw[:cut], ctx, plan)


@needs_data
@pytest.mark.parametrize("mode", ["exact", "overrun"])
def test_held_out_multi_line_holes_come_back_exactly(mode):
    """Whole-line spans of 2-5 lines cut in the canonical programs: the bar is 100%."""
    from testing.holes import check

    problems = bench.make_variant(bench.load_problems(SINGLE), "multi_line")[::4]
    assert len(problems) > 150
    bad = [p.task_id for p in problems if not check(bench.as_hole(p), _oracle_edit(p, mode))[1]]
    assert not bad, bad


@needs_data
def test_held_out_random_spans_at_line_start_or_in_indentation_come_back_unchanged():
    """Random character spans: holes that start at column 0 or inside the indentation must
    come back unchanged at least 99% of the time (a perfect answer)."""
    from testing.holes import check

    problems = bench.make_variant(bench.load_problems(SINGLE), "random_span")
    holes = [(p, bench.as_hole(p)) for p in problems]
    chosen = [(p, h) for p, h in holes if h.position_kind in ("line_start", "in_indent")]
    assert len(chosen) > 100
    exact = sum(check(h, _oracle_edit(p, "exact"))[1] for p, h in chosen)
    assert exact / len(chosen) >= 0.99, (exact, len(chosen))


def test_raw_baseline_cuts_at_the_first_newline_or_the_first_dedent():
    single = bench.Problem("t/0/L1", "def f(x):\n", "    return y\n", "    y = x\n", "", "f")
    assert bench.raw_cut(single, "    y = x\n    z = 2\n") == "    y = x\n"
    assert bench.raw_cut(single, "    y = x") == "    y = x\n"
    multi = bench.Problem("t/0/M", "def f(x):\n    if x:\n", "    return y\n",
                          "        y = 1\n        z = 2\n", "", "f")  # fmt: skip
    raw = "        y = 1\n\n        z = 2\n    return y\ndef g():\n"
    assert bench.raw_cut(multi, raw) == "        y = 1\n\n        z = 2\n"
    assert bench.raw_cut(multi, "        y = 1\n        z") == "        y = 1\n        z"


@needs_data
def test_model_run_with_the_raw_baseline_writes_per_problem_outputs(tmp_path, capsys, tiny_gguf):
    """`--model PATH --baseline raw --out FILE` on a real (random-weight) GGUF, in prefix mode:
    both variants are executed side by side, with empty rate, leaks and per-mode numbers."""
    from bench.cli import _default_engine

    out = tmp_path / "rows.jsonl"
    argv = ["--data", str(SINGLE), "--model", str(tiny_gguf[0]), "--threads", "1",
            "--baseline", "raw", "--limit", "3", "--max-tokens", "8", "--out", str(out),
            "--completion-prompt", "prefix", "--json"]  # fmt: skip
    res = _run(capsys, argv, _default_engine)
    assert res["mode"] == "prefix: set by completionPrompt" and res["template"] == "prefix"
    assert res["engine"] == "llamacpp" and res["n"] == 3
    for block in (res, res["baseline_raw"]):
        assert {"pass_rate", "exact_match", "empty_rate", "leaks", "per_mode"} <= set(block)
        assert block["splits"]["single"]["n"] == 3
        assert all("empty_rate" in m for m in block["per_mode"].values())
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["task_id"] for r in rows] == [p.task_id for p in bench.load_problems(SINGLE, 3)]
    for r in rows:
        assert set(r["tandem"]) >= {"text", "raw", "passed", "exact", "leak"}
        assert set(r["raw"]) >= {"text", "raw", "passed", "exact"}
        assert r["raw"]["text"] == bench.raw_cut(bench.Problem(r["task_id"], "", "", r["canonical"],
                                                               "", ""), r["raw"]["raw"])  # fmt: skip
