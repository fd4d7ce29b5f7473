"""`tandem bench engines`: the same weights in every engine, measured side by side in one run.

Rows (pick with `--engines`):

* `transformers:fp32`, `transformers:bf16`: Tandem's embedded engine (`LocalEngine`) on the
  safetensors directory;
* `llamacpp:f16`, `llamacpp:q8_0`, `llamacpp:q4_k_m`: Tandem's llama.cpp engine
  (`inference.llamacpp`) on the GGUF conversions of those weights;
* `reference:<quant>`: llama.cpp's own generation through llama-cpp-python's high-level
  `Llama.generate`, no Tandem code at all: the ceiling for the llama.cpp rows.

Each row runs in its own subprocess, one after the other, so `peak_rss_mb` is that engine's
alone and no two engines compete for the cores. Per row: decode tok/s (greedy, `--tokens`
tokens after a cached prompt), cold first-token time for a `--prompt-tokens` prompt (a fresh
document; the engine itself warmed up), and the next keystroke's first-token time (the same
prompt plus a typed character or two, median of 3 keystrokes, each reusing the KV of the one
before). The memory-bandwidth limit is the weight bytes over a measured copy bandwidth (numpy
copy of a large buffer): decoding one token reads every weight once, so no engine can beat it.

`identical` checks greedy outputs: Tandem's llama.cpp strategies (plain, prompt lookup, and a
draft model where one applies) against each other, and Tandem's plain output against the
reference at the same quantization. It stays the plain truth; `identical_detail[<dtype>]` says
why outputs part, if they do (`bench/batch_numerics.py`): llama.cpp's CPU kernels give a batch
of tokens slightly different logits than one-token steps (`batch_logit_gap`, measured on a
verify-sized batch after the real prompt), plain's top-2 logit margin where each strategy parts
from it (`margin_at_divergence`; `explained_by_batch_numerics` when every such margin is below
the gap), and whether the reference is identical to itself cold and with its prefix cached
(`reference_self_identical`). `decode_step_ms` per row is one decode step, to read the
next-keystroke time against: it cannot be shorter than one step.

`--gguf FILE` measures one GGUF alone (rows `llamacpp:gguf` and `reference:gguf`), the prompt
measured with the GGUF's own tokenizer: no Hugging Face folder needed. `--threads 1,2` and
`--repeats N` run every row at every thread count, N rounds, the order rotating, so load that
drifts on a shared machine hits both engines alike; `ratios.llamacpp_vs_reference` gives, per
thread count, the median over rounds of each round's Tandem-against-llama.cpp ratio (decode
speed, cold first token, next keystroke; above 1: Tandem faster), next to the load average.

Absolute numbers from a shared machine are noisy; the ratios within one run are what count.
Build the 0.5B-architecture model first: `python scripts/build_real_size_model.py` (see its
docstring), or pass `--gguf` (the default model: `~/.cache/tandem/models/*.gguf`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

DEFAULT_MODEL_DIR = Path.home() / ".cache" / "tandem" / "real-size" / "qwen2.5-coder-0.5b-arch"
ALL_ROWS = (
    "transformers:fp32",
    "transformers:bf16",
    "llamacpp:f16",
    "llamacpp:q8_0",
    "llamacpp:q4_k_m",
    "reference:f16",
    "reference:q8_0",
    "reference:q4_k_m",
    "llamacpp:gguf",
    "reference:gguf",
)
#: The dtype name of `--gguf FILE`'s rows.
GGUF_ROW = "gguf"
#: What the next keystrokes type after the prompt (each extends the one before).
KEYSTROKES = ("r", "re", "ret")
#: The quantization the draft check uses (`--draft auto`: the q4_k_m file drafts for it).
DRAFT_QUANT = "q8_0"


def log(msg: str) -> None:
    print(f"[bench engines] {msg}", file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over
    from the parent across fork+exec, so every worker would report at least the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0  # kB
    except OSError:  # pragma: no cover - not Linux
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# -- the parent: prompt, bandwidth, one subprocess per row, the report ----------------------------


def hf_token_counter(tokenizer_dir: Path) -> Callable[[str], int]:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True)
    return lambda text: len(tok.encode(text, add_special_tokens=False))


def gguf_token_counter(gguf: Path) -> Callable[[str], int]:
    """The GGUF's own tokenizer (its vocabulary only, no weights loaded)."""
    from inference.llamacpp.model import GgufModel

    model = GgufModel(gguf, vocab_only=True)
    return lambda text: len(model.tokenize(text, add_bos=False))


