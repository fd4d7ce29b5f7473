"""Tokenizer training and the one-off tokenized corpus cache (uint16 arrays in runs/)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from inference.tokenizer_build import EOS, save_hf_tokenizer, train_bpe
from training.corpus import Corpus


def read_text(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def train_tokenizer(
    corpus: Corpus,
    out_dir: Path,
    *,
    vocab_size: int = 8192,
    sample_bytes: int = 30_000_000,
    seed: int = 0,
) -> Tokenizer:
    """BPE on a seeded random sample of *training* files only (held-out text never leaks in)."""
    files = [f for f in corpus.files if not f.heldout]
    random.Random(seed).shuffle(files)
    texts: list[str] = []
    total = 0
    for f in files:
        if total >= sample_bytes:
            break
        t = read_text(f.path)
        texts.append(t)
        total += len(t)
    tok = train_bpe(texts, vocab_size=vocab_size)
    save_hf_tokenizer(tok, out_dir)
    return tok


def load_raw_tokenizer(tok_dir: Path) -> Tokenizer:
    """Raw `tokenizers` object that encodes special-token *strings* in source as plain text.

    Library code (transformers itself) contains literal "<|endoftext|>"; it must not become
    the real EOS id in training data.
    """
    tok = Tokenizer.from_file(str(tok_dir / "tokenizer.json"))
    tok.encode_special_tokens = True
    return tok


def tokenize_split(tok: Tokenizer, paths: list[str], out_prefix: Path, batch: int = 256) -> int:
    """Write `<prefix>.tokens.npy` (docs joined by EOS) and `<prefix>.starts.npy`; returns #tokens."""
    eos = tok.token_to_id(EOS)
    assert tok.get_vocab_size() < 65536
    chunks: list[np.ndarray] = []
    starts: list[int] = []
    n = 0
    for i in range(0, len(paths), batch):
        texts = [read_text(p) for p in paths[i : i + batch]]
        for enc in tok.encode_batch(texts, add_special_tokens=False):
            ids = np.asarray(enc.ids + [eos], dtype=np.uint16)
            starts.append(n)
            chunks.append(ids)
            n += len(ids)
    arr = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.uint16)
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    np.save(f"{out_prefix}.tokens.npy", arr)
    np.save(f"{out_prefix}.starts.npy", np.asarray(starts, dtype=np.int64))
    return n


def tokenize_corpus(corpus: Corpus, tok_dir: Path, data_dir: Path, seed: int = 0) -> dict[str, int]:
    tok = load_raw_tokenizer(tok_dir)
    train = [f.path for f in corpus.files if not f.heldout]
    held = [f.path for f in corpus.files if f.heldout]
    random.Random(seed).shuffle(train)  # so a plain-LM window is not always one package
    return {
        "train": tokenize_split(tok, train, data_dir / "train"),
        "heldout": tokenize_split(tok, held, data_dir / "heldout"),
    }


@dataclass
class TokenData:
    """A split of the token cache: a flat stream plus document start offsets."""

    tokens: np.ndarray
    starts: np.ndarray

    @classmethod
    def load(cls, data_dir: Path, split: str) -> TokenData:
        return cls(
            np.load(data_dir / f"{split}.tokens.npy", mmap_mode="r"),
            np.load(data_dir / f"{split}.starts.npy"),
        )

    def doc_bounds(self, pos: int) -> tuple[int, int]:
        """[start, end) of the document containing token `pos` (end excludes its EOS)."""
        i = int(np.searchsorted(self.starts, pos, side="right")) - 1
        start = int(self.starts[i])
        end = int(self.starts[i + 1]) - 1 if i + 1 < len(self.starts) else len(self.tokens) - 1
        return start, end
