"""`python -m training` / `tandem train-demo`: corpus, tokenizer, train, evaluate, all."""

from __future__ import annotations

import argparse
import json
import site
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_RUN = REPO / "runs" / "demo"
DEFAULT_OUT = REPO / "inference" / "demo_models"


def _site_dirs() -> list[Path]:
    return [Path(p) for p in site.getsitepackages()]


def cmd_corpus(a: argparse.Namespace) -> None:
    from training.corpus import build_corpus, save_corpus_index, write_corpus_card

    t = time.time()
    c = build_corpus(
        _site_dirs() if not a.stdlib_only else [],
        max_files=a.max_files,
        max_total_bytes=int(a.max_corpus_mb * 1e6) if a.max_corpus_mb else None,
    )
    save_corpus_index(c, a.run_dir / "corpus.json")
    if a.write_card:
        write_corpus_card(c, a.out_dir / "CORPUS.md")
    print(
        json.dumps(
            {
                "files": len(c.files),
                "heldout": sum(f.heldout for f in c.files),
                "seconds": round(time.time() - t, 1),
            }
        )
    )


TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def cmd_tokenizer(a: argparse.Namespace) -> None:
    from training.corpus import load_corpus_index
    from training.data import tokenize_corpus, train_tokenizer

    c = load_corpus_index(a.run_dir / "corpus.json")
    t = time.time()
    if a.tokenizer_from:  # reuse a shipped tokenizer, e.g. to retrain the draft for a target
        import shutil

        out = a.run_dir / "tokenizer"
        out.mkdir(parents=True, exist_ok=True)
        for name in TOKENIZER_FILES:
            if (Path(a.tokenizer_from) / name).exists():
                shutil.copy(Path(a.tokenizer_from) / name, out / name)
    else:
        train_tokenizer(
            c,
            a.run_dir / "tokenizer",
            vocab_size=a.vocab_size,
            sample_bytes=int(a.tok_sample_mb * 1e6),
            seed=a.seed,
        )
    t1 = time.time()
    counts = tokenize_corpus(c, a.run_dir / "tokenizer", a.run_dir / "data", seed=a.seed)
    counts.update(tokenizer_seconds=round(t1 - t, 1), tokenize_seconds=round(time.time() - t1, 1))
    (a.run_dir / "data" / "counts.json").write_text(json.dumps(counts, indent=1))
    print(json.dumps(counts))


def cmd_train(a: argparse.Namespace) -> None:
    from training.train import TrainArgs, train

    defaults = {"target": (8, 2e-3), "draft": (16, 3e-3), "tiny": (4, 3e-3)}
    batch, lr = defaults[a.size]
    train(
        TrainArgs(
            size=a.size,
            tok_dir=a.run_dir / "tokenizer",
            data_dir=a.run_dir / "data",
            work_dir=a.run_dir / a.size,
            out_dir=a.out_dir / a.size,
            time_budget_min=a.time_budget_min,
            max_steps=a.max_steps,
            batch=a.batch or batch,
            seq_len=a.seq_len,
            lr=a.lr or lr,
            warmup_steps=a.warmup_steps,
            seed=a.seed,
            compile=not a.no_compile,
            resume=a.resume,
            ckpt_every_min=a.ckpt_every_min,
            eval_every_min=a.ckpt_every_min,
            threads=a.threads,
        )
    )


def cmd_finetune_edits(a: argparse.Namespace) -> None:
    """Continue training the shipped target with CodeChat "docs" edit rows mixed in."""
    from training.corpus import load_corpus_index
    from training.train import TrainArgs, train

    c = load_corpus_index(a.run_dir / "corpus.json")
    stdlib_first = sorted((f for f in c.files if not f.heldout), key=lambda f: f.path)
    train(
        TrainArgs(
            size="target",
            tok_dir=a.run_dir / "tokenizer",
            data_dir=a.run_dir / "data",
            work_dir=a.run_dir / "target-edits",
            out_dir=a.out_dir / "target",
            time_budget_min=a.time_budget_min,
            max_steps=a.max_steps,
            batch=a.batch or 8,
            seq_len=a.seq_len,
            lr=a.lr or 1e-3,
            warmup_steps=a.warmup_steps,
            seed=a.seed + 7,
            compile=not a.no_compile,
            resume=a.resume,
            ckpt_every_min=a.ckpt_every_min,
            eval_every_min=a.ckpt_every_min,
            threads=a.threads,
            init_from=a.out_dir / "target",
            edit_share=a.edit_share,
            edit_files=[Path(f.path) for f in stdlib_first],
        )
    )