def build_prompt(count_tokens: Callable[[str], int], n_tokens: int) -> str:
    """About `n_tokens` tokens of real Python (the stdlib's difflib and textwrap), cut at a line
    end and ending inside a function body, where a completion would be asked for."""
    import difflib
    import textwrap

    source = Path(textwrap.__file__).read_text() + Path(difflib.__file__).read_text()
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    count = 0
    for line in lines:
        n = count_tokens(line)
        if count + n > n_tokens:
            break
        out.append(line)
        count += n
    return "".join(out) + "    "


def copy_bandwidth_gb_s(buffer_mb: int = 512, repeats: int = 5) -> float:
    """Bytes copied per second by numpy (best of `repeats`): the rate a decode step can stream
    weights at, roughly."""
    import numpy as np

    n = buffer_mb * 1024 * 1024
    src = np.ones(n, dtype=np.uint8)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t0)
    return n / best / 1e9


def gguf_path(cfg: dict, dtype: str) -> Path:
    """The GGUF file of a llama.cpp row: `--gguf FILE` itself, or `<gguf-dir>/model-<dtype>.gguf`."""
    if dtype == GGUF_ROW:
        return Path(cfg["gguf"])
    return Path(cfg["gguf_dir"]) / f"model-{dtype}.gguf"


def weight_bytes(engine: str, dtype: str, cfg: dict) -> int:
    if engine in ("llamacpp", "reference"):
        return gguf_path(cfg, dtype).stat().st_size
    model_dir = Path(cfg["model_dir"])
    from safetensors import safe_open

    count = 0
    with safe_open(str(model_dir / "model.safetensors"), "np") as f:
        for name in f.keys():
            shape = f.get_slice(name).get_shape()
            size = 1
            for d in shape:
                size *= d
            count += size
    return count * (4 if dtype == "fp32" else 2)


def run_row(row: str, config: dict, timeout: float) -> dict:
    engine, dtype = row.split(":")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(config, f)
        cfg_path = f.name
    cmd = [sys.executable, "-m", "bench.engines", "--worker", row, "--worker-config", cfg_path]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"engine": engine, "dtype": dtype, "error": f"timed out after {timeout:.0f} s"}
    finally:
        os.unlink(cfg_path)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or "").strip().splitlines()[-5:]
        return {"engine": engine, "dtype": dtype, "error": " | ".join(tail) or "no output"}
    result = json.loads(lines[-1])
    log(f"{row}: {time.perf_counter() - t0:.0f} s")
    return result


