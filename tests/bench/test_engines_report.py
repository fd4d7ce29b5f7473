"""`tandem bench engines`: the identity report says whether greedy outputs match (plainly) and,
for the llama.cpp rows, why they may not: the GGUF's batch logit gap, plain's top-2 margin where
a strategy parts from it, and the reference's own cold-vs-cached consistency. (End to end on a tiny GGUF:
tests/llamacpp_server/test_bench_engines.py.)"""

from __future__ import annotations

from bench.batch_numerics import explain, first_divergence, top2_margin
from bench.engines import summarize


def test_first_divergence_and_margin():
    import numpy as np

    assert first_divergence([1, 2, 3], [1, 2, 3]) is None
    assert first_divergence([1, 2, 3], [1, 5, 3]) == 1
    assert first_divergence([1, 2], [1, 2, 3]) == 2
    assert top2_margin(np.array([0.5, 2.0, 1.75, -3.0], dtype=np.float32)) == 0.25


def test_explain_compares_the_margin_where_outputs_part_with_the_batch_gap():
    plain, margins = [1, 2, 3, 4], [0.5, 0.3, 0.004, 0.2]
    d = explain(plain, margins, {"prompt_lookup": [1, 2, 9, 9], "draft": [1, 2, 3, 4]}, 0.04)
    assert d["first_divergent_token"] == {"prompt_lookup": 2}
    assert d["margin_at_divergence"] == {"prompt_lookup": 0.004}
    assert d["explained_by_batch_numerics"] is True
    # a divergence where plain was far from a tie is not numerics: a bug to look for
    d = explain(plain, margins, {"prompt_lookup": [9, 9, 9, 9]}, 0.04)
    assert d["explained_by_batch_numerics"] is False
    assert explain(plain, margins, {"draft": plain}, 0.04)["explained_by_batch_numerics"] is None


def _rows(lookup_text: str):
    llama = {
        "engine": "llamacpp",
        "dtype": "q8_0",
        "decode_tok_s": 16.0,
        "ttft_next_ms": 64.0,
        "outputs": {"plain": "abcd", "prompt_lookup": lookup_text},
        "tokens": {
            "plain": [1, 2, 3, 4],
            "prompt_lookup": [1, 2] + ([3, 4] if lookup_text == "abcd" else [7, 8]),
        },
        "plain_margins": [0.5, 0.3, 0.004, 0.2],
        "numerics": {"batch_logit_gap": {"max": 0.04, "by_position": [0.0, 0.04]}},
    }
    ref = {
        "engine": "reference",
        "dtype": "q8_0",
        "decode_tok_s": 16.5,
        "outputs": {"plain": "abcd"},
        "tokens": {"plain": [1, 2, 3, 4]},
        "self_identical": False,
        "self_first_diff": 3,
    }
    return [llama, ref]


def test_identical_stays_the_plain_truth_and_the_detail_explains_it():
    rows = _rows("abXY")
    s = summarize(rows, bandwidth=9.0)
    assert s["identical"] is False and "bars" not in s
    d = s["identical_detail"]["q8_0"]
    assert d["prompt_lookup"] is False and d["vs_reference"] is True
    assert d["batch_logit_gap"]["max"] == 0.04
    assert d["margin_at_divergence"] == {"prompt_lookup": 0.004}
    assert d["explained_by_batch_numerics"] is True
    assert d["reference_self_identical"] is False
    assert d["reference_cold_vs_warm_first_diff"] == 3
    assert d["plain_margin"]["min"] == 0.004
    # per row: one decode step, to read next-keystroke times against; the private parts gone
    assert rows[0]["decode_step_ms"] == 62.5 and rows[1]["decode_step_ms"] == 60.6
    assert not {"outputs", "tokens", "plain_margins", "numerics"} & set(rows[0])

    s = summarize(_rows("abcd"), bandwidth=9.0)
    assert s["identical"] is True
    assert s["identical_detail"]["q8_0"]["explained_by_batch_numerics"] is None


def test_ratios_are_medians_of_per_round_ratios_per_thread_count_oriented_tandem_faster_above_1():
    def row(engine, threads, rnd, decode, cold, nxt):
        return {
            "engine": engine, "dtype": "gguf", "threads": threads, "round": rnd,
            "decode_tok_s": decode, "ttft_cold_ms": cold, "ttft_next_ms": nxt,
            "outputs": {"plain": "x"}, "tokens": {"plain": [1]},
            **({"decode_tok_s_by_strategy": {"plain": decode, "prompt_lookup": decode / 2}}
               if engine == "llamacpp" else {}),
        }  # fmt: skip

    rows = [
        row("llamacpp", 1, 0, 40.0, 1000.0, 30.0),
        row("reference", 1, 0, 40.0, 1000.0, 30.0),
        row("llamacpp", 2, 0, 45.0, 500.0, 20.0),
        row("reference", 2, 0, 50.0, 400.0, 25.0),
        # round 2: the machine got busier for both, the per-round ratio holds
        row("reference", 2, 1, 25.0, 800.0, 50.0),
        row("llamacpp", 2, 1, 20.0, 1000.0, 40.0),
        row("llamacpp", 1, 1, 30.0, 900.0, 40.0),
        row("reference", 1, 1, 20.0, 1000.0, 40.0),
    ]
    s = summarize(rows, bandwidth=9.0)
    by_threads = {r["threads"]: r for r in s["ratios"]["llamacpp_vs_reference"]}
    assert by_threads[1]["decode_by_round"] == [1.0, 1.5] and by_threads[1]["decode"] == 1.25
    assert by_threads[2]["decode_by_round"] == [0.9, 0.8] and by_threads[2]["decode"] == 0.85
    # first-token times: the reference's ms over Tandem's, so above 1 is Tandem faster too
    assert by_threads[2]["ttft_cold_by_round"] == [0.8, 0.8]
    assert by_threads[2]["ttft_next_by_round"] == [1.25, 1.25] and by_threads[2]["rounds"] == 2
    assert s["ratios"]["prompt_lookup_vs_plain"] == [
        {"dtype": "gguf", "threads": 1, "decode": 0.5},
        {"dtype": "gguf", "threads": 2, "decode": 0.5},
    ]
    # one row per engine and thread count: medians over the rounds, each round kept
    assert len(rows) == 4
    lc2 = next(r for r in rows if r["engine"] == "llamacpp" and r["threads"] == 2)
    assert lc2["decode_tok_s"] == 32.5 and lc2["decode_tok_s_by_round"] == [45.0, 20.0]
    assert lc2["rounds"] == 2 and "round" not in lc2 and "outputs" not in lc2
    assert s["identical"] is True
