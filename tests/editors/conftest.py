"""Fixtures for the editor-client tests: a tiny model whose noise is non-empty often enough."""

from __future__ import annotations

from pathlib import Path

import pytest

# 4 layers x 128 wide, seed 1: unlike the 2-layer default, this random model does not just echo
# the FIM marker (an empty suggestion) for most prompts.
TINY_EDITOR_MODEL = {"seed": 1, "num_layers": 4, "hidden_size": 128}


@pytest.fixture(scope="session")
def editor_model_dir(tmp_path_factory) -> Path:
    from inference.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("editor-model"), **TINY_EDITOR_MODEL)
