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
    assert s["identical"] is False and s["bars"]["identical"] is False
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
