"""Model sizes of the shipped pair. The draft is shallow because per-layer overhead, not
FLOPs, dominates batch-1 decode on CPU at these sizes. Head dims are multiples of 32 so that
vLLM's CPU attention serves both (it supports 32, 64, 80, 96, 112, 128, ...)."""

from __future__ import annotations

from transformers import LlamaConfig

from inference.tokenizer_build import EOS, FIM_PAD

SIZES: dict[str, dict[str, int]] = {
    "target": dict(
        hidden_size=256,
        num_hidden_layers=6,
        num_attention_heads=8,
        num_key_value_heads=4,
        intermediate_size=576,
    ),
    "draft": dict(
        hidden_size=96,
        num_hidden_layers=2,
        num_attention_heads=3,  # head_dim 32: vLLM's CPU attention rejects 24
        num_key_value_heads=1,
        intermediate_size=256,
    ),
    "tiny": dict(
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        intermediate_size=64,
    ),
}


def make_config(
    size: str, tok_vocab: dict[str, int], vocab_size: int, max_pos: int = 4096
) -> LlamaConfig:
    """Llama config with EOS/pad ids from the shared tokenizer; fp32 for CPU inference."""
    eos = tok_vocab[EOS]
    return LlamaConfig(
        vocab_size=vocab_size,
        max_position_embeddings=max_pos,
        bos_token_id=eos,
        eos_token_id=eos,
        pad_token_id=tok_vocab[FIM_PAD],
        tie_word_embeddings=True,
        rope_theta=10000.0,
        dtype="float32",
        **SIZES[size],
    )
