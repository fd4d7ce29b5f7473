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
