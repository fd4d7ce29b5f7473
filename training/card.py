"""Render `inference/demo_models/README.md` from `metrics.json` and the shipped configs.

Generated rather than hand-written so every number in the card comes from a run.
"""

from __future__ import annotations

import json
from pathlib import Path

from training.fim import Mix

RETRAIN = "python -m training all --target-min 45 --draft-min 11 --edits-min 15"
EVAL = "python -m training evaluate"
CARD = "python -m training card"


def _arch(d: Path) -> str:
    c = json.loads((d / "config.json").read_text())
    return (
        f"Llama, {c['num_hidden_layers']} layers, hidden {c['hidden_size']}, "
        f"{c['num_attention_heads']} heads ({c['num_key_value_heads']} KV), "
        f"MLP {c['intermediate_size']}, vocab {c['vocab_size']}, tied embeddings"
    )


def _tps(t: dict) -> str:
    secs = t.get("train_seconds") or 0
    return f"{t.get('tokens_seen', 0) / secs:,.0f}" if secs else "?"


def _row(name: str, m: dict) -> str:
    t = m.get("training", {})
    return (
        f"| {name} | {m['params'] / 1e6:.2f}M | {t.get('tokens_seen', 0) / 1e6:.1f}M | "
        f"{t.get('steps', '?')} | {t.get('train_seconds', 0) / 60:.1f} min | "
        f"{m['heldout_lm_loss']:.3f} | {m['middle_loss']:.3f} | {m['middle_token_accuracy']:.3f} | "
        f"{m['exact_line_hits']}/{m['exact_line_n']} ({100 * m['exact_line_match']:.1f}%) | "
        f"{m['decode']['ms_per_token']:.2f} ms | {m['decode']['ttft_ms']:.1f} ms |"
    )


