"""Pure pieces of the inference layer: strategy selection, lookup proposals, stop handling."""

from inference.local.lookup import propose_from_lookup
from inference.local.strategy import StrategySelector
from inference.stop import StopTextStream


def test_selector_prefers_lookup_for_edits_and_draft_for_fim():
    s = StrategySelector(has_draft=True)
    assert s.choose("edit") == "prompt_lookup"
    assert s.choose("fim") == "draft"
    assert StrategySelector(has_draft=False).choose("fim") == "prompt_lookup"


def test_selector_abandons_a_strategy_slower_than_plain():
    s = StrategySelector(has_draft=True, explore_every=100)
    for _ in range(3):
        s.record("fim", "draft", ms=200, tokens=20)  # 10 ms/token
        s.record("fim", "prompt_lookup", ms=120, tokens=20)  # 6 ms/token
        s.record("fim", "plain", ms=100, tokens=20)  # 5 ms/token
    picks = [s.choose("fim") for _ in range(10)]
    assert picks.count("plain") >= 9


def test_selector_keeps_a_faster_strategy_and_re_explores_plain():
    s = StrategySelector(has_draft=False, explore_every=4)
    for _ in range(3):
        s.record("edit", "prompt_lookup", ms=30, tokens=30)
        s.record("edit", "plain", ms=90, tokens=30)
    picks = [s.choose("edit") for _ in range(8)]
    assert picks.count("prompt_lookup") == 6 and picks.count("plain") == 2


def test_selector_re_measures_a_losing_strategy_less_and_less_often():
    s = StrategySelector(has_draft=False, explore_every=8)
    for _ in range(3):
        s.record("edit", "prompt_lookup", ms=30, tokens=30)
        s.record("edit", "plain", ms=90, tokens=30)
    picks = [s.choose("edit") for _ in range(256)]
    explored = [i for i, c in enumerate(picks) if c == "plain"]
    assert explored == [0, 8, 24, 56, 120, 184, 248]  # gaps 8, 16, 32, 64, 64, 64


def test_selector_gaps_start_over_when_the_best_strategy_changes():
    s = StrategySelector(has_draft=False, explore_every=4)

    def lookup_costs(ms: float) -> None:
        for _ in range(10):
            s.record("edit", "prompt_lookup", ms=ms, tokens=30)
            s.record("edit", "plain", ms=90, tokens=30)

    lookup_costs(30)
    picks = [s.choose("edit") for _ in range(40)]  # plain re-measured at 0, 4, 12, 28; next 60
    assert [i for i, c in enumerate(picks) if c == "plain"] == [0, 4, 12, 28]
    lookup_costs(300)  # the workload changed: plain is best now
    assert [s.choose("edit") for _ in range(4)].count("plain") >= 3
    lookup_costs(30)  # and back: plain's gap starts over instead of waiting for request 60
    assert "plain" in [s.choose("edit") for _ in range(8)]


def test_lookup_proposes_continuation_of_latest_match():
    corpus = [1, 2, 3, 4, 9, 1, 2, 3, 5, 6]
    assert propose_from_lookup([7, 2, 3], corpus, 2) == [5, 6]
    assert propose_from_lookup([8], corpus, 3) == []


def test_stop_stream_holds_back_partial_stop_and_cuts():
    s = StopTextStream(["\ndef "])
    assert s.update("return x\n") == "return x"
    assert s.update("return x\nde") == ""
    assert s.update("return x\ndef f") == ""
    assert s.stopped and s.text == "return x"


def test_stop_stream_waits_for_complete_characters():
    s = StopTextStream([])
    assert s.update("ab\ufffd") == "ab"
    assert s.update("abé") == "é"
    assert s.flush() == ""


def test_lookup_skips_a_recent_match_too_short_for_a_full_draft():
    from inference.local.lookup import propose_from_lookup

    seq = [7, 8, 9] * 5
    # the latest match of (8, 9) is followed by one token only; an older one gives a full draft
    assert propose_from_lookup(seq, seq, 4, max_ngram=2) == [7, 8, 9, 7]
    assert propose_from_lookup([1, 2], [5, 1, 2, 3, 1, 2, 4, 6], 2) == [4, 6]  # most recent wins
    assert propose_from_lookup([1, 2], [1, 2, 3, 4, 1, 2, 5], 3) == [3, 4, 1]  # fuller one wins
    assert propose_from_lookup([42], [1, 2, 3], 3) == []


def test_selector_falls_back_from_a_slow_draft_to_prompt_lookup_not_just_plain():
    s = StrategySelector(has_draft=True, explore_every=100)
    for _ in range(3):
        s.record("fim", "draft", ms=200, tokens=20)  # 10 ms/token: slower than plain
        s.record("fim", "prompt_lookup", ms=60, tokens=20)  # 3 ms/token
        s.record("fim", "plain", ms=100, tokens=20)  # 5 ms/token
    picks = [s.choose("fim") for _ in range(10)]
    assert picks.count("prompt_lookup") >= 9 and "draft" not in picks[1:]


def test_selector_measures_each_candidate_before_choosing():
    s = StrategySelector(has_draft=True)
    first = []
    for _ in range(6):
        c = s.choose("fim")
        first.append(c)
        s.record("fim", c, ms=50, tokens=10)
    assert first == ["draft", "draft", "prompt_lookup", "prompt_lookup", "plain", "plain"]
