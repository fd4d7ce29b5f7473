"""GGUF test models, written in seconds with the `gguf` package (no llama.cpp checkout needed).

The tiny transformers Llama from `inference.tiny_model` is converted tensor by tensor, the way
llama.cpp's own `convert_hf_to_gguf.py` does it for the Llama architecture (Q/K rows permuted
for llama.cpp's RoPE layout, the byte-level BPE vocabulary with its token types and merges).
Tests build a target and a draft that share the vocabulary, so the llama.cpp engine is tested
on the same weights as the transformers engine.
"""

from __future__ import annotations

import json
from pathlib import Path

#: A small ChatML-style template, so CodeChat renders through `tokenizer.chat_template`.
TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|endoftext|>' + message['role'] + '\n' + message['content'] + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|endoftext|>assistant\n' }}{% endif %}"
)


def _permute(weights, n_head: int, n_head_kv: int | None):
    """HF's rotate-half Q/K layout to llama.cpp's interleaved one (as `convert_hf_to_gguf.py`)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (
        weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def _vocab(model_dir: Path, vocab_size: int = 0) -> tuple[list[str], list[int], list[str]]:
    """Tokens, token types and merges of a byte-level BPE `tokenizer.json`.

    Added tokens marked special become CONTROL, other added tokens USER_DEFINED (DeepSeek and
    Qwen ship their FIM tokens that way), the rest NORMAL, as llama.cpp's converter does."""
    import gguf

    data = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    vocab: dict[str, int] = dict(data["model"]["vocab"])
    added = {t["id"]: t for t in data.get("added_tokens", [])}
    for t in added.values():
        vocab[t["content"]] = t["id"]
    # a model may have more embedding rows than tokens: the rest are unused padding entries
    size = max(max(vocab.values()) + 1, vocab_size)
    by_id = {i: tok for tok, i in vocab.items()}
    tokens: list[str] = []
    types: list[int] = []
    for i in range(size):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        elif i in added:
            tokens.append(by_id[i])
            special = added[i].get("special", False)
            types.append(gguf.TokenType.CONTROL if special else gguf.TokenType.USER_DEFINED)
        else:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.NORMAL)
    merges = [m if isinstance(m, str) else " ".join(m) for m in data["model"].get("merges", [])]
    return tokens, types, merges


def hf_llama_to_gguf(
    model_dir: str | Path,
    out_path: str | Path,
    *,
    chat_template: str | None = None,
    add_bos: bool | None = None,
    dtype: str = "f32",
    fim_user_defined: bool = False,
) -> Path:
    """Write a Llama-architecture HF directory (config + safetensors + tokenizer.json) as GGUF.

    `dtype` "f16" stores the 2-D weight matrices in half precision (norms stay f32).
    `fim_user_defined` marks the FIM tokens USER_DEFINED instead of CONTROL, like real
    DeepSeek/Qwen GGUFs, so tests cover both kinds of token type."""
    import gguf
    import numpy as np
    from safetensors.numpy import load_file

    src, out = Path(model_dir), Path(out_path)
    cfg = json.loads((src / "config.json").read_text(encoding="utf-8"))
    if cfg.get("model_type") != "llama":
        raise ValueError(f"only the llama architecture is supported, not {cfg.get('model_type')}")
    n_layers = int(cfg["num_hidden_layers"])
    n_head = int(cfg["num_attention_heads"])
    n_head_kv = int(cfg.get("num_key_value_heads", n_head))
    head_dim = int(cfg.get("head_dim") or cfg["hidden_size"] // n_head)

    tokens, types, merges = _vocab(src, int(cfg.get("vocab_size") or 0))
    if fim_user_defined:
        types = [
            gguf.TokenType.USER_DEFINED if t == gguf.TokenType.CONTROL and "fim" in tok else t
            for tok, t in zip(tokens, types, strict=True)
        ]
    out.parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(str(out), gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    w.add_name(src.name)
    w.add_context_length(int(cfg.get("max_position_embeddings", 4096)))
    w.add_embedding_length(int(cfg["hidden_size"]))
    w.add_block_count(n_layers)
    w.add_feed_forward_length(int(cfg["intermediate_size"]))
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head_kv)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(float(cfg.get("rope_theta") or 10000.0))
    w.add_layer_norm_rms_eps(float(cfg.get("rms_norm_eps", 1e-6)))
    w.add_vocab_size(len(tokens))
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if dtype == "f16" else gguf.LlamaFileType.ALL_F32)

    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    if cfg.get("bos_token_id") is not None:
        w.add_bos_token_id(int(cfg["bos_token_id"]))
    if cfg.get("eos_token_id") is not None:
        w.add_eos_token_id(int(cfg["eos_token_id"]))
    if cfg.get("pad_token_id") is not None:
        w.add_pad_token_id(int(cfg["pad_token_id"]))
    if add_bos is not None:
        w.add_add_bos_token(add_bos)
    if chat_template:
        w.add_chat_template(chat_template)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, n_layers)
    tensors: dict = {}
    for f in sorted(src.glob("*.safetensors")):
        tensors.update(load_file(str(f)))
    tied = cfg.get("tie_word_embeddings", False) or "lm_head.weight" not in tensors
    for name, arr in tensors.items():
        if name == "lm_head.weight" and tied:
            continue
        arr = np.asarray(arr, dtype=np.float32)
        if name.endswith("q_proj.weight"):
            arr = _permute(arr, n_head, n_head)
        elif name.endswith("k_proj.weight"):
            arr = _permute(arr, n_head, n_head_kv)
        new_name = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if new_name is None:
            raise ValueError(f"cannot map tensor {name!r} to a GGUF name")
        if dtype == "f16" and arr.ndim == 2:
            arr = arr.astype(np.float16)
        w.add_tensor(new_name, np.ascontiguousarray(arr))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out


def build_tiny_gguf(
    out_dir: str | Path,
    *,
    hf_dir: str | Path | None = None,
    draft_hf_dir: str | Path | None = None,
    seed: int = 1,
) -> tuple[Path, Path]:
    """A tiny target GGUF and a one-layer draft GGUF with the same vocabulary.

    Given HF dirs (e.g. the session's tiny transformers model) converts those, so both engines
    run the same weights; otherwise builds them first."""
    from inference.tiny_model import build_draft_model, build_tiny_model

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target_hf = Path(hf_dir) if hf_dir else build_tiny_model(out / "hf", num_layers=2, seed=seed)
    draft_hf = (
        Path(draft_hf_dir) if draft_hf_dir else build_draft_model(target_hf, out / "hf-draft")
    )
    target = hf_llama_to_gguf(target_hf, out / "tiny.gguf", chat_template=TINY_CHAT_TEMPLATE)
    draft = hf_llama_to_gguf(draft_hf, out / "tiny-draft.gguf", chat_template=TINY_CHAT_TEMPLATE)
    return target, draft
