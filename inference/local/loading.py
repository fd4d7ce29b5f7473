"""Load a model directory offline, with a clear error when it is missing or broken."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.base import EngineError


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    path: Path
    device: str


def pick_device(requested: str = "auto") -> str:
    import torch

    if requested != "auto":
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


def load_model_dir(
    path: str | os.PathLike, device: str = "auto", dtype: str = "auto"
) -> LoadedModel:
    """Load tokenizer + causal LM from a local directory only: no hub access, ever."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    p = Path(path).expanduser()
    if not p.is_dir():
        raise EngineError(f"model directory not found: {p}")
    if not (p / "config.json").is_file():
        raise EngineError(f"not a Hugging Face model directory (no config.json): {p}")
    dev = pick_device(device)
    if dtype == "auto":
        torch_dtype = torch.bfloat16 if dev.startswith("cuda") else torch.float32
    else:
        torch_dtype = getattr(torch, dtype)
    try:
        tokenizer = AutoTokenizer.from_pretrained(p, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(p, local_files_only=True, dtype=torch_dtype)
    except Exception as exc:  # transformers raises many types for broken dirs
        raise EngineError(f"could not load model from {p}: {type(exc).__name__}: {exc}") from exc
    model.to(dev)
    model.eval()
    return LoadedModel(model=model, tokenizer=tokenizer, path=p, device=dev)