def summarize(rows: list[dict], bandwidth: float) -> dict:
    """The report's summary of the raw rows (one per engine, dtype, thread count and round):
    identity of the greedy outputs, then `rows` is replaced in place by one row per engine,
    dtype and thread count (medians over the rounds), and the ratios between them.

    Every ratio is a median over rounds of that round's ratio (the rows of a round ran minutes
    apart at most), oriented so that above 1 means Tandem's llama.cpp engine is faster: decode
    tok/s over the reference's, and the reference's first-token milliseconds over Tandem's."""
    ok = [r for r in rows if "error" not in r]

    def same(r: dict, engine: str) -> dict | None:
        return next(
            (
                x
                for x in ok
                if x["engine"] == engine
                and x["dtype"] == r["dtype"]
                and x.get("threads") == r.get("threads")
                and x.get("round", 0) == r.get("round", 0)
            ),
            None,
        )

    detail: dict = {}
    checks_all: list[bool] = []
    for r in ok:
        if r["engine"] != "llamacpp":
            continue
        outs = r.get("outputs", {})
        plain = outs.get("plain")
        checks: dict = {name: (text == plain) for name, text in outs.items() if name != "plain"}
        ref = same(r, "reference")
        if ref is not None and plain is not None:
            checks["vs_reference"] = ref.get("outputs", {}).get("plain") == plain
        checks_all.extend(checks.values())
        if r["dtype"] not in detail:  # the first round's diagnosis (the others repeat it)
            detail[r["dtype"]] = {**checks, **_numerics_detail(r, ref)}
        for name, text in outs.items():
            if plain is not None and text != plain:  # where they part, for a diagnosis
                at = next(
                    (i for i, (x, y) in enumerate(zip(text, plain, strict=False)) if x != y), None
                )
                at = min(len(text), len(plain)) if at is None else at
                r.setdefault("differs_from_plain", {})[name] = {
                    "at_char": at,
                    "plain": plain[max(0, at - 20) : at + 20],
                    name: text[max(0, at - 20) : at + 20],
                }
    identical = bool(checks_all) and all(checks_all)

    vs_reference: list[dict] = []
    for r in ok:
        if r["engine"] != "llamacpp" or r.get("round", 0) != 0:
            continue
        pairs = [
            (x, ref)
            for x in ok
            if x["engine"] == "llamacpp"
            and x["dtype"] == r["dtype"]
            and x.get("threads") == r.get("threads")
            and (ref := same(x, "reference")) is not None
        ]
        if not pairs:
            continue
        entry: dict = {"dtype": r["dtype"], "threads": r.get("threads"), "rounds": len(pairs)}
        for name, key, faster_is_higher in (
            ("decode", "decode_tok_s", True),
            ("ttft_cold", "ttft_cold_ms", False),
            ("ttft_next", "ttft_next_ms", False),
        ):
            per_round = [
                (a[key] / b[key]) if faster_is_higher else (b[key] / a[key])
                for a, b in pairs
                if a.get(key) and b.get(key)
            ]
            if per_round:
                entry[name] = round(statistics.median(per_round), 3)
                entry[f"{name}_by_round"] = [round(x, 3) for x in per_round]
        vs_reference.append(entry)

    grouped = _aggregate(rows)
    rows[:] = grouped

    def best(engine: str) -> dict | None:
        cands = [r for r in grouped if r["engine"] == engine and r.get("decode_tok_s")]
        return max(cands, key=lambda r: r["decode_tok_s"]) if cands else None

    ratios: dict = {"llamacpp_vs_reference": vs_reference}
    lc, tf = best("llamacpp"), best("transformers")
    ratios["llamacpp_vs_transformers"] = (
        round(lc["decode_tok_s"] / tf["decode_tok_s"], 2) if lc and tf else None
    )
    if lc and tf:
        ratios["llamacpp_vs_transformers_dtypes"] = f"{lc['dtype']} vs {tf['dtype']}"
    # prompt lookup forced against plain, on the same engine (what `auto` must not pick blindly)
    ratios["prompt_lookup_vs_plain"] = [
        {
            "dtype": r["dtype"],
            "threads": r.get("threads"),
            "decode": round(by["prompt_lookup"] / by["plain"], 3),
        }
        for r in grouped
        if (by := r.get("decode_tok_s_by_strategy", {})).get("plain") and by.get("prompt_lookup")
    ]
    for r in grouped:
        if r.get("decode_tok_s"):
            r["decode_step_ms"] = round(1000 / r["decode_tok_s"], 1)
        if r.get("weight_bytes"):
            r["bandwidth_limit_tok_s"] = round(bandwidth * 1e9 / r["weight_bytes"], 1)
    return {"ratios": ratios, "identical": identical, "identical_detail": detail}


#: Per-row numbers that are medians over the rounds (the rest come from the first round).
_MEDIAN_KEYS = ("decode_tok_s", "ttft_cold_ms", "ttft_next_ms")
_PRIVATE = ("outputs", "tokens", "plain_margins", "numerics", "self_first_diff")


