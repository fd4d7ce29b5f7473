"""The VS Code extension's `npm test`: unit tests of its pure modules plus the protocol test that
drives the real server through vscode-languageserver-protocol (the library VS Code's client uses)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXT = Path(__file__).resolve().parents[2] / "editors" / "vscode"

pytestmark = [
    pytest.mark.node,
    pytest.mark.skipif(shutil.which("npm") is None, reason="npm not installed"),
    pytest.mark.skipif(
        not (EXT / "node_modules").is_dir(),
        reason="run `npm ci --no-audit --no-fund` in editors/vscode first (make vsix)",
    ),
]


def test_npm_test():
    env = {**os.environ, "TANDEM_PYTHON": sys.executable}
    proc = subprocess.run(
        ["npm", "test"], cwd=EXT, env=env, capture_output=True, text=True, errors="replace",
        timeout=600,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "# fail 0" in out
