"""Debian's Neovim 0.7 (apt `neovim`): setup() refuses with one clear message, and nothing else
(no Lua errors on opening a file, on `:Tandem explain`, or in `:checkhealth tandem`)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "editors" / "neovim"
NVIM07 = Path("/usr/bin/nvim")
MESSAGE = "Tandem needs Neovim ≥ 0.10"


def _version() -> tuple[int, ...]:
    if not NVIM07.exists():
        return ()
    out = subprocess.run([str(NVIM07), "--version"], capture_output=True, text=True, timeout=30)
    match = re.match(r"NVIM v(\d+)\.(\d+)", out.stdout)
    return tuple(int(g) for g in match.groups()) if match else ()


pytestmark = [
    pytest.mark.neovim,
    pytest.mark.skipif(
        not _version() or _version() >= (0, 10),
        reason="needs an old Neovim at /usr/bin/nvim (apt-get install neovim on Debian 12: 0.7)",
    ),
]


def test_old_neovim_prints_the_version_message_and_nothing_else(tmp_path):
    src = tmp_path / "a.py"
    src.write_text("def add(a, b):\n    return a + b\n")
    out, health = tmp_path / "messages.txt", tmp_path / "health.txt"
    script = tmp_path / "drive.lua"
    script.write_text(
        f"""
require('tandem').setup({{ cmd = {{ 'tandem', 'lsp' }} }})
vim.cmd('edit {src}')
vim.cmd('Tandem explain')
vim.defer_fn(function()
  vim.cmd("silent checkhealth tandem")
  vim.cmd('silent write! {health}')
  local f = io.open('{out}', 'w')
  f:write(vim.fn.execute('messages'))
  f:close()
  vim.cmd('qa!')
end, 300)
"""
    )
    proc = subprocess.run(
        [str(NVIM07), "--headless", "-n", "--clean", "--cmd", f"set rtp^={PLUGIN}",
         "-c", f"luafile {script}"],
        capture_output=True, text=True, timeout=60, errors="replace",
    )  # fmt: skip
    messages = [line for line in out.read_text().splitlines() if line.strip()]
    assert messages and all(line == MESSAGE for line in messages), messages
    assert len(messages) == 2  # setup() once, :Tandem explain once
    report = health.read_text()
    assert f"ERROR: {MESSAGE}" in report and "E5108" not in report, report
    assert "Error" not in proc.stderr and "E5108" not in proc.stderr, proc.stderr