def cmd_evaluate(a: argparse.Namespace) -> None:
    from training.evaluate import evaluate_all

    res = evaluate_all(a.out_dir, a.run_dir, n_lines=a.n_lines, seed=a.seed)
    print(json.dumps(res, indent=1))


def cmd_card(a: argparse.Namespace) -> None:
    from training.card import write_card

    print(write_card(a.out_dir))


def cmd_all(a: argparse.Namespace) -> None:
    cmd_corpus(a)
    cmd_tokenizer(a)
    for size, budget in (("target", a.target_min), ("draft", a.draft_min)):
        a.size, a.time_budget_min = size, budget
        cmd_train(a)
    if a.edits_min > 0:
        a.time_budget_min, a.warmup_steps, a.lr, a.batch = a.edits_min, 30, None, None
        cmd_finetune_edits(a)
    cmd_evaluate(a)
    cmd_card(a)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    p.add_argument(
        "--run-dir", type=Path, default=DEFAULT_RUN, help="cache, checkpoints, logs (git-ignored)"
    )
    p.add_argument("--out-dir", type=Path, default=DEFAULT_OUT, help="shipped model dirs + metrics")
    p.add_argument("--seed", type=int, default=0)
    sub = p.add_subparsers(dest="cmd", required=True)

    def corpus_opts(q: argparse.ArgumentParser) -> None:
        q.add_argument("--max-files", type=int, default=None)
        q.add_argument("--max-corpus-mb", type=float, default=None)
        q.add_argument("--stdlib-only", action="store_true")
        q.add_argument("--no-card", dest="write_card", action="store_false")

    def tok_opts(q: argparse.ArgumentParser) -> None:
        q.add_argument("--vocab-size", type=int, default=8192)
        q.add_argument("--tok-sample-mb", type=float, default=30.0)
        q.add_argument(
            "--tokenizer-from",
            metavar="MODEL_DIR",
            help="copy this model's tokenizer instead of training one (a draft for a shipped "
            "target must share its tokenizer)",
        )

    def train_opts(q: argparse.ArgumentParser) -> None:
        q.add_argument("--max-steps", type=int, default=None)
        q.add_argument("--batch", type=int, default=None)
        q.add_argument("--seq-len", type=int, default=512)
        q.add_argument("--lr", type=float, default=None)
        q.add_argument("--warmup-steps", type=int, default=200)
        q.add_argument("--no-compile", action="store_true")
        q.add_argument("--resume", action="store_true")
        q.add_argument("--ckpt-every-min", type=float, default=5.0)
        q.add_argument(
            "--threads", type=int, default=2, help="torch threads (1 can win on a busy CPU)"
        )

    def eval_opts(q: argparse.ArgumentParser) -> None:
        q.add_argument("--n-lines", type=int, default=200)

    q = sub.add_parser("corpus", help="scan + license-filter + split; writes runs/.../corpus.json")
    corpus_opts(q)
    q.set_defaults(fn=cmd_corpus)
    q = sub.add_parser("tokenizer", help="train BPE and tokenize the corpus into the uint16 cache")
    tok_opts(q)
    q.set_defaults(fn=cmd_tokenizer)
    q = sub.add_parser("train", help="train one model under a wall-clock budget")
    q.add_argument("--size", choices=["target", "draft", "tiny"], required=True)
    q.add_argument("--time-budget-min", type=float, default=45.0)
    train_opts(q)
    q.set_defaults(fn=cmd_train)
    q = sub.add_parser(
        "finetune-edits", help="continue the target with CodeChat docs-edit rows (copying)"
    )
    q.add_argument("--time-budget-min", type=float, default=15.0)
    q.add_argument("--edit-share", type=float, default=0.5)
    train_opts(q)
    q.set_defaults(fn=cmd_finetune_edits, warmup_steps=30)
    q = sub.add_parser(
        "evaluate", help="held-out loss, middle accuracy, exact-line match -> metrics.json"
    )
    eval_opts(q)
    q.set_defaults(fn=cmd_evaluate)
    q = sub.add_parser("card", help="render the model card README.md from metrics.json")
    q.set_defaults(fn=cmd_card)
    q = sub.add_parser("all", help="everything, reproducibly, from a fresh clone")
    corpus_opts(q)
    tok_opts(q)
    train_opts(q)
    eval_opts(q)
    q.add_argument("--target-min", type=float, default=45.0)
    q.add_argument("--draft-min", type=float, default=11.0)
    q.add_argument("--edits-min", type=float, default=15.0, help="0: skip the edit fine-tune")
    q.add_argument("--edit-share", type=float, default=0.5)
    q.set_defaults(fn=cmd_all)
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    a.run_dir.mkdir(parents=True, exist_ok=True)
    a.fn(a)
    return 0