def render(out_dir: Path) -> str:
    m = json.loads((out_dir / "metrics.json").read_text())
    tgt, drf = m["target"], m["draft"]
    tt, dt = tgt.get("training", {}), drf.get("training", {})
    # the corpus the target was trained on (the draft's may be a later scan: see below)
    toks = tt.get("corpus_tokens") or m.get("corpus_tokens", {})
    files = tt.get("corpus_files") or m.get("corpus_files", {})
    mix = Mix()
    plain = 1 - mix.psm - mix.spm
    return f"""# Tandem demo model pair (target + draft)

> **A plumbing demo, not a coding assistant.** These two tiny models were trained for about an
> hour on a 2-core CPU. They produce text with the shape of Python and little meaning. They exist
> so that the language server, FIM completion path and speculative decoding can be exercised
> end-to-end, offline, from a fresh clone, with weights whose provenance is fully known.
> For real completions, point `tandem.model` at a real code model.

| dir | what | architecture |
|---|---|---|
| `target/` | FIM model the server completes with | {_arch(out_dir / "target")} |
| `draft/` | draft for speculative decoding (same tokenizer) | {_arch(out_dir / "draft")} |

Each directory is a complete Hugging Face model dir (config.json, model.safetensors,
tokenizer.json, tokenizer_config.json, special tokens, generation_config.json) that loads
offline (`HF_HUB_OFFLINE=1`) with `AutoModelForCausalLM.from_pretrained(dir)` and
`AutoTokenizer.from_pretrained(dir)`. Weights are stored in **float32** and the config says
`dtype: float32`: at this size bf16 decodes slower on CPU.

## Numbers (all measured; `metrics.json` holds the raw values)

| model | params | tokens seen | steps | train time | held-out LM loss (nats/token) | held-out FIM middle loss | middle-token accuracy | exact-line match | decode, per token | prefill 256 tok (TTFT) |
|---|---|---|---|---|---|---|---|---|---|---|
{_row("target", tgt)}
{_row("draft", drf)}

- Decode cost ratio target/draft (batch 1, fp32, greedy, 2 threads, per generated token after a
  256-token prompt, best of 5 runs of 64 tokens): **{m.get("decode_cost_ratio_target_over_draft", "?")}x**.
  Timings were taken on a CPU shared with other jobs, so treat them as rough.
{_bench_lines(out_dir)}

Definitions (see `training/evaluate.py`):
- *Held-out LM loss*: mean next-token cross-entropy over 64 evenly spaced 512-token windows of
  the held-out token stream (plain left-to-right text).
- *FIM middle loss / middle-token accuracy*: 200 held-out PSM samples (all split kinds);
  teacher-forced cross-entropy and argmax accuracy on the middle tokens plus the closing
  `<|endoftext|>`.
- *Exact-line match*: {tgt["exact_line_n"]} held-out single-line FIM samples (the rest of a line from a
  cursor inside it, or a whole line), PSM prompt, greedy decoding, stop at EOS or newline;
  a hit when the generated line equals the removed text (trailing whitespace ignored).
- Held-out files are chosen by SHA-256 of their content (2%), but the same packages appear on
  both sides of the split, so held-out numbers are optimistic for unseen code.

## Training

- Hardware: a **2-core x86 CPU** (AVX512/AMX-bf16), 24 GiB RAM. **No GPU was available for this
  task; the GPU path was not used.** torch {m.get("torch", "?")}, 2 threads, run at `nice 10`
  on a machine shared with other work.
- Target: {tt.get("steps")} steps x {tt.get("batch")} x {tt.get("seq_len")} tokens =
  {tt.get("tokens_seen", 0) / 1e6:.1f}M tokens in {tt.get("train_seconds", 0) / 60:.1f} min; peak LR {tt.get("peak_lr")}.
  Draft: {dt.get("steps")} steps x {dt.get("batch")} x {dt.get("seq_len")} tokens =
  {dt.get("tokens_seen", 0) / 1e6:.1f}M tokens in {dt.get("train_seconds", 0) / 60:.1f} min; peak LR {dt.get("peak_lr")}.
{_finetune_line(tgt)}
{_draft_corpus_line(tt, dt)}
  torch.compile used: target {tt.get("compiled")}, draft {dt.get("compiled")}; bf16 autocast.
  Sustained throughput was {_tps(tt)} tokens/s (target) and {_tps(dt)} tokens/s (draft): the
  CPU was shared with other jobs for most of the run, so these are well below what the same
  code reaches on an idle 2-core machine.
- AdamW (betas 0.9/0.95, weight decay 0.1 on matrices), grad clip 1.0, 200 warmup steps, then
  cosine decay to 10% of peak **over the wall-clock budget** (the trainer stops at the budget,
  so the number of steps depends on machine speed; the batch for step *n* is a pure function
  of (seed, n), so the data order is fixed and `--resume` continues the same stream).
- Corpus: {files.get("train", "?")} training files, {files.get("heldout", "?")} held-out files of Python:
  {toks.get("train", 0) / 1e6:.1f}M training tokens, {toks.get("heldout", 0) / 1e6:.2f}M held-out tokens.
  The standard library plus the permissively licensed (MIT/BSD/Apache/PSF/ISC-like, read from
  each distribution's metadata) packages installed in the project venv; tests, generated
  files, files over 200 KB and exact duplicates dropped. Packages and licenses: [CORPUS.md](CORPUS.md).
  The target saw less than one pass over the corpus.
- Tokenizer: byte-level BPE, 8192 entries, trained with `inference.tokenizer_build.train_bpe` on
  a 30 MB seeded sample of training files. Special tokens: `<|endoftext|>`, `<fim_prefix>`,
  `<fim_middle>`, `<fim_suffix>`, `<fim_pad>`, `<file_sep>`. Literal special-token strings inside
  source files were encoded as plain text.

### FIM format

Rows are {plain:.0%} plain left-to-right LM windows, {mix.psm:.0%} packed PSM samples and
{mix.spm:.0%} packed SPM samples (context 512; samples packed back to back):

```
PSM: <fim_prefix>{{prefix}}<fim_suffix>{{suffix}}<fim_middle>{{middle}}<|endoftext|>
SPM: <fim_prefix><fim_suffix>{{suffix}}<fim_middle>{{prefix}}{{middle}}<|endoftext|>   (StarCoder convention)
```

The split is made on characters, and prefix, middle and suffix are tokenized separately, as a
client does at inference time. Split kinds: 35% rest of a line from a cursor inside it, 20% a
whole line (usually from after the indentation), 20% one to six lines, 25% a random character
span. Prefix is truncated from the left and suffix from the right to fit. **Loss is on all
tokens** (prefix, suffix and middle), which gives a small model more signal per step.

## What it is NOT good for

Writing, fixing or explaining code; anything shown to a user as a suggestion worth accepting;
any language but Python; benchmarking the quality of Tandem. It has seen ~{tt.get("tokens_seen", 0) / 1e6:.0f}M tokens;
useful code models see thousands of times more. Use it to test plumbing: FIM prompt
formatting, stop conditions, streaming, speculative decoding wiring and latency budgets.

## Reproduce

From a fresh clone with the project venv (everything is read from local disk; nothing is
downloaded):

```
{RETRAIN}     # corpus, tokenizer, target, draft, edit fine-tune, evaluate (about 75 min on 2 cores)
{EVAL}        # re-measure every number above -> metrics.json
{CARD}        # re-render this README from metrics.json
```

Steps can also be run one by one: `corpus`, `tokenizer`, `train --size target|draft
--time-budget-min N [--resume]`, `evaluate`, `card` (all under `python -m training`,
or `tandem train-demo ...`). Caches, checkpoints and logs go to `runs/demo/` (git-ignored).
Because training stops on a wall-clock budget, a rerun on a faster or busier machine takes a
different number of steps and gives slightly different numbers.
"""


