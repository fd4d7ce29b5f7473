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


def test_small20_scores_explanations_on_topic_and_non_repeating(tmp_path):
    from bench.codechat_functions import SNIPPETS, on_topic

    out = tmp_path / "report.json"
    argv = ["--scripted", "--set", "small20", "--actions", "explain", "--functions", "3"]
    assert main([*argv, "--out", str(out)], None) == 0
    explain = json.loads(out.read_text())["actions"]["explain"]
    assert explain["runs"] == 3 and len(explain["answers"]) == 3
    assert {"on_topic", "non_repeating", "on_topic_and_non_repeating"} <= set(
        explain["passed_checks"]
    )
    leap = SNIPPETS[0]
    assert on_topic(leap, "It tells whether a year is a leap year, by the Gregorian rules.")
    # echoing the code is not explaining it; nor is a generic sentence
    assert not on_topic(leap, "```python\n" + leap.source + "```")
    assert not on_topic(leap, "The code below is a simple example of a python program.")