def _aggregate(rows: list[dict]) -> list[dict]:
    """One row per (engine, dtype, threads): the first round's row, its timings replaced by the
    medians over the rounds (each round's value kept in `<key>_by_round`)."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["engine"], r["dtype"], r.get("threads")), []).append(r)
    out = []
    for group in groups.values():
        done = [r for r in group if "error" not in r]
        first = dict(done[0] if done else group[0])
        for private in (*_PRIVATE, "round"):
            first.pop(private, None)
        if len(group) > 1:
            first["rounds"] = len(done)
            if len(done) < len(group):
                first["errors"] = [r["error"] for r in group if "error" in r]
            for key in _MEDIAN_KEYS:
                values = [r[key] for r in done if r.get(key) is not None]
                if values:
                    first[key] = round(statistics.median(values), 2)
                    first[f"{key}_by_round"] = values
            by_strategy: dict[str, list[float]] = {}
            for r in done:
                for name, v in r.get("decode_tok_s_by_strategy", {}).items():
                    by_strategy.setdefault(name, []).append(v)
            if by_strategy:
                first["decode_tok_s_by_strategy"] = {
                    k: round(statistics.median(v), 2) for k, v in by_strategy.items()
                }
            rss = [r["peak_rss_mb"] for r in done if r.get("peak_rss_mb")]
            if rss:
                first["peak_rss_mb"] = max(rss)
        out.append(first)
    return out


def _numerics_detail(row: dict, ref: dict | None) -> dict:
    """Why a llama.cpp row's strategies part from plain, if they do (`bench.batch_numerics`):
    the batch logit gap of this GGUF, plain's top-2 margin where each strategy (and the
    reference) parts from it, and whether the reference is identical to itself cold and with
    its prefix cached."""
    from bench.batch_numerics import explain, margin_summary

    tokens = row.get("tokens", {})
    plain = tokens.get("plain")
    numerics = row.get("numerics", {})
    gap = numerics.get("batch_logit_gap")
    out: dict = {"batch_logit_gap": gap}
    if plain is not None:
        margins = row.get("plain_margins", [])
        others = {k: v for k, v in tokens.items() if k != "plain"}
        if ref is not None and ref.get("tokens", {}).get("plain") is not None:
            others["vs_reference"] = ref["tokens"]["plain"]
        out["plain_margin"] = margin_summary(margins)
        out.update(explain(plain, margins, others, gap["max"] if gap else None))
    if ref is not None and "self_identical" in ref:
        out["reference_self_identical"] = ref["self_identical"]
        out["reference_cold_vs_warm_first_diff"] = ref.get("self_first_diff")
    out["note"] = (
        "llama.cpp's CPU kernels are not batch-invariant (ggml-org/llama.cpp#23335): a verify "
        "batch gets logits up to batch_logit_gap.max away from one-token steps; a strategy can "
        "part from plain where plain's top-2 margin is smaller (explained_by_batch_numerics)"
    )
    return out


# -- the workers: one engine each ------------------------------------------------------------------


async def _tandem_request(engine, prompt: str, max_tokens: int, strategy: str = "plain"):
    from inference.base import GenerationRequest

    t0 = time.perf_counter()
    gen = engine.start(
        GenerationRequest(
            prompt=prompt, max_tokens=max_tokens, kind="fim", strategy=strategy, cache_key="doc"
        )
    )
    text = await gen.text()
    return text, (time.perf_counter() - t0) * 1000, gen.stats


async def _measure_tandem(engine, cfg: dict, strategies: list[str], tap=None) -> dict:
    from inference.base import GenerationRequest

    prompt, tokens = cfg["prompt"], cfg["tokens"]
    warm = engine.start(GenerationRequest(prompt="def f(x):\n", max_tokens=2, cache_key="warm"))
    await warm.text()
    _, cold_ms, _ = await _tandem_request(engine, prompt, 1)
    next_ms = [(await _tandem_request(engine, prompt + k, 1))[1] for k in KEYSTROKES]
    typed = prompt + KEYSTROKES[-1]
    outputs: dict[str, str] = {}
    rates: dict[str, float] = {}
    for strategy in strategies:
        text, _, stats = await _tandem_request(engine, typed, tokens, strategy)
        outputs[strategy] = text
        rate = tap.runs[strategy]["decode_tok_s"] if tap is not None else stats.tokens_per_second
        rates[strategy] = round(rate, 2)
        if strategy == "plain":
            generated = stats.generated_tokens
    return {
        "decode_tok_s": rates.get("plain"),
        "ttft_cold_ms": round(cold_ms, 1),
        "ttft_next_ms": round(statistics.median(next_ms), 1),
        "ttft_next_all_ms": [round(x, 1) for x in next_ms],
        "generated_tokens": generated,
        "decode_tok_s_by_strategy": rates,
        "outputs": outputs,
    }


async def _worker_transformers(dtype: str, cfg: dict) -> dict:
    import torch

    from inference.local.engine import LocalEngine
    from inference.local.loading import load_model_dir

    torch.set_num_threads(cfg["threads"])
    t0 = time.perf_counter()
    loaded = load_model_dir(
        cfg["model_dir"], device="cpu", dtype={"fp32": "float32"}.get(dtype, "bfloat16")
    )
    engine = LocalEngine(loaded)
    load_s = time.perf_counter() - t0
    try:
        result = await _measure_tandem(engine, cfg, ["plain"])
    finally:
        await engine.close()
    result["load_s"] = round(load_s, 1)
    return result


class _Tap:
    """Records the last run of each strategy on a llama.cpp engine: its prompt tokens, the
    tokens it emitted and when (first to last token: the decode rate, measured as the
    reference's is), and, while `margins` is on, the top-2 margin of every greedy pick of the
    target (meaningful for plain, where each pick is one output token). Recording margins
    partitions every row of logits (262k for Gemma: milliseconds per token), so timed runs go
    without. Wraps the engine's decoder in this worker process only."""

    def __init__(self, engine) -> None:
        from bench.batch_numerics import MarginRecorder

        decoder = engine.decoder
        self.decoder = decoder
        self.greedy = decoder.greedy
        self.recorder = MarginRecorder(decoder.greedy)
        self.runs: dict[str, dict] = {}
        run = decoder.run

        def tapped(prompt, params, stats, slot, should_stop, emit):
            self.recorder.picks = []
            tokens: list[int] = []
            times: list[float] = []
            first: list[int] = []

            def emit_and_record(new: list[int]) -> bool:
                times.append(time.perf_counter())
                if not tokens:
                    first.extend(new)
                tokens.extend(new)
                return emit(new)

            try:
                return run(prompt, params, stats, slot, should_stop, emit_and_record)
            finally:
                decode_s = times[-1] - times[0] if len(times) > 1 else 0.0
                self.runs[stats.strategy or params.strategy] = {
                    "prompt": list(prompt),
                    "tokens": tokens,
                    "margins": [m for _, m in self.recorder.picks],
                    # from the first step's tokens to the last: the reference's own measure
                    "decode_tok_s": (len(tokens) - len(first)) / decode_s if decode_s else 0.0,
                }

        decoder.run = tapped

    @property
    def margins(self) -> bool:
        return self.decoder.greedy is self.recorder

    @margins.setter
    def margins(self, on: bool) -> None:
        self.decoder.greedy = self.recorder if on else self.greedy


def _batch_gap(engine, prompt: list[int], continuation: list[int], size: int) -> dict:
    """`bench.batch_numerics.batch_logit_gaps` for a verify-sized batch (the last prompt token
    and the first plain output tokens, as a fully drafted step would feed them) after the real
    prompt, on the engine's own context and the KV slot the run left."""
    from bench.batch_numerics import batch_logit_gaps

    prefix = len(prompt) - 1
    slot = next((s for s in engine.slots.slots if s.key == "doc"), engine.slots.slots[0])
    ctx = engine.target
    if slot.tokens[:prefix] != prompt[:prefix]:  # not expected: the runs end on this prompt
        ctx.keep(slot.seq, 0)
        ctx.eval(slot.seq, prompt[:prefix], 0, 0, lambda _logits: 0)
    batch = [prompt[-1], *continuation][:size]
    gaps = batch_logit_gaps(ctx, slot.seq, prefix, batch)
    slot.tokens = list(prompt[:prefix])
    return {
        "max": round(max(gaps), 5),
        "by_position": [round(g, 5) for g in gaps],
        "bitwise_equal_positions": sum(1 for g in gaps if g == 0.0),
        "batch": len(batch),
    }


async def _worker_llamacpp(dtype: str, cfg: dict) -> dict:
    from inference.llamacpp import LlamaCppEngine

    gguf = gguf_path(cfg, dtype)
    t0 = time.perf_counter()
    engine = LlamaCppEngine.load(gguf, n_threads=cfg["threads"], n_ctx=cfg["n_ctx"])
    load_s = time.perf_counter() - t0
    tap = _Tap(engine)
    try:
        result = await _measure_tandem(engine, cfg, ["plain", "prompt_lookup"], tap)
        if cfg.get("diagnose", True):
            # plain again, untimed, recording its top-2 margins (the same prompt and KV: the
            # same tokens, checked)
            timed = tap.runs["plain"]["tokens"]
            tap.margins = True
            await _tandem_request(engine, cfg["prompt"] + KEYSTROKES[-1], cfg["tokens"])
            tap.margins = False
            result["plain_rerun_identical"] = tap.runs["plain"]["tokens"] == timed
        plain = tap.runs["plain"]
        if cfg.get("diagnose", True):
            # a verify batch as long as the longest draft a draft model gets (k_max 16) + 1
            result["numerics"] = {
                "batch_logit_gap": _batch_gap(engine, plain["prompt"], plain["tokens"], 17)
            }
    finally:
        await engine.close()
    result["tokens"] = {name: run["tokens"] for name, run in tap.runs.items()}
    result["plain_margins"] = plain["margins"][: len(plain["tokens"])]
    result["load_s"] = round(load_s, 1)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)  # before a draft engine adds its own
    draft = cfg.get("draft") or ""
    if draft and Path(draft).resolve() != gguf.resolve() and cfg.get("diagnose", True):
        # the draft strategy needs the engine built with a draft GGUF: a second engine
        engine = LlamaCppEngine.load(
            gguf, draft_path=draft, n_threads=cfg["threads"], n_ctx=cfg["n_ctx"]
        )
        draft_tap = _Tap(engine)
        try:
            text, _, stats = await _tandem_request(
                engine, cfg["prompt"] + KEYSTROKES[-1], cfg["tokens"], "draft"
            )
        finally:
            await engine.close()
        result["outputs"]["draft"] = text
        result["tokens"]["draft"] = draft_tap.runs["draft"]["tokens"]
        result["decode_tok_s_by_strategy"]["draft"] = round(stats.tokens_per_second, 2)
        result["draft_acceptance"] = round(stats.acceptance_rate, 3)
        result["draft"] = Path(draft).name
    return result


