"""bench spec's arithmetic: paired per-round ratios, identity against plain, acceptance."""

from __future__ import annotations

from bench.spec import _summary


def _run(seconds: float, text: str = "x", strategy: str = "plain", drafted=0, accepted=0):
    return {
        "text": text,
        "seconds": seconds,
        "tokens": 10,
        "strategy": strategy,
        "drafted": drafted,
        "accepted": accepted,
        "forward_passes": 5 if drafted else 10,
    }


def test_ratios_pair_runs_of_the_same_round():
    # the machine slows down 2x in round 2 for everyone: paired ratios stay exactly 2.0
    plain = [_run(1.0), _run(2.0), _run(1.0)]
    fast = [_run(s, strategy="prompt_lookup", drafted=8, accepted=6) for s in (0.5, 1.0, 0.5)]
    out = _summary(fast, plain, "x")
    assert out["ratio_vs_plain"] == 2.0
    assert out["acceptance_rate"] == 0.75
    assert out["tokens_per_forward_pass"] == 2.0
    assert out["identical"] is True


def test_a_different_output_is_reported_not_identical():
    plain = [_run(1.0), _run(1.0)]
    out = _summary([_run(1.0, "y"), _run(1.0)], plain, "x")
    assert out["identical"] is False and out["ratio_vs_plain"] == 1.0
