"""FIM training samples (PSM + SPM) cut at character level, like a cursor in an editor.

Splits are made on decoded text and the three parts are tokenized separately, exactly as a
client tokenizes prefix and suffix at inference time, so the model never relies on a token
that straddles the cursor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer

from inference.tokenizer_build import EOS, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX
from training.data import TokenData


@dataclass
class FimSplit:
    prefix: str
    middle: str
    suffix: str
    kind: str


@dataclass
class SpecialIds:
    eos: int
    prefix: int
    middle: int
    suffix: int

    @classmethod
    def from_tokenizer(cls, tok: Tokenizer) -> SpecialIds:
        return cls(
            tok.token_to_id(EOS),
            tok.token_to_id(FIM_PREFIX),
            tok.token_to_id(FIM_MIDDLE),
            tok.token_to_id(FIM_SUFFIX),
        )


def _line_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line, end at the newline (excluded)."""
    spans, pos = [], 0
    for line in text.split("\n"):
        spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


def _content_lines(text: str) -> list[tuple[int, int, int]]:
    """(start, indent_end, end) for lines with non-blank content."""
    out = []
    for s, e in _line_spans(text):
        line = text[s:e]
        if line.strip():
            out.append((s, s + len(line) - len(line.lstrip()), e))
    return out


def split_text(text: str, rng: np.random.Generator, kind: str | None = None) -> FimSplit | None:
    """Choose a cursor + middle. Kinds: rest of line (mid-line cursor), full line, a few lines,
    random character span (StarCoder style)."""
    if kind is None:
        kind = str(
            rng.choice(["rest_of_line", "line", "multi_line", "random"], p=[0.35, 0.2, 0.2, 0.25])
        )
    lines = _content_lines(text)
    if kind != "random" and not lines:
        return None
    if kind == "rest_of_line":
        s, ind, e = lines[int(rng.integers(len(lines)))]
        cur = int(rng.integers(ind, e + 1))  # cursor anywhere after the indentation
        a, b = cur, e
    elif kind == "line":
        s, ind, e = lines[int(rng.integers(len(lines)))]
        a, b = (ind if rng.random() < 0.7 else s), e
    elif kind == "multi_line":
        i = int(rng.integers(len(lines)))
        j = min(len(lines) - 1, i + int(rng.integers(1, 6)))
        s, ind, e = lines[i]
        a = int(rng.integers(ind, e + 1)) if rng.random() < 0.5 else ind
        b = lines[j][2]
    else:
        if len(text) < 2:
            return None
        a, b = sorted(int(x) for x in rng.integers(0, len(text) + 1, size=2))
    return FimSplit(text[:a], text[a:b], text[b:], kind)


def encode_fim(tok: Tokenizer, sp: FimSplit, ids: SpecialIds, spm: bool, max_len: int) -> list[int]:
    """PSM: <pre>P<suf>S<mid>M<eos>;  SPM: <pre><suf>S<mid>P M<eos> (StarCoder convention).

    Prefix is cut from the left and suffix from the right so the sample fits in `max_len`.
    """
    p, m, s = (
        e.ids for e in tok.encode_batch([sp.prefix, sp.middle, sp.suffix], add_special_tokens=False)
    )
    room = max_len - 4 - len(m)
    if room < 0:
        m, room = m[: max_len - 4], 0
    keep_s = min(len(s), room // 2 if len(p) > room // 2 else room - len(p))
    keep_p = min(len(p), room - keep_s)
    p = p[len(p) - keep_p :]
    s = s[:keep_s]
    if spm:
        return [ids.prefix, ids.suffix, *s, ids.middle, *p, *m, ids.eos]
    return [ids.prefix, *p, ids.suffix, *s, ids.middle, *m, ids.eos]


def random_window_text(
    data: TokenData, tok: Tokenizer, rng: np.random.Generator, min_len: int = 48, max_len: int = 448
) -> str:
    """Decoded text of a random window inside one document (weighted by document length)."""
    pos = int(rng.integers(0, len(data.tokens) - 1))
    start, end = data.doc_bounds(pos)
    n = int(rng.integers(min_len, max_len + 1))
    lo = max(start, min(pos, end - n))
    return tok.decode([int(t) for t in data.tokens[lo : min(end, lo + n)]])


@dataclass
class Mix:
    """Share of rows per objective; the rest is plain left-to-right LM."""

    psm: float = 0.35
    spm: float = 0.25
    #: CodeChat "docs" edit samples (training/edits.py); 0 in pre-training.
    edit: float = 0.0


def make_row(
    data: TokenData,
    tok: Tokenizer,
    ids: SpecialIds,
    rng: np.random.Generator,
    seq_len: int,
    mix: Mix,
    edits: list[tuple[str, str]] | None = None,
) -> np.ndarray:
    """One training row of `seq_len + 1` tokens: a plain-LM window or packed FIM samples."""
    r = rng.random()
    if edits and r < mix.edit:
        from training.edits import edit_row

        def encode(text: str) -> list[int]:
            return tok.encode(text, add_special_tokens=False).ids

        return edit_row(edits, encode, ids.eos, rng, seq_len)
    if edits:
        r = (r - mix.edit) / (1 - mix.edit)  # the rest keeps the pre-training proportions
    if r >= mix.psm + mix.spm:
        lo = int(rng.integers(0, len(data.tokens) - seq_len - 1))
        return np.asarray(data.tokens[lo : lo + seq_len + 1], dtype=np.int64)
    spm = r >= mix.psm
    row: list[int] = []
    while len(row) < seq_len + 1:
        sp = split_text(random_window_text(data, tok, rng), rng)
        if sp is None:
            continue
        row += encode_fim(tok, sp, ids, spm, seq_len + 1)
    return np.asarray(row[: seq_len + 1], dtype=np.int64)


def make_batch(
    data: TokenData,
    tok: Tokenizer,
    ids: SpecialIds,
    seed: int,
    step: int,
    batch: int,
    seq_len: int,
    mix: Mix,
    edits: list[tuple[str, str]] | None = None,
) -> np.ndarray:
    """Batch for `step`, a pure function of (seed, step) so a resumed run sees the same data."""
    rng = np.random.default_rng([seed, step])
    return np.stack([make_row(data, tok, ids, rng, seq_len, mix, edits) for _ in range(batch)])
