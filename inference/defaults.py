"""Which model to use when the user configured none: the shipped demo pair, else a tiny one."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEMO_DIR = Path(__file__).parent / "demo_models"


@dataclass
class DefaultModel:
    target: Path
    draft: Path | None
    #: Shown to the user: what this model is (and is not).
    notice: str


def _cache_dir() -> Path:
    base = os.environ.get("TANDEM_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "tandem"
    )
    return Path(base)


def default_model() -> DefaultModel:
    """The shipped demo pair if present, otherwise a tiny random model built locally (and said so)."""
    target, draft = DEMO_DIR / "target", DEMO_DIR / "draft"
    if (target / "model.safetensors").is_file():
        return DefaultModel(
            target=target,
            draft=draft if (draft / "model.safetensors").is_file() else None,
            notice=(
                "Using Tandem's shipped demo model (a tiny CPU-trained Python FIM model: a "
                "plumbing demo, not a real assistant). Set `tandem.model` to a local "
                "Qwen2.5-Coder or DeepSeek-Coder directory for real suggestions."
            ),
        )
    from inference.tiny_model import TINY_MODEL_NOTICE, build_tiny_model

    tiny = _cache_dir() / "tiny-model"
    if not (tiny / "model.safetensors").is_file():
        build_tiny_model(tiny)
    return DefaultModel(target=tiny, draft=None, notice=TINY_MODEL_NOTICE)
