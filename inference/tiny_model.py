"""Build a tiny Llama + tokenizer in seconds: plumbing tests and the no-model fallback use it.

Random weights produce text with the *shape* of code and no meaning. Callers that show its
output to people must say so (see `TINY_MODEL_NOTICE`).
"""

from __future__ import annotations

from pathlib import Path

TINY_MODEL_NOTICE = (
    "Using a tiny randomly initialised test model: a plumbing demo, its suggestions are noise."
)

_SEED_TEXT = '''
def add(a, b):
    """Return the sum of a and b."""
    return a + b


class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)

    def pop(self):
        return self.items.pop()

for i in range(10):
    print(i, "Привет", "你好", "안녕하세요", "😀")

function greet(name) { return `Hello, ${name}!`; }
fn main() { println!("hello"); }
func main() { fmt.Println("hello") }
public static void main(String[] args) { System.out.println("hi"); }
int main(void) { printf("hi\\n"); return 0; }
'''


def build_tiny_model(
    out_dir: str | Path,
    *,
    vocab_size: int = 512,
    hidden_size: int = 64,
    num_layers: int = 2,
    seed: int = 0,
    extra_texts: list[str] | None = None,
) -> Path:
    """Write a loadable HF Llama directory (config, safetensors, tokenizer) to `out_dir`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from inference.tokenizer_build import save_hf_tokenizer, train_bpe

    out = Path(out_dir)
    texts = [_SEED_TEXT] * 4 + list(extra_texts or [])
    tok = train_bpe(texts, vocab_size=vocab_size)
    save_hf_tokenizer(tok, out)
    torch.manual_seed(seed)
    eos_id = tok.token_to_id("<|endoftext|>")
    config = LlamaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=tok.token_to_id("<fim_pad>"),
        tie_word_embeddings=True,
        # a wider init than the default 0.02 keeps random output from collapsing to one token
        initializer_range=0.1,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(out, safe_serialization=True)
    return out


def build_draft_model(target_dir: str | Path, out_dir: str | Path, num_layers: int = 1) -> Path:
    """A draft that shares the target's tokenizer: the target's embeddings, first layers, final
    norm and head. Exact for plain greedy checks; acceptance depends on the other layers."""
    import shutil

    from transformers import AutoModelForCausalLM

    src, out = Path(target_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = AutoModelForCausalLM.from_pretrained(src, local_files_only=True)
    model.model.layers = model.model.layers[:num_layers]
    model.config.num_hidden_layers = num_layers
    if hasattr(model.config, "layer_types") and model.config.layer_types:
        model.config.layer_types = model.config.layer_types[:num_layers]
    model.save_pretrained(out, safe_serialization=True)
    for f in src.iterdir():
        if f.name.startswith(("tokenizer", "special_tokens")):
            shutil.copy(f, out / f.name)
    return out
