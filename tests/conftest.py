"""Shared fixtures: a tiny Llama + tokenizer built in seconds, and a draft sharing its tokenizer."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The servers the tests start keep their suggestion-events log under $XDG_STATE_HOME: point it
# at a throwaway directory so a test run never writes into the user's own state (or stats).
os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="tandem-test-state-")

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

# The default model (inference/defaults.py) is the fetched Gemma GGUF when it is there. A test
# that configures no model must not depend on what this machine has fetched: every test (and
# every server it starts) sees an empty models folder, so "no model" means the shipped demo
# pair. Tests of the real default ask for `default_gguf` below, which names the real folder.
REAL_MODELS_DIR = Path(
    os.environ.get("TANDEM_MODELS") or Path.home() / ".cache" / "tandem" / "models"
)
os.environ["TANDEM_MODELS"] = tempfile.mkdtemp(prefix="tandem-test-no-models-")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    from inference.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"), num_layers=2, seed=1)


@pytest.fixture(scope="session")
def tiny_draft_dir(tiny_model_dir, tmp_path_factory) -> Path:
    from inference.tiny_model import build_draft_model

    return build_draft_model(tiny_model_dir, tmp_path_factory.mktemp("tiny-draft"))


@pytest.fixture(scope="session")
def server_cmd() -> list[str]:
    return [PYTHON, "-m", "lsp_server", "lsp"]


@pytest.fixture(scope="session")
def tiny_gguf(tiny_model_dir, tiny_draft_dir, tmp_path_factory) -> tuple[Path, Path]:
    """The same tiny target and draft as GGUF files (target, draft) for the llama.cpp engine."""
    from testing.gguf_models import build_tiny_gguf

    return build_tiny_gguf(
        tmp_path_factory.mktemp("tiny-gguf"), hf_dir=tiny_model_dir, draft_hf_dir=tiny_draft_dir
    )


@pytest.fixture(scope="session")
def default_gguf() -> Path:
    """The fetched default model (Gemma 3 270M, Q4_K_M GGUF; `make test` fetches it first).
    Missing: skipped, or a failure with TANDEM_REQUIRE_DEFAULT_MODEL=1 (as `make test` sets)."""
    from inference.defaults import fetched_default_gguf

    path = fetched_default_gguf(REAL_MODELS_DIR)
    if path is None:
        why = (
            f"the default model is not fetched into {REAL_MODELS_DIR} "
            "(make default-model, or python scripts/fetch_default_model.py)"
        )
        if os.environ.get("TANDEM_REQUIRE_DEFAULT_MODEL") == "1":
            pytest.fail(why)
        pytest.skip(why)
    return path
