"""`bench codechat --scripted` proves both paths: known-good answers applied, known-bad rejected."""

import json

from bench.codechat import main


def test_scripted_bench_applies_good_and_rejects_bad(tmp_path, capsys):
    out = tmp_path / "report.json"
    assert main(["--scripted", "--functions", "4", "--out", str(out)], None) == 0
    report = json.loads(out.read_text())
    assert json.loads(capsys.readouterr().out) == report
    for action, r in report["actions"].items():
        assert r["runs"] == 4
        assert r["applied"] == 2 and r["rejected"] == 2, (action, r)
    assert report["actions"]["refactor"]["rejected_by_reason"] == {"rejected": 2}
    assert report["actions"]["explain"]["passed_checks"]["mentions_function"] == 2
