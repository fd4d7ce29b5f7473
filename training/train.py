"""Wall-clock-budgeted trainer: bf16 autocast, optional torch.compile, resumable checkpoints.

The LR schedule is a function of elapsed *time* fraction, so a run on a shared CPU still
ends on schedule with a fully decayed LR.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from training.data import TokenData, load_raw_tokenizer
from training.fim import Mix, SpecialIds, make_batch
from training.model import make_config


@dataclass
class TrainArgs:
    size: str
    tok_dir: Path
    data_dir: Path
    work_dir: Path  # checkpoints + log
    out_dir: Path  # final HF directory
    time_budget_min: float = 45.0
    max_steps: int | None = None
    batch: int = 8
    seq_len: int = 512
    lr: float = 2e-3
    min_lr_frac: float = 0.1
    warmup_steps: int = 200
    weight_decay: float = 0.1
    seed: int = 0
    compile: bool = True
    bf16: bool = True
    ckpt_every_min: float = 5.0
    eval_every_min: float = 5.0
    resume: bool = False
    threads: int = 2
    #: Fine-tune: start from this HF model dir instead of random weights.
    init_from: Path | None = None
    #: Share of CodeChat edit rows (with `edit_files`: training files to take functions from).
    edit_share: float = 0.0
    edit_files: list[Path] | None = None


def lr_at(a: TrainArgs, step: int, frac: float) -> float:
    if step < a.warmup_steps:
        return a.lr * (step + 1) / a.warmup_steps
    cos = 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))
    return a.lr * (a.min_lr_frac + (1 - a.min_lr_frac) * cos)


def _log(work_dir: Path, rec: dict) -> None:
    line = json.dumps(rec)
    print(line, flush=True)
    with open(work_dir / "log.jsonl", "a") as f:
        f.write(line + "\n")


@torch.no_grad()
def heldout_loss(model, batches: list[torch.Tensor], bf16: bool) -> float:
    model.eval()
    tot = 0.0
    for b in batches:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            tot += float(_loss(model, b))
    model.train()
    return tot / len(batches)


def _loss(model, b: torch.Tensor) -> torch.Tensor:
    """Next-token CE on all positions (inputs b[:, :-1], targets b[:, 1:])."""
    logits = model(input_ids=b[:, :-1]).logits
    return torch.nn.functional.cross_entropy(
        logits.float().reshape(-1, logits.size(-1)), b[:, 1:].reshape(-1)
    )


def train(a: TrainArgs) -> dict:
    """Train one model; writes `out_dir` as a complete HF directory and returns a summary."""
    from transformers import AutoTokenizer, GenerationConfig, LlamaForCausalLM

    torch.set_num_threads(a.threads)
    a.work_dir.mkdir(parents=True, exist_ok=True)
    tok = load_raw_tokenizer(a.tok_dir)
    ids = SpecialIds.from_tokenizer(tok)
    train_data = TokenData.load(a.data_dir, "train")
    held_data = TokenData.load(a.data_dir, "heldout")
    mix = Mix(edit=a.edit_share)
    edits = None
    if a.edit_share > 0:
        from training.edits import collect_pairs

        edits = collect_pairs(a.edit_files or [])
        if not edits:
            raise SystemExit("no edit samples found in the training files")
        _log(a.work_dir, {"event": "edit_samples", "pairs": len(edits)})

    torch.manual_seed(a.seed)
    if a.init_from is not None:
        model = LlamaForCausalLM.from_pretrained(a.init_from, dtype=torch.float32)
        config = model.config
    else:
        config = make_config(
            a.size, tok.get_vocab(), tok.get_vocab_size(), max_pos=max(4096, a.seq_len)
        )
        model = LlamaForCausalLM(config)
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": a.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=a.lr,
        betas=(0.9, 0.95),
        fused=False,
    )
    step, elapsed, tokens_seen = 0, 0.0, 0
    resumed_losses: list[float] = []
    ckpt = a.work_dir / "ckpt.pt"
    if a.resume and ckpt.exists():
        st = torch.load(ckpt, map_location="cpu", weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        step, elapsed, tokens_seen = st["step"], st["elapsed"], st["tokens_seen"]
        resumed_losses = list(st.get("losses", []))
        _log(a.work_dir, {"event": "resumed", "step": step, "elapsed_s": elapsed})

    held_batches = [
        torch.from_numpy(make_batch(held_data, tok, ids, a.seed + 1, i, a.batch, a.seq_len, mix))
        for i in range(4)
    ]
    budget = a.time_budget_min * 60
    fwd = model
    if a.compile:
        try:
            fwd = torch.compile(model)
        except Exception as e:  # noqa: BLE001 - any compile failure falls back to eager
            _log(a.work_dir, {"event": "compile_failed", "error": repr(e)[:300]})
    _log(
        a.work_dir,
        {
            "event": "start",
            "size": a.size,
            "params": n_params,
            "args": {k: str(v) for k, v in asdict(a).items() if k != "edit_files"},
        },
    )

    t0 = time.time() - elapsed
    last_ckpt = last_eval = time.time()
    model.train()
    losses: list[float] = resumed_losses  # per-step train loss, kept across --resume
    while True:
        elapsed = time.time() - t0
        if elapsed >= budget or (a.max_steps is not None and step >= a.max_steps):
            break
        lr = lr_at(a, step, elapsed / budget)
        for g in opt.param_groups:
            g["lr"] = lr
        b = torch.from_numpy(
            make_batch(train_data, tok, ids, a.seed, step, a.batch, a.seq_len, mix, edits)
        )
        try:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
                loss = _loss(fwd, b)
            loss.backward()
        except Exception as e:  # noqa: BLE001 - compile errors surface on first call
            if fwd is model:
                raise
            _log(a.work_dir, {"event": "compile_failed", "error": repr(e)[:300]})
            opt.zero_grad(set_to_none=True)
            fwd = model
            continue
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        tokens_seen += b.shape[0] * (b.shape[1] - 1)
        losses.append(float(loss.detach()))
        if step % 25 == 0 or step <= 3:
            _log(
                a.work_dir,
                {
                    "step": step,
                    "loss": round(float(np.mean(losses[-25:])), 4),
                    "lr": round(lr, 6),
                    "tokens": tokens_seen,
                    "elapsed_s": round(time.time() - t0, 1),
                    "tok_per_s": round(tokens_seen / max(1e-9, time.time() - t0)),
                },
            )
        now = time.time()
        if now - last_eval > a.eval_every_min * 60:
            _log(
                a.work_dir,
                {"step": step, "heldout_loss": round(heldout_loss(model, held_batches, a.bf16), 4)},
            )
            last_eval = time.time()
        if now - last_ckpt > a.ckpt_every_min * 60:
            _save_ckpt(ckpt, model, opt, step, time.time() - t0, tokens_seen, losses)
            last_ckpt = time.time()

    elapsed = time.time() - t0
    final_held = heldout_loss(model, held_batches, a.bf16)
    _save_ckpt(ckpt, model, opt, step, elapsed, tokens_seen, losses)
    a.out_dir.mkdir(parents=True, exist_ok=True)
    model.config.dtype = "float32"
    model.save_pretrained(a.out_dir, safe_serialization=True)
    GenerationConfig(
        bos_token_id=ids.eos,
        eos_token_id=ids.eos,
        pad_token_id=config.pad_token_id,
        do_sample=False,
    ).save_pretrained(a.out_dir)
    AutoTokenizer.from_pretrained(a.tok_dir).save_pretrained(a.out_dir)
    finalize_hf_dir(a.out_dir)
    summary = {
        "size": a.size,
        "params": n_params,
        "steps": step,
        "tokens_seen": tokens_seen,
        "train_seconds": round(elapsed, 1),
        "final_train_loss_last100": round(float(np.mean(losses[-100:])), 4) if losses else None,
        "first_train_loss": round(losses[0], 4) if losses else None,
        "final_train_loss_last10": round(float(np.mean(losses[-10:])), 4) if losses else None,
        "heldout_loss_mixed_batches": round(final_held, 4),
        "compiled": fwd is not model,
        "bf16_autocast": a.bf16,
        "batch": a.batch,
        "seq_len": a.seq_len,
        "peak_lr": a.lr,
        "threads": a.threads,
    }
    (a.work_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    _log(a.work_dir, {"event": "done", **summary})
    return summary


def _save_ckpt(
    path: Path, model, opt, step: int, elapsed: float, tokens_seen: int, losses: list[float]
) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "model": model.state_dict(),
            "opt": opt.state_dict(),
            "step": step,
            "elapsed": elapsed,
            "tokens_seen": tokens_seen,
            "losses": losses,
        },
        tmp,
    )
    os.replace(tmp, path)


def finalize_hf_dir(out_dir: Path) -> None:
    """Make the tokenizer files loadable by transformers 4.x too (vLLM, older tools).

    transformers 5 writes `tokenizer_class: TokenizersBackend` and no special_tokens_map.json;
    `PreTrainedTokenizerFast` + `additional_special_tokens` load in both major versions.
    """
    p = out_dir / "tokenizer_config.json"
    cfg = json.loads(p.read_text())
    extra = cfg.pop("extra_special_tokens", None) or cfg.get("additional_special_tokens", [])
    cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    cfg["additional_special_tokens"] = list(extra)
    p.write_text(json.dumps(cfg, indent=2) + "\n")
    special = {k: cfg[k] for k in ("bos_token", "eos_token", "unk_token", "pad_token") if k in cfg}
    special["additional_special_tokens"] = list(extra)
    (out_dir / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")
