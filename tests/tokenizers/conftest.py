"""Fixtures over the real tokenizers; the families and the in-test server are in real_families."""

from real_families import family_dir, hf_tokenizer, real_dir, tokenizing_server

__all__ = ["family_dir", "hf_tokenizer", "real_dir", "tokenizing_server"]
