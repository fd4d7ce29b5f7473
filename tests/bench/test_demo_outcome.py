"""`make run` labels a CodeChat outcome by what happened: a repetition stop is "stopped" (the
text before the loop is shown), not "failed"."""

from bench.demo import _outcome_label


def test_outcome_labels():
    assert _outcome_label({"ok": True, "message": "explanation ready"}) == "ok"
    assert _outcome_label({"ok": False, "reason": "repetition", "message": "..."}) == "stopped"
    assert _outcome_label({"ok": False, "reason": "empty", "message": "..."}) == "failed"
    assert _outcome_label({"ok": False, "message": "..."}) == "failed"