def _draft_corpus_line(tt: dict, dt: dict) -> str:
    """When the draft was trained from a later corpus scan than the target (same recipe and
    tokenizer, newer package versions on disk), say so."""
    files, toks = dt.get("corpus_files"), dt.get("corpus_tokens")
    if not files or files == tt.get("corpus_files"):
        return "  Both models were trained on the corpus below."
    return (
        "  The draft was retrained later (the first one had 4 heads of size 24, which vLLM's "
        "CPU attention rejects; this one has 3 of size 32), with the target's tokenizer "
        "(`tokenizer --tokenizer-from inference/demo_models/target`), on a fresh scan of the "
        f"same sources: {files.get('train')} training files, "
        f"{(toks or {}).get('train', 0) / 1e6:.1f}M tokens (some packages had newer versions; "
        "[CORPUS-draft.md](CORPUS-draft.md)). Held-out numbers for both models use that "
        "scan's held-out split."
    )


def _finetune_line(m: dict) -> str:
    """The CodeChat docs-edit fine-tune that followed pre-training (`finetune-edits`)."""
    f = m.get("finetune_edits")
    if not f:
        return "  No CodeChat edit fine-tune was run on this target."
    if "steps" in f:
        done = (
            f"{f['steps']} steps x {f.get('batch')} x {f.get('seq_len')} tokens in "
            f"{f.get('train_seconds', 0) / 60:.1f} min"
        )
    else:
        done = f"a {f.get('time_budget_min', '?')}-minute budget ({f.get('note', '')})"
    return (
        "  Then the target was fine-tuned on CodeChat docs edits (`finetune-edits`: "
        f"{f.get('edit_share', 0.5):.0%} of rows are a function without its docstring followed by "
        "the same function with it, rendered with CodeChat's own prompt; the rest as in "
        f"pre-training): {done}. The numbers above are after this step"
        + (
            f" (held-out LM loss before it: {f['heldout_lm_loss_before']:.3f})."
            if "heldout_lm_loss_before" in f
            else "."
        )
    )


def _bench_lines(out_dir: Path) -> str:
    """Results of the product benchmarks on this pair, from `bench.json` (written by hand from
    the JSON the commands print; the commands are listed with the numbers)."""
    path = out_dir / "bench.json"
    if not path.is_file():
        return "- Product benchmarks: not run yet (`tandem bench infill`, `tandem bench spec`)."
    b = json.loads(path.read_text())
    lines = []
    for key in ("infill", "spec", "vllm", "codechat"):
        if key in b:
            lines.append(f"- {b[key]['summary']} (`{b[key]['command']}`)")
    return "\n".join(lines)


def write_card(out_dir: Path) -> Path:
    path = out_dir / "README.md"
    path.write_text(render(out_dir))
    return path
