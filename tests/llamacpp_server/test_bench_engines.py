"""`tandem bench engines` end to end on the session's tiny model: every row runs in its own
process on the same weights, and the greedy outputs it calls identical really are.

No timing assertions: only that each row measured something and the report adds up.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")


def test_engines_bench_reports_rows_ratios_and_identical_outputs(
    tiny_model_dir, tiny_draft_dir, tmp_path
):
    from bench.engines import main
    from testing.gguf_models import hf_llama_to_gguf

    gguf_dir = tmp_path / "gguf"
    hf_llama_to_gguf(tiny_model_dir, gguf_dir / "model-f16.gguf", dtype="f16")
    draft = hf_llama_to_gguf(tiny_draft_dir, tmp_path / "draft.gguf", dtype="f16")
    out = tmp_path / "report.json"
    rc = main(
        [
            "--model-dir", str(tiny_model_dir),
            "--gguf-dir", str(gguf_dir),
            "--engines", "transformers:fp32,llamacpp:f16,reference:f16",
            "--prompt-tokens", "150",
            "--tokens", "12",
            "--threads", "1",
            "--draft", str(draft),
            "--row-timeout", "300",
            "--json",
            "--out", str(out),
        ]
    )  # fmt: skip
    assert rc == 0
    report = json.loads(out.read_text())
    rows = {(r["engine"], r["dtype"]): r for r in report["rows"]}
    assert set(rows) == {("transformers", "fp32"), ("llamacpp", "f16"), ("reference", "f16")}
    for row in rows.values():
        assert "error" not in row, row
        for key in ("decode_tok_s", "ttft_cold_ms", "ttft_next_ms", "peak_rss_mb"):
            assert row[key] > 0, (key, row)
        assert row["generated_tokens"] == 12
        assert row["bandwidth_limit_tok_s"] > 0
    # each worker reports its own peak, not the parent's (ru_maxrss would carry it over)
    assert rows[("llamacpp", "f16")]["peak_rss_mb"] != rows[("reference", "f16")]["peak_rss_mb"]
    assert report["memory_bandwidth"]["copy_gb_s"] > 0

    detail = report["identical_detail"]["f16"]
    checks = {k: detail[k] for k in ("prompt_lookup", "draft", "vs_reference")}
    assert checks == {"prompt_lookup": True, "draft": True, "vs_reference": True}
    assert report["identical"] is True
    # the diagnosis next to the plain truth: this GGUF's batch numerics, nothing parted, the
    # reference identical to itself cold and with its prefix cached
    gap = detail["batch_logit_gap"]
    # the last prompt token and the plain output (12 tokens here; a verify-sized 17 at most)
    assert gap["batch"] == 13 and len(gap["by_position"]) == 13
    assert 0 <= gap["max"] < 0.1
    assert detail["plain_margin"]["steps"] == 12 and detail["plain_margin"]["min"] >= 0
    assert detail["margin_at_divergence"] == {} and detail["explained_by_batch_numerics"] is None
    assert detail["reference_self_identical"] is True
    for row in rows.values():
        assert row["decode_step_ms"] == round(1000 / row["decode_tok_s"], 1)
    assert rows[("llamacpp", "f16")]["decode_tok_s_by_strategy"].keys() == {
        "plain",
        "prompt_lookup",
        "draft",
    }
    ratios = report["ratios"]
    (vs_ref,) = ratios["llamacpp_vs_reference"]
    assert vs_ref["dtype"] == "f16" and vs_ref["threads"] == 1 and vs_ref["rounds"] == 1
    for key in ("decode", "ttft_cold", "ttft_next"):
        assert vs_ref[key] > 0 and vs_ref[f"{key}_by_round"] == [vs_ref[key]]
    assert ratios["llamacpp_vs_transformers"] > 0
    assert ratios["prompt_lookup_vs_plain"][0]["decode"] > 0
    assert "bars" not in report  # the measured ratios, not flags for fixed goals


def test_engines_bench_on_one_gguf_alone_reads_its_tokenizer_from_the_file(
    tiny_model_dir, tmp_path
):
    """`--gguf FILE` with no Hugging Face folder at all: the prompt is measured with the GGUF's
    own tokenizer; every row runs at each thread count, each round."""
    from bench.engines import main
    from testing.gguf_models import hf_llama_to_gguf

    gguf = hf_llama_to_gguf(tiny_model_dir, tmp_path / "only.gguf", dtype="f16")
    out = tmp_path / "report.json"
    rc = main(
        [
            "--gguf", str(gguf),
            "--model-dir", str(tmp_path / "no-such-dir"),
            "--prompt-tokens", "120", "--tokens", "8",
            "--threads", "1,2", "--repeats", "1",
            "--row-timeout", "300", "--json", "--out", str(out),
        ]
    )  # fmt: skip
    assert rc == 0
    report = json.loads(out.read_text())
    assert report["gguf"] == str(gguf) and report["threads"] == [1, 2]
    rows = {(r["engine"], r["threads"]): r for r in report["rows"]}
    assert set(rows) == {("llamacpp", 1), ("reference", 1), ("llamacpp", 2), ("reference", 2)}
    for row in rows.values():
        assert "error" not in row, row
        assert row["dtype"] == "gguf" and row["decode_tok_s"] > 0
    assert [r["threads"] for r in report["ratios"]["llamacpp_vs_reference"]] == [1, 2]
    assert report["identical"] is True
    assert set(report["load_average"]) == {"before", "after"}
