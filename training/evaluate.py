"""Held-out numbers for the model card: LM loss, FIM middle accuracy, exact-line match, speed.

All samples come from held-out files (split by content hash), with fixed seeds, so every
number in `metrics.json` is reproducible with `python -m training evaluate`.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from training.data import TokenData, load_raw_tokenizer
from training.fim import FimSplit, SpecialIds, encode_fim, random_window_text, split_text


def load_model(model_dir: Path):
    from transformers import AutoModelForCausalLM

    m = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    m.eval()
    return m


@torch.no_grad()
def lm_loss(model, data: TokenData, n_windows: int = 64, seq_len: int = 512) -> float:
    """Plain next-token loss (nats/token) on evenly spaced held-out windows."""
    n = len(data.tokens) - seq_len - 1
    losses = []
    for lo in np.linspace(0, n, n_windows, dtype=np.int64):
        b = torch.from_numpy(np.asarray(data.tokens[lo : lo + seq_len + 1], dtype=np.int64))[None]
        logits = model(input_ids=b[:, :-1]).logits
        losses.append(float(torch.nn.functional.cross_entropy(logits[0], b[0, 1:])))
    return float(np.mean(losses))


def fim_samples(data: TokenData, tok, n: int, seed: int, single_line: bool) -> list[FimSplit]:
    rng = np.random.default_rng(seed)
    out: list[FimSplit] = []
    while len(out) < n:
        kind = str(rng.choice(["rest_of_line", "line"])) if single_line else None
        sp = split_text(random_window_text(data, tok, rng, 128, 448), rng, kind)
        if sp is None or (single_line and (not sp.middle.strip() or "\n" in sp.middle)):
            continue
        if not sp.middle:
            continue
        out.append(sp)
    return out


@torch.no_grad()
def middle_accuracy(
    model, tok, ids: SpecialIds, samples: list[FimSplit], max_len: int = 512
) -> dict:
    """Teacher-forced PSM: argmax accuracy and loss on middle tokens + the closing EOS."""
    correct = total = 0
    loss_sum = 0.0
    for sp in samples:
        seq = encode_fim(tok, sp, ids, spm=False, max_len=max_len)
        mid_start = seq.index(ids.middle) + 1
        x = torch.tensor(seq)[None]
        logits = model(input_ids=x).logits[0]
        pred_logits = logits[mid_start - 1 : len(seq) - 1]
        target = x[0, mid_start:]
        correct += int((pred_logits.argmax(-1) == target).sum())
        loss_sum += float(torch.nn.functional.cross_entropy(pred_logits, target, reduction="sum"))
        total += len(target)
    return {
        "middle_token_accuracy": correct / total,
        "middle_loss": loss_sum / total,
        "middle_tokens": total,
    }


@torch.no_grad()
def greedy_line(model, tok, ids: SpecialIds, sp: FimSplit, max_new: int = 48) -> str:
    """Greedy PSM infill that stops at EOS or the first newline (single-line completion)."""
    prompt = encode_fim(
        tok, FimSplit(sp.prefix, "", sp.suffix, sp.kind), ids, spm=False, max_len=512 - max_new
    )
    prompt = prompt[:-1]  # drop the EOS that closes the empty middle
    out: list[int] = []
    x = torch.tensor(prompt)[None]
    past = None
    for _ in range(max_new):
        r = model(input_ids=x, past_key_values=past, use_cache=True)
        past = r.past_key_values
        nxt = int(r.logits[0, -1].argmax())
        if nxt == ids.eos:
            break
        out.append(nxt)
        if "\n" in tok.decode(out[-1:]):
            break
        x = torch.tensor([[nxt]])
    return tok.decode(out).split("\n")[0]


def exact_line(model, tok, ids: SpecialIds, samples: list[FimSplit]) -> dict:
    hits = [greedy_line(model, tok, ids, sp).rstrip() == sp.middle.rstrip() for sp in samples]
    return {
        "exact_line_match": sum(hits) / len(hits),
        "exact_line_hits": sum(hits),
        "exact_line_n": len(hits),
    }


@torch.no_grad()
def decode_speed(model, prompt_len: int = 256, new: int = 64, reps: int = 5) -> dict:
    """Batch-1 fp32 greedy decode on CPU: ms per generated token and prefill (TTFT) ms.

    Best of `reps` runs, because the CPU is shared and contention only ever adds time.
    """
    x = torch.randint(10, model.config.vocab_size, (1, prompt_len))
    per_tok, ttft = [], []
    for _ in range(reps + 1):  # first rep is warm-up
        t0 = time.perf_counter()
        r = model(input_ids=x, use_cache=True)
        past, nxt = r.past_key_values, r.logits[:, -1:].argmax(-1)
        t1 = time.perf_counter()
        for _ in range(new):
            r = model(input_ids=nxt, past_key_values=past, use_cache=True)
            past, nxt = r.past_key_values, r.logits[:, -1:].argmax(-1)
        t2 = time.perf_counter()
        ttft.append((t1 - t0) * 1e3)
        per_tok.append((t2 - t1) * 1e3 / new)
    return {
        "ms_per_token": round(min(per_tok[1:]), 3),
        "ttft_ms": round(min(ttft[1:]), 2),
        "ms_per_token_median": round(statistics.median(per_tok[1:]), 3),
    }


def evaluate_model(
    model_dir: Path,
    data_dir: Path,
    n_lines: int = 200,
    seed: int = 0,
    n_mid: int = 200,
    n_windows: int = 64,
) -> dict:
    torch.set_num_threads(2)
    model = load_model(model_dir)
    tok = load_raw_tokenizer(model_dir)
    ids = SpecialIds.from_tokenizer(tok)
    held = TokenData.load(data_dir, "heldout")
    t = time.time()
    res: dict = {"params": sum(p.numel() for p in model.parameters())}
    res["heldout_lm_loss"] = round(lm_loss(model, held, n_windows), 4)
    res.update(
        {
            k: round(v, 4) if isinstance(v, float) else v
            for k, v in middle_accuracy(
                model, tok, ids, fim_samples(held, tok, n_mid, seed + 10, False)
            ).items()
        }
    )
    res.update(
        {
            k: round(v, 4) if isinstance(v, float) else v
            for k, v in exact_line(
                model, tok, ids, fim_samples(held, tok, n_lines, seed + 20, True)
            ).items()
        }
    )
    res["decode"] = decode_speed(model)
    res["eval_seconds"] = round(time.time() - t, 1)
    return res


def evaluate_all(out_dir: Path, run_dir: Path, n_lines: int = 200, seed: int = 0) -> dict:
    """Evaluate every shipped model dir, add training summaries, write `metrics.json`.

    Held-out numbers use this run dir's held-out split. A model not trained from this run dir
    keeps the training record (and corpus size) already in `metrics.json`."""
    res: dict = {"hardware": "2-core x86 CPU (AVX512/AMX-bf16), no GPU", "torch": torch.__version__}
    counts = run_dir / "data" / "counts.json"
    if counts.exists():
        res["corpus_tokens"] = json.loads(counts.read_text())
    index = run_dir / "corpus.json"
    if index.exists():
        files = json.loads(index.read_text())["files"]
        res["corpus_files"] = {
            "train": sum(not f["heldout"] for f in files),
            "heldout": sum(f["heldout"] for f in files),
        }
    metrics = out_dir / "metrics.json"
    old = json.loads(metrics.read_text()) if metrics.exists() else {}
    for size in ("target", "draft"):
        d = out_dir / size
        if not (d / "config.json").exists():
            continue
        r = evaluate_model(d, run_dir / "data", n_lines, seed)
        s = run_dir / size / "summary.json"
        if s.exists():  # trained from this run dir: record the corpus it saw
            r["training"] = json.loads(s.read_text())
            for key in ("corpus_files", "corpus_tokens"):
                if key in res:
                    r["training"][key] = res[key]
        elif "training" in old.get(size, {}):  # trained earlier (e.g. only the draft retrained)
            r["training"] = old[size]["training"]
            for key in ("corpus_files", "corpus_tokens"):
                if key in old:
                    r["training"].setdefault(key, old[key])
        edits = run_dir / f"{size}-edits" / "summary.json"
        if edits.exists():  # the CodeChat docs-edit fine-tune (`finetune-edits`)
            r["finetune_edits"] = json.loads(edits.read_text())
        elif "finetune_edits" in old.get(size, {}):
            r["finetune_edits"] = old[size]["finetune_edits"]  # keep what was recorded
        res[size] = r
    if "target" in res and "draft" in res:
        res["decode_cost_ratio_target_over_draft"] = round(
            res["target"]["decode"]["ms_per_token"] / res["draft"]["decode"]["ms_per_token"], 2
        )
    (out_dir / "metrics.json").write_text(json.dumps(res, indent=1) + "\n")
    return res
