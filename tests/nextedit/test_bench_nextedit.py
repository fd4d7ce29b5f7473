"""`tandem bench nextedit` on a small git history: the oracle stand-in must reproduce 100%."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from bench.nextedit import (
    cases_from_git,
    evaluate,
    main,
    oracle_answers,
    parse_hunks,
)
from nextedit.formats import FORMATS, format_by_name
from nextedit.region import region_around
from testing.nextedit_oracle import oracle_engine

V0 = """import math


def area(w, h):
    check(w)
    check(h)
    return w * h


def scale(points, factor):
    out = []
    for p in points:
        out.append(p * factor)
    return out
"""
# each commit: a first hunk (the recent edit) and a second one a few lines below (the target)
V1 = V0.replace("def area(w, h):", "def area(width, h):").replace(
    "return w * h", "return width * h"
)
V2 = V1.replace("def scale(points, factor):", "def scale(points, k):").replace(
    "p * factor", "p * k"
)
V3 = V2.replace("import math\n", "import math\nimport sys\n").replace(
    "    check(h)\n", "    check(h)\n    check(sys)\n"
)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("history")
    _git(repo, "init", "-q")
    for i, text in enumerate([V0, V1, V2, V3]):
        (repo / "geo.py").write_text(text)
        _git(repo, "add", "geo.py")
        _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", f"v{i}")
    return repo


def test_cases_come_from_consecutive_hunks(repo):
    cases = cases_from_git(repo)
    assert len(cases) == 3
    by_target = {c.target: c for c in cases}
    c = by_target[tuple(V3.split("\n"))]
    assert c.current == tuple(V3.replace("    check(sys)\n", "").split("\n"))
    assert c.current[c.line] == "import sys"


def test_parse_hunks_reads_git_diff_u0():
    diff = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -2 +2 @@\n-a\n+b\n@@ -5,0 +6,2 @@\n+c\n+d\n"
    [h1, h2] = parse_hunks(diff)["x"]
    assert (h1.old_start, h1.old, h1.new) == (1, ("a",), ("b",))
    assert (h2.old_start, h2.old, h2.new) == (5, (), ("c", "d"))


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_the_oracle_reproduces_every_target(repo, name):
    cases = cases_from_git(repo)
    fmt = format_by_name(name)
    report = asyncio.run(evaluate(oracle_engine(oracle_answers(cases, fmt)), fmt, cases))
    assert report["exact_match"] == 1.0, report["misses"]
    assert report["edits_apply_cleanly"] == 1.0
    assert report["early_stops"] >= 1


def test_a_model_that_only_copies_scores_zero(repo):
    cases = cases_from_git(repo)
    fmt = format_by_name("sweep")
    copies = {}
    for c in cases:
        region = region_around(c.current, c.line, c.col)
        copies[f"nextedit:{c.uri}"] = region.text + "\n<|file_sep|>"
    report = asyncio.run(evaluate(oracle_engine(copies), fmt, cases))
    assert report["exact_match"] == 0.0 and report["suggested"] == 0.0


def test_cli_oracle_run(repo, capsys):
    assert main(["--repo", str(repo), "--oracle", "--format", "zeta"]) == 0
    out = capsys.readouterr().out
    assert '"exact_match": 1.0' in out and "oracle stand-in" in out
