"""Pure logic: session counters, percentiles, health, the events log and `tandem stats`."""

from __future__ import annotations

import json

from completion.types import Edit
from lsp_server.events_log import EventsLog, default_path
from lsp_server.features.candidates import distinct
from lsp_server.features.completion_mode import wanted_kinds
from lsp_server.session_stats import SessionStats, health, percentile
from lsp_server.settings import Settings
from lsp_server.stats import format_summary, main, read_events, summarize


def test_percentile_interpolates():
    assert percentile([], 50) is None
    assert percentile([10.0], 90) == 10.0
    assert percentile([10, 20, 30, 40], 50) == 25.0
    assert percentile(list(range(1, 11)), 90) == 9.1


def test_session_counts_show_accept_partial_once_per_id():
    s = SessionStats()
    a, b, c = s.new_id(), s.new_id(), s.new_id()
    assert len({a, b, c}) == 3
    for sid, chars in ((a, 10), (b, 8), (c, 5)):
        s.record_suggestion(sid, "python", chars)
    assert s.did_show(a) and s.did_show(b) and s.did_show(c)
    assert s.did_show(a) is None  # a redraw does not count again
    assert s.did_show("unknown") is None and s.did_accept(None) is None
    assert s.did_accept(a) and s.did_accept(a) is None
    assert s.did_partially_accept(b, 3) and s.did_partially_accept(b, 2) is None
    assert s.did_partially_accept(b, 5)  # cumulative: 2 more characters
    sm = s.summary()
    assert (sm["shown"], sm["accepted"], sm["partiallyAccepted"]) == (3, 1, 1)
    assert sm["acceptedChars"] == 10 + 5
    assert sm["acceptanceRate"] == round(2 / 3, 4)
    # finishing a partially accepted one: a full accept, its rest counted once
    assert s.did_accept(b)
    sm = s.summary()
    assert (sm["accepted"], sm["partiallyAccepted"], sm["acceptedChars"]) == (2, 0, 18)


def test_latency_percentiles_skip_typeahead_and_sum_speculation():
    s = SessionStats()
    for ms in (100, 200, 300, 400):
        s.record_request(ms, cached=False, stats={"drafted_tokens": 10, "accepted_tokens": 7})
    s.record_request(1, cached=True, stats=None)
    sm = s.summary()
    assert sm["latencyP50Ms"] == 250.0 and sm["latencyP90Ms"] == 370.0
    assert sm["speculativeAcceptance"] == 0.7
    assert SessionStats().summary()["acceptanceRate"] is None


def test_health_states():
    assert health(None, 0, None, "local", "cpu", 1500) == {"state": "healthy"}
    assert health(3000, 2, None, "local", "cpu", 1500)["state"] == "healthy"  # too few samples
    slow = health(3000, 5, None, "local", "cpu", 1500)
    assert slow["state"] == "slow" and "llama.cpp" in slow["hint"] and "3000 ms" in slow["reason"]
    assert "llama.cpp" not in health(3000, 5, None, "openai", "http://x", 1500)["hint"]
    # already on llama.cpp (a .gguf `model` or the default Gemma): no "try a GGUF" advice
    on_gguf = health(3000, 5, None, "llamacpp", "cpu", 1500)["hint"]
    assert "GGUF model with the llama.cpp engine" not in on_gguf and "threads" in on_gguf
    assert health(10, 5, "model not found", "local", "cpu", 1500) == {
        "state": "error",
        "reason": "model not found",
    }


def test_settings_toggles():
    s, warnings = Settings().merged(
        {"enabled": True, "disabledLanguages": ["markdown", "markdown"], "candidates": 2}
    )
    assert not warnings and s.disabled_languages == ["markdown"]
    assert s.enabled_for("python") and not s.enabled_for("markdown")
    off, _ = s.merged({"enabled": False})
    assert not off.enabled_for("python")
    _, warnings = Settings().merged({"disabledLanguages": "markdown", "candidates": 0})
    assert len(warnings) == 2


