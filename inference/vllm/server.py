"""Run one vLLM server as a child process: start, wait for `/health`, kill, restart.

Tests and benchmarks use this; it launches `python -m inference.serve` (the `tandem serve` code
path) in its own process group, so stopping it also stops vLLM's engine-core child.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from inference.vllm.command import ServeConfig


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class VLLMServer:
    def __init__(self, cfg: ServeConfig, log_path: str | Path) -> None:
        self.cfg = cfg
        self.log_path = Path(log_path)
        self.proc: subprocess.Popen | None = None
        self.start_seconds = 0.0

    @property
    def base_url(self) -> str:
        return f"http://{self.cfg.host}:{self.cfg.port}"

    def serve_argv(self) -> list[str]:
        c = self.cfg
        argv = [
            "--model", str(c.model), "--host", c.host, "--port", str(c.port),
            "--num-speculative-tokens", str(c.num_speculative_tokens),
            "--cpu-kv-cache-gib", str(max(1, round(c.cpu_kv_cache_gib))),
        ]  # fmt: skip
        if c.ngram:
            argv.append("--ngram")
        if c.draft_model:
            argv += ["--draft-model", str(c.draft_model)]
        if c.python:
            argv += ["--python", c.python]
        if c.cache_root:
            argv += ["--cache-root", str(c.cache_root)]
        if c.served_model_name:
            argv += ["--served-model-name", c.served_model_name]
        if c.max_model_len:
            argv += ["--max-model-len", str(c.max_model_len)]
        if not c.preload_iomp:
            argv.append("--no-iomp-preload")
        if c.extra_args:
            argv += ["--", *c.extra_args]
        return argv

    def start(self, timeout: float = 300.0) -> float:
        """Start and wait until healthy; returns the seconds it took."""
        t0 = time.monotonic()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps writing to it
        cmd = [sys.executable, "-m", "inference.serve", *self.serve_argv()]
        log.write(f"\n=== {' '.join(cmd)}\n".encode())
        log.flush()
        env = dict(os.environ)
        if self.cfg.api_key:  # through the environment, never on a command line
            env["TANDEM_API_KEY"] = self.cfg.api_key
        self.proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=str(Path(__file__).resolve().parents[2]),
        )
        log.close()
        self.wait_healthy(timeout)
        self.start_seconds = time.monotonic() - t0
        return self.start_seconds

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"vLLM exited with code {self.proc.returncode} during start; "
                    f"log tail:\n{self.log_tail()}"
                )
            try:
                if httpx.get(f"{self.base_url}/health", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"vLLM not healthy after {timeout:.0f} s; log tail:\n{self.log_tail()}")

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, as far as clients can tell."""
        self._signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=30)

    def stop(self, grace: float = 20.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self._signal(signal.SIGKILL)  # reap any orphaned engine-core child
            return
        self._signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        self._signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def _signal(self, sig: int) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def restart(self, timeout: float = 300.0) -> float:
        self.stop()
        return self.start(timeout)
