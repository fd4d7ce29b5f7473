"""Tiny models that vLLM can serve, for tests and benchmarks (random weights: output is noise).

vLLM's CPU attention needs head_dim in {32, 64, 80, ...}; `build_tiny_model` uses 4 heads, so
hidden_size 128 gives head_dim 32. A random tied-embedding model keeps repeating its last token;
after a FIM prompt that is `<fim_middle>`, which the server hides, so completions come back
empty. Zeroing the special tokens' embedding rows makes their logits 0 while some ordinary token
always scores higher: the output becomes visible (repetitive) text. Byte pieces, control
characters and whitespace-only tokens get the same treatment.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def _hidden_ids(model_dir: Path) -> list[int]:
    """Special tokens, byte pieces that are not whole characters (U+FFFD), control characters
    and whitespace-only tokens: everything that would make the output look empty."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    special = {t.content for t in tok.get_added_tokens_decoder().values() if t.special}
    return [
        i
        for i in range(tok.get_vocab_size())
        if tok.id_to_token(i) in special or not _visible(tok.decode([i]))
    ]


def _visible(text: str) -> bool:
    ok = all(c.isprintable() or c in "\n\t" for c in text)
    return ok and bool(text.strip()) and "\ufffd" not in text


def build_vllm_tiny_model(
    out_dir: str | Path, *, hidden_size: int = 128, num_layers: int = 2, seed: int = 0
) -> Path:
    from safetensors.torch import load_file, save_file

    from inference.tiny_model import build_tiny_model

    out = build_tiny_model(out_dir, hidden_size=hidden_size, num_layers=num_layers, seed=seed)
    weights_path = out / "model.safetensors"
    weights = load_file(str(weights_path))
    emb = weights["model.embed_tokens.weight"]
    emb[_hidden_ids(out)] = 0.0
    save_file(weights, str(weights_path), metadata={"format": "pt"})
    return out


def build_layer0_draft(target_dir: str | Path, draft_dir: str | Path, scale: float) -> Path:
    """A 1-layer draft that agrees with the target to a chosen degree (for spec-decode benches).

    The draft is the target's embeddings, layer 0, final norm and lm_head. The target's other
    layers get their `o_proj`/`down_proj` scaled by `scale`: at 0 they add nothing and the draft
    predicts the target exactly (100% acceptance); about 0.1 gives ~25%, 0.5 and up ~0%.
    Rewrites the target's weights in place.
    """
    from safetensors.torch import load_file, save_file

    target, draft = Path(target_dir), Path(draft_dir)
    draft.mkdir(parents=True, exist_ok=True)
    weights = load_file(str(target / "model.safetensors"))
    for name, tensor in weights.items():
        if name.startswith("model.layers.0."):
            continue
        if name.endswith(("self_attn.o_proj.weight", "mlp.down_proj.weight")):
            tensor.mul_(scale)
    save_file(weights, str(target / "model.safetensors"), metadata={"format": "pt"})
    draft_weights = {
        k: v.clone()
        for k, v in weights.items()
        if not k.startswith("model.layers.") or k.startswith("model.layers.0.")
    }
    save_file(draft_weights, str(draft / "model.safetensors"), metadata={"format": "pt"})
    for f in target.iterdir():
        if f.suffix != ".safetensors":
            shutil.copy(f, draft / f.name)
    cfg = json.loads((draft / "config.json").read_text(encoding="utf-8"))
    cfg["num_hidden_layers"] = 1
    (draft / "config.json").write_text(json.dumps(cfg, indent=2), encoding="utf-8")
    return draft
