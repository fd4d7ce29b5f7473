"""`tandem serve` / `tandem bench` as users type them (defects 7 and 8), through the real entry
point in a subprocess (`python -m lsp_server ...` is what the `tandem` console script runs)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.fuzz.harness import REPO, count

ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def tandem(
    *args: str, env: dict | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lsp_server", *args],
        capture_output=True, text=True, cwd=str(REPO), env=env or ENV, timeout=timeout,
    )  # fmt: skip


def test_serve_and_bench_take_their_own_arguments(tmp_path):
    """`tandem serve --model DIR` said "unrecognized arguments"; `--help` failed the same way."""
    help_ = tandem("serve", "--help")
    assert help_.returncode == 0 and "--model" in help_.stdout and "VLLM_API_KEY" in help_.stdout
    dry = tandem("serve", "--model", str(tmp_path), "--ngram", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "vllm.entrypoints.openai.api_server" in dry.stdout and str(tmp_path) in dry.stdout
    bench = tandem("bench", "--help")
    assert bench.returncode == 0, bench.stderr
    assert "spec" in bench.stdout + bench.stderr
    lsp_help = tandem("lsp", "--help")
    assert lsp_help.returncode == 0 and "--token" in lsp_help.stdout
    count("cli", "cases", 4)


def test_serve_rejects_a_fractional_kv_cache_clearly(tmp_path):
    """`--cpu-kv-cache-gib 0.5` crashed vLLM at start (it reads an integer)."""
    bad = tandem("serve", "--model", str(tmp_path), "--cpu-kv-cache-gib", "0.5", "--dry-run")
    assert bad.returncode == 2 and "whole number of GiB" in bad.stderr
    ok = tandem("serve", "--model", str(tmp_path), "--cpu-kv-cache-gib", "2", "--dry-run")
    assert ok.returncode == 0 and "VLLM_CPU_KVCACHE_SPACE=2" in ok.stdout
    count("cli", "cases", 2)


def _fake_vllm(tmp_path: Path) -> Path:
    """A stand-in for the vLLM interpreter: records argv/env, then runs until killed."""
    script = tmp_path / "fake-python"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > {tmp_path}/argv\n'
        f"env > {tmp_path}/env\n"
        f"echo $$ > {tmp_path}/pid\n"
        "exec sleep 300\n"
    )
    script.chmod(0o755)
    return script


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_sigkill_of_serve_does_not_orphan_vllm_and_the_key_stays_off_argv(tmp_path):
    """SIGKILL of `tandem serve` left vLLM running; the API key was on both command lines."""
    fake = _fake_vllm(tmp_path)
    key = "serve-canary-key-123"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lsp_server", "serve", "--model", str(tmp_path),
         "--python", str(fake), "--no-iomp-preload"],
        cwd=str(REPO), env={**ENV, "TANDEM_API_KEY": key},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    child = None
    try:
        for _ in range(600):
            if (tmp_path / "pid").exists() and (tmp_path / "env").exists():
                break
            time.sleep(0.05)
        time.sleep(0.2)
        child = int((tmp_path / "pid").read_text())
        assert key not in (tmp_path / "argv").read_text()
        assert f"VLLM_API_KEY={key}" in (tmp_path / "env").read_text()
        own_cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode()
        assert key not in own_cmdline
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        for _ in range(200):
            if not _alive(child):
                break
            time.sleep(0.05)
        assert not _alive(child), "vLLM outlived a SIGKILLed `tandem serve`"
        count("cli", "cases", 3)
    finally:
        if proc.poll() is None:
            proc.kill()
        if child is not None and _alive(child):
            os.kill(child, signal.SIGKILL)


def test_top_level_help_lists_every_bench_subcommand():
    """`tandem --help` said "spec, latency, infill, codechat" after `engines` was added: the
    list now comes from bench/cli.py itself."""
    from bench.cli import names

    help_ = tandem("--help", env={**ENV, "COLUMNS": "300"})  # one line per subcommand
    assert help_.returncode == 0, help_.stderr
    line = next(ln for ln in help_.stdout.splitlines() if ln.strip().startswith("bench "))
    listed = line.split("benchmarks:", 1)[1].replace(",", " ").split()
    assert listed == names() and "engines" in listed
    count("cli", "cases", 1)