def _worker_reference(dtype: str, cfg: dict) -> dict:
    """llama.cpp's own generation loop (llama-cpp-python's high-level `Llama`), greedy, with its
    own prefix cache (`Llama.generate` reuses the longest common token prefix)."""
    import llama_cpp

    from bench.batch_numerics import first_divergence

    gguf = gguf_path(cfg, dtype)
    t0 = time.perf_counter()
    llm = llama_cpp.Llama(
        str(gguf),
        n_ctx=cfg["n_ctx"],
        n_batch=512,
        n_threads=cfg["threads"],
        n_threads_batch=cfg["threads"],
        verbose=False,
    )
    load_s = time.perf_counter() - t0
    vocab = llama_cpp.llama_model_get_vocab(llm.model)

    def run(prompt: str, max_tokens: int) -> tuple[list[int], float, float]:
        """(tokens, first-token ms, total ms)."""
        ids = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        out: list[int] = []
        t0 = time.perf_counter()
        first = 0.0
        for tok in llm.generate(ids, temp=0.0, top_k=1, reset=True):
            if not out:
                first = (time.perf_counter() - t0) * 1000
            if llama_cpp.llama_vocab_is_eog(vocab, tok):
                break
            out.append(tok)
            if len(out) >= max_tokens:
                break
        return out, first, (time.perf_counter() - t0) * 1000

    run("def f(x):\n", 2)  # warm up, as the Tandem rows do
    prompt = cfg["prompt"]
    _, cold_ms, _ = run(prompt, 1)
    next_ms = [run(prompt + k, 1)[1] for k in KEYSTROKES]
    out, first_ms, total_ms = run(prompt + KEYSTROKES[-1], cfg["tokens"])
    rate = (len(out) - 1) / ((total_ms - first_ms) / 1000) if len(out) > 1 else 0.0
    text = llm.detokenize(out).decode("utf-8", "replace")
    # self-consistency: the same prompt cold (the measured run above reused the prefix the
    # keystrokes left). llama.cpp's batch kernels can make these differ on their own.
    self_check: dict = {}
    if cfg.get("diagnose", True):
        llm.reset()
        cold, _, _ = run(prompt + KEYSTROKES[-1], cfg["tokens"])
        self_check = {"self_identical": cold == out, "self_first_diff": first_divergence(cold, out)}
    return {
        "decode_tok_s": round(rate, 2),
        "ttft_cold_ms": round(cold_ms, 1),
        "ttft_next_ms": round(statistics.median(next_ms), 1),
        "ttft_next_all_ms": [round(x, 1) for x in next_ms],
        "generated_tokens": len(out),
        "outputs": {"plain": text},
        "tokens": {"plain": out},
        **self_check,
        "load_s": round(load_s, 1),
    }