def test_wanted_kinds_and_distinct():
    assert wanted_kinds("auto", True) == {"inline"}
    assert wanted_kinds("auto", False) == {"completion"}
    assert wanted_kinds("both", False) == {"inline", "completion"}
    assert wanted_kinds("completion", True) == {"completion"}
    edits = [Edit(t, at_cursor=t) for t in ["a(", "a(  ", "", "  ", "b", "a("]]
    assert [e.text for e in distinct(edits)] == ["a(", "b"]
    # compared as the text left at the cursor: an indentation-covering edit equals its insertion
    assert distinct([Edit("    x", 4, 0, "x"), Edit("x", at_cursor="x")]) == [
        Edit("    x", 4, 0, "x")
    ]


def test_the_events_log_is_off_unless_asked_for():
    assert not Settings().events_log_on  # the server writes nothing to disk by default
    assert Settings(events_log="/tmp/x.jsonl").events_log_on
    assert Settings(events_log_enabled=True).events_log_on  # at the default path
    assert not Settings(events_log="/tmp/x.jsonl", events_log_enabled=False).events_log_on


def test_events_log_appends_and_can_be_off(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_path() == tmp_path / "state" / "tandem" / "events.jsonl"
    log = EventsLog()
    log.configure(True, None)
    log.append("shown", id="s1", language="python")
    assert json.loads(default_path().read_text())["event"] == "shown"
    off = EventsLog()
    off.configure(False, str(tmp_path / "off.jsonl"))
    off.append("shown", id="s1")
    assert not (tmp_path / "off.jsonl").exists()
    bad = EventsLog()
    bad.configure(True, str(tmp_path / "file-not-dir" / "x.jsonl"))
    (tmp_path / "file-not-dir").write_text("")
    bad.append("shown", id="s1")  # reported once, no exception


def _write(path, events):
    path.write_text("".join(json.dumps(e) + "\n" for e in events) + '{"torn": ')


def test_stats_summary_per_language(tmp_path, capsys):
    log = tmp_path / "events.jsonl"
    _write(
        log,
        [
            {"ts": 1, "event": "suggestion", "id": "s1", "language": "python", "latencyMs": 100,
             "draftedTokens": 10, "acceptedTokens": 8},
            {"ts": 1, "event": "suggestion", "id": "s2", "language": "python", "latencyMs": 300},
            {"ts": 1, "event": "suggestion", "id": "s3", "language": "rust", "latencyMs": 5,
             "cached": True},
            {"ts": 1, "event": "shown", "id": "s1", "language": "python"},
            {"ts": 1, "event": "shown", "id": "s2", "language": "python"},
            {"ts": 1, "event": "shown", "id": "s3", "language": "rust"},
            {"ts": 1, "event": "accepted", "id": "s1", "language": "python", "chars": 12},
            {"ts": 1, "event": "partial", "id": "s3", "language": "rust", "chars": 4},
        ],
    )  # fmt: skip
    summary = summarize(read_events(log))
    total, py, rs = summary["total"], summary["languages"]["python"], summary["languages"]["rust"]
    assert (total["suggestions"], total["shown"], total["accepted"]) == (3, 3, 1)
    assert total["partiallyAccepted"] == 1 and total["acceptedChars"] == 16
    assert total["acceptanceRate"] == round(2 / 3, 4)
    assert total["latencyMs"]["p50"] == 200.0  # the cached one is not model latency
    assert total["speculativeAcceptance"] == 0.8
    assert py["acceptanceRate"] == 0.5 and rs["acceptanceRate"] == 1.0
    text = format_summary(summary, log)
    assert "python" in text and "rust" in text and "66.7%" in text
    assert main(["--log", str(log)]) == 0
    assert "acceptance rate: 66.7%" in capsys.readouterr().out
    assert main(["--log", str(log), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["accepted"] == 1
    assert main(["--log", str(tmp_path / "missing.jsonl")]) == 1
    assert "no events log" in capsys.readouterr().err
