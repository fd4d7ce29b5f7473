"""A real llama.cpp server for the `openai` engine's end-to-end tests.

llama-cpp-python's own OpenAI-compatible server (`python -m llama_cpp.server`, the `[server]`
extra), on 127.0.0.1 and a free port, serving the shipped demo model written as a GGUF
(`testing.gguf_models`, a second or two). A trained model gives readable, deterministic output,
which makes "the engine's output equals the server's own output" a meaningful check. One server per session (it starts in a few seconds); the
kill test starts its own, because it kills it.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

pytest.importorskip(
    "llama_cpp", reason="llama-cpp-python is not installed (pip install -e '.[test]')"
)

MODEL_ALIAS = "tandem-demo-gguf"
DEMO_TARGET = Path(__file__).resolve().parents[2] / "inference" / "demo_models" / "target"


@dataclass
class LlamaCppServer:
    proc: subprocess.Popen
    base_url: str
    log_path: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return "(no log)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(gguf: Path, log_path: Path, timeout: float = 120.0) -> LlamaCppServer:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        # One thread: on a shared, oversubscribed CPU llama.cpp's worker threads spin at their
        # barriers, and 2 threads on 2 busy cores measured 20-40x slower than 1 (300 vs 8-15 ms
        # per token for this model).
        "--n_threads",
        "1",
        "--n_threads_batch",
        "1",
        "--verbose",
        "False",
    ]
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = LlamaCppServer(proc, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            pytest.fail(f"llama_cpp.server exited at start:\n{server.log_tail()}", pytrace=False)
        try:
            if httpx.get(f"{server.base_url}/v1/models", timeout=2.0).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.stop()
    pytest.fail(f"llama_cpp.server did not answer in {timeout:.0f} s:\n{server.log_tail()}")


@pytest.fixture(scope="session")
def demo_gguf(tmp_path_factory) -> Path:
    from testing.gguf_models import hf_llama_to_gguf

    return hf_llama_to_gguf(DEMO_TARGET, tmp_path_factory.mktemp("gguf") / "demo-f32.gguf")


@pytest.fixture(scope="session")
def llamacpp_server(demo_gguf, tmp_path_factory) -> Iterator[LlamaCppServer]:
    server = start_server(demo_gguf, tmp_path_factory.mktemp("llamacpp-log") / "server.log")
    yield server
    server.stop()


@pytest.fixture
def disposable_server(demo_gguf, tmp_path) -> Iterator[LlamaCppServer]:
    """A server of its own, for a test that kills it."""
    server = start_server(demo_gguf, tmp_path / "server.log")
    yield server
    server.stop()