def worker_main(row: str, cfg_path: str) -> int:
    cfg = json.loads(Path(cfg_path).read_text())
    engine, dtype = row.split(":")
    if engine == "transformers":
        result = asyncio.run(_worker_transformers(dtype, cfg))
    elif engine == "llamacpp":
        result = asyncio.run(_worker_llamacpp(dtype, cfg))
    elif engine == "reference":
        result = _worker_reference(dtype, cfg)
    else:
        raise SystemExit(f"unknown engine {engine!r}")
    result = {"engine": engine, "dtype": dtype, **result}
    result.setdefault("peak_rss_mb", round(peak_rss_mb(), 1))
    result["threads"] = cfg["threads"]
    result["round"] = cfg.get("round", 0)
    print(json.dumps(result), flush=True)
    return 0


# -- CLI -----------------------------------------------------------------------------------------


def _thread_counts(text: str) -> list[int]:
    counts = [int(x) for x in text.split(",") if x.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"thread counts must be >= 1: {text!r}")
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="tandem bench engines", description=__doc__.split("\n")[0])
    p.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR, help="safetensors dir")
    p.add_argument("--gguf-dir", type=Path, help="dir of model-{f16,q8_0,q4_k_m}.gguf "
                   "(default: <model-dir>/gguf)")  # fmt: skip
    p.add_argument("--gguf", type=Path, help="one GGUF file alone: rows llamacpp:gguf and "
                   "reference:gguf, the prompt measured with its own tokenizer")  # fmt: skip
    p.add_argument("--engines", help="comma list of engine:dtype rows (default: all; with "
                   "--gguf: llamacpp:gguf,reference:gguf)")  # fmt: skip
    p.add_argument("--tokens", type=int, default=64, help="tokens to decode per row")
    p.add_argument("--prompt-tokens", type=int, default=1500)
    p.add_argument("--threads", type=_thread_counts, default=[default_threads()],
                   help="CPU threads for every engine, or a comma list to run each row at "
                   "each count, e.g. 1,2 (default: all cores)")  # fmt: skip
    p.add_argument("--repeats", type=int, default=1,
                   help="rounds of every row at every thread count, the order rotating; "
                   "timings are medians, ratios medians of per-round ratios")  # fmt: skip
    p.add_argument("--n-ctx", type=int, default=4096, help="llama.cpp context per document")
    p.add_argument("--draft", default="auto",
                   help="draft GGUF for the draft-strategy check (every llamacpp row); auto: "
                   "the q4_k_m file, for the q8_0 row only; none: skip")  # fmt: skip
    p.add_argument("--row-timeout", type=float, default=1800.0, help="seconds per row")
    p.add_argument("--json", action="store_true", help="print only the JSON report on stdout")
    p.add_argument("--out", type=Path, help="also write the JSON report here")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--worker-config", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        return worker_main(a.worker, a.worker_config)
    if a.repeats < 1:
        p.error("--repeats must be >= 1")

    model_dir = a.model_dir.expanduser()
    gguf_dir = (a.gguf_dir or model_dir / "gguf").expanduser()
    gguf = a.gguf.expanduser() if a.gguf else None
    default_rows = (
        f"llamacpp:{GGUF_ROW},reference:{GGUF_ROW}"
        if gguf
        else ",".join(r for r in ALL_ROWS if not r.endswith(f":{GGUF_ROW}"))
    )
    rows = [r.strip().lower() for r in (a.engines or default_rows).split(",") if r.strip()]
    bad = [r for r in rows if r not in ALL_ROWS]
    if bad:
        p.error(f"unknown rows {bad}; known: {', '.join(ALL_ROWS)}")
    config = {
        "model_dir": str(model_dir),
        "gguf_dir": str(gguf_dir),
        "gguf": str(gguf) if gguf else "",
        "tokens": a.tokens,
        "n_ctx": a.n_ctx,
    }
    for r in rows:
        engine, dtype = r.split(":")
        if dtype == GGUF_ROW and gguf is None:
            p.error(f"row {r} needs --gguf FILE")
        if engine != "transformers" and not gguf_path(config, dtype).is_file():
            hint = "" if dtype == GGUF_ROW else " (scripts/build_real_size_model.py)"
            p.error(f"missing {gguf_path(config, dtype)}{hint}")
    needs_hf = any(r.startswith("transformers:") for r in rows)
    if gguf is not None and not needs_hf:
        count = gguf_token_counter(gguf)  # the GGUF's own tokenizer: no Hugging Face folder
    elif (model_dir / "tokenizer.json").is_file():  # its tokenizer measures the prompt
        count = hf_token_counter(model_dir)
    else:
        p.error(f"no model at {model_dir}: run `python scripts/build_real_size_model.py`, "
                "or pass --gguf FILE")  # fmt: skip

    config["prompt"] = build_prompt(count, a.prompt_tokens)
    bandwidth = copy_bandwidth_gb_s()
    threads = ", ".join(str(t) for t in a.threads)
    log(f"copy bandwidth {bandwidth:.1f} GB/s; threads {threads}; {a.repeats} round(s); "
        f"rows: {', '.join(rows)}")  # fmt: skip
    draft = "" if a.draft == "none" else a.draft
    load_before = [round(x, 2) for x in os.getloadavg()]
    runs = [(n, r) for n in a.threads for r in rows]
    results = []
    for rnd in range(a.repeats):
        # rotate the order each round, so no row always runs first (after a pause) or last
        shift = rnd % len(runs)
        for n_threads, r in runs[shift:] + runs[:shift]:
            engine, dtype = r.split(":")
            cfg = {**config, "threads": n_threads, "round": rnd, "diagnose": rnd == 0}
            if engine == "llamacpp" and draft:
                auto = gguf_dir / "model-q4_k_m.gguf"
                cfg["draft"] = str(auto) if draft == "auto" and auto.is_file() else draft
                if draft == "auto" and dtype != DRAFT_QUANT:  # the draft check: two prefills
                    cfg["draft"] = ""
            log(f"running {r} at {n_threads} thread(s), round {rnd + 1}/{a.repeats} ...")
            load = round(os.getloadavg()[0], 2)
            res = run_row(r, cfg, a.row_timeout)
            res.setdefault("threads", n_threads)
            res.setdefault("round", rnd)
            res["load_average_1m_at_start"] = load
            if "error" not in res:
                res["weight_bytes"] = weight_bytes(engine, dtype, cfg)
            else:
                log(f"{r} failed: {res['error']}")
            results.append(res)
            if a.out:  # what is done so far, in case the run is cut short
                a.out.write_text(json.dumps({"partial": True, "rows": results}) + "\n")

    summary = summarize(results, bandwidth)
    report = {
        "benchmark": "engines",
        "model_dir": str(model_dir),
        **({"gguf": str(gguf)} if gguf else {}),
        "prompt_tokens": a.prompt_tokens,
        "decode_tokens": a.tokens,
        "threads": a.threads,
        "repeats": a.repeats,
        "cpus": os.cpu_count(),
        "load_average": {
            "before": load_before,
            "after": [round(x, 2) for x in os.getloadavg()],
        },
        "memory_bandwidth": {
            "copy_gb_s": round(bandwidth, 2),
            "note": "weight bytes / copy bandwidth bounds decode tok/s (bandwidth_limit_tok_s)",
        },
        "rows": results,
        **summary,
    }
    text = json.dumps(report, indent=None if a.json else 2)
    print(text)
    if a.out:
        a.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
