"""Pure pieces of the inference layer: strategy selection, lookup proposals, stop handling."""

import random

from inference.local.lookup import propose_from_lookup
from inference.local.strategy import StrategySelector
from inference.lookup_shadow import draft_tokens_per_pass
from inference.stop import StopTextStream


def test_selector_measures_lookup_first_for_edits_and_plain_first_for_completions():
    """Measuring a slow strategy is a slow answer: edits (which copy their input) try prompt
    lookup first, completions plain decoding."""
    s = StrategySelector(has_draft=True)
    assert s.choose("edit") == "prompt_lookup"
    assert s.choose("fim") == "plain"
    assert StrategySelector(has_draft=False).choose("fim") == "plain"


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
    picks = [s.choose("edit") for _ in range(9)]
    assert picks.count("prompt_lookup") == 7 and picks.count("plain") == 2  # at 4 and 8


def test_selector_re_measures_a_losing_strategy_less_and_less_often():
    s = StrategySelector(has_draft=False, explore_every=8)
    for _ in range(3):
        s.record("edit", "prompt_lookup", ms=30, tokens=30)
        s.record("edit", "plain", ms=90, tokens=30)
    picks = [s.choose("edit") for _ in range(256)]
    explored = [i for i, c in enumerate(picks) if c == "plain"]
    assert explored == [8, 16, 32, 64, 128, 192]  # gaps 8, 16, 32, 64, 64


def test_selector_gaps_start_over_when_the_best_strategy_changes():
    s = StrategySelector(has_draft=False, explore_every=4)

    def lookup_costs(ms: float) -> None:
        for _ in range(10):
            s.record("edit", "prompt_lookup", ms=ms, tokens=30)
            s.record("edit", "plain", ms=90, tokens=30)

    lookup_costs(30)
    picks = [s.choose("edit") for _ in range(40)]  # plain re-measured at 4, 8, 16, 32; next 64
    assert [i for i, c in enumerate(picks) if c == "plain"] == [4, 8, 16, 32]
    lookup_costs(300)  # the workload changed: plain is best now
    assert [s.choose("edit") for _ in range(4)].count("plain") >= 3
    lookup_costs(30)  # and back: plain's gap starts over instead of waiting for request 60
    assert "plain" in [s.choose("edit") for _ in range(8)]


def test_lookup_proposes_continuation_of_latest_match():
    corpus = [1, 2, 3, 4, 9, 1, 2, 3, 5, 6]
    assert propose_from_lookup([7, 2, 3], corpus, 2) == [5, 6]
    assert propose_from_lookup([8], corpus, 3) == []


def _scan_reference(tokens, corpus, num_tokens, max_ngram=4):
    """The lookup's definition, as a plain scan (what the byte search must reproduce)."""
    for n in range(min(max_ngram, len(tokens)), 0, -1):
        best: list[int] = []
        for start in range(len(corpus) - n - 1, -1, -1):
            if corpus[start : start + n] == tokens[-n:]:
                follow = corpus[start + n : start + n + num_tokens]
                if len(follow) > len(best):
                    best = follow
                    if len(best) == num_tokens:
                        break
        if best:
            return best
    return []


def test_lookup_byte_search_matches_the_scan_on_random_sequences():
    rng = random.Random(11)
    for _ in range(4000):
        vocab = rng.choice([2, 3, 50, 1 << 40])  # big ids: byte matches across token bounds
        corpus = [rng.randrange(vocab) for _ in range(rng.randint(0, 40))]
        if corpus and rng.random() < 0.6:
            tokens = corpus[: rng.randint(1, len(corpus))]
        else:
            tokens = [rng.randrange(vocab) for _ in range(rng.randint(0, 5))]
        k = rng.randint(0, 9)
        assert propose_from_lookup(tokens, corpus, k) == _scan_reference(tokens, corpus, k)
    # a byte-level match that straddles two tokens is no match
    assert propose_from_lookup([1], [1 << 56, 0, 5], 1) == []  # 01 00.. sits across the two


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


def test_selector_measures_plain_then_a_promising_lookup_and_explores_the_draft_later():
    s = StrategySelector(has_draft=True, explore_every=8)
    picks = []
    for i in range(9):
        c = s.choose("fim")
        picks.append(c)
        s.record("fim", c, ms=50, tokens=10)
        if i == 0:  # the first run, replayed: lookup would have made 2.5 tokens per pass
            s.note_lookup_replay("fim", 2.5)
    assert picks[:2] == ["plain", "prompt_lookup"]  # measured early: the replay promised it
    assert "draft" not in picks[:8] and picks[8] == "draft"  # the first exploration round


def test_a_lookup_the_replays_do_not_favour_is_never_measured():
    """Completions where nothing repeats: replays show ~1 token per pass, so prompt lookup is
    never run for real (every run of it would have been a slower answer), the draft is tried
    only at exploration rounds, and plain answers the rest."""
    s = StrategySelector(has_draft=True, explore_every=8)
    cost = {"plain": 5.0, "prompt_lookup": 5.5, "draft": 6.0}
    picks = []
    for _ in range(100):
        c = s.choose("fim")
        picks.append(c)
        s.record("fim", c, ms=cost[c] * 20, tokens=20)
        if c != "prompt_lookup":
            s.note_lookup_replay("fim", 1.02)
    assert "prompt_lookup" not in picks
    assert picks.count("plain") >= 95 and picks.count("draft") <= 5, picks


def test_a_stream_of_one_token_completions_never_locks_onto_the_slower_draft():
    """Issue 15: `record` ignored runs under 4 tokens, and `choose` handed out any candidate
    with fewer than 2 samples, so one-token FIM answers picked the draft 50 times out of 50.
    Now every run counts, as the engine charges it: the strategy-only cost (decode after the
    first token plus the draft's own prefill) per token produced."""
    s = StrategySelector(has_draft=True, explore_every=8)
    cost = {"plain": 0.4, "prompt_lookup": 0.5, "draft": 6.0}  # ms beyond the shared prefill
    picks = []
    for _ in range(200):
        c = s.choose("fim")
        picks.append(c)
        s.record("fim", c, ms=cost[c], tokens=1)
    late = picks[20:]
    assert late.count("plain") >= 0.8 * len(late), picks
    assert late.count("draft") <= 0.1 * len(late)


def test_cancelled_runs_count_and_an_unmeasurable_strategy_is_not_chosen_forever():
    """Runs cancelled before their first token report nothing (the engine has nothing to
    charge); the selector moves on after a few tries instead of handing the same unmeasured
    candidate out for ever, and without a measurement of plain it answers plain."""
    s = StrategySelector(has_draft=True, explore_every=8)
    picks = [s.choose("fim") for _ in range(40)]  # nothing is ever recorded
    assert picks[:4] == ["plain"] * 4  # never measured: tried measure_tries times, then not
    assert picks.count("draft") <= 4  # exploration hands it out now and then, not for ever
    assert picks[20:].count("plain") >= 15
    # cancelled after a few tokens still counts: draft charged its prefill over 2 tokens
    s2 = StrategySelector(has_draft=True, explore_every=100)
    for _ in range(10):
        c = s2.choose("fim")
        s2.record("fim", c, ms={"draft": 9.0, "prompt_lookup": 2.0, "plain": 2.0}[c], tokens=2)
    assert [s2.choose("fim") for _ in range(10)].count("draft") == 0


def test_reset_forgets_what_was_learned():
    s = StrategySelector(has_draft=False)
    for _ in range(6):
        c = s.choose("edit")
        s.record("edit", c, ms=10, tokens=10)
    s.reset()
    assert s.snapshot() == {} and s.choose("edit") == "prompt_lookup"


def test_lookup_replay_counts_the_tokens_a_verification_pass_would_accept():
    from inference.lookup_shadow import lookup_tokens_per_pass

    prompt = list(range(100, 160))
    assert lookup_tokens_per_pass(prompt, list(range(1, 30))) == 1.0  # nothing repeats
    copied = list(range(120, 150))  # the output copies a stretch of the prompt
    tpp = lookup_tokens_per_pass(prompt[:121] + [7] + prompt[121:], copied)
    assert tpp >= 4.0, tpp  # whole drafts accepted after the first token
    assert lookup_tokens_per_pass(prompt, []) == 1.0


def test_lookup_replay_backs_off_like_the_decoders():
    """Early outright rejections pause drafting (1, 3, 7, 15 steps) in the real loop; the replay
    runs the same step, so a copy that comes after many misses is partly missed there too."""
    from inference.lookup_shadow import lookup_tokens_per_pass

    prompt = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] * 3
    # no output token is the one the prompt has after the previous: every draft is rejected
    misses = [7, 3, 9, 5, 1, 8, 4, 10, 6, 2]
    copy = [3, 4, 5, 6, 7, 8, 9, 10] * 2
    with_backoff = lookup_tokens_per_pass(prompt, misses + copy)
    assert lookup_tokens_per_pass(prompt, misses) == 1.0
    assert 1.0 < with_backoff < lookup_tokens_per_pass(prompt, copy)
    # without the back-off the copy would take 4 passes after the 10 misses: 26 / 14 = 1.86
    assert with_backoff < 1.8, with_backoff


def test_replays_thin_out_once_the_selector_has_a_few():
    """A replay costs milliseconds of CPU: every finished completion is replayed at first, then
    one in `explore_every`, enough to follow a workload that starts repeating itself."""
    s = StrategySelector(has_draft=False, explore_every=8)
    wanted = []
    for _ in range(40):
        c = s.choose("fim")
        s.record("fim", c, ms=50, tokens=10)
        w = s.wants_lookup_replay("fim", c)
        wanted.append(w)
        if w:
            s.note_lookup_replay("fim", 1.0)
    assert wanted[:3] == [True, True, True]
    assert 3 <= sum(wanted[3:]) <= 6  # one in 8 after the first three
    assert not s.wants_lookup_replay("edit", "plain")  # edits measure lookup for real
    assert not s.wants_lookup_replay("fim", "prompt_lookup")


def test_draft_replay_counts_passes_like_the_decoder():
    out = list(range(100, 120))
    assert draft_tokens_per_pass([False] * 20, out) == 1.0  # nothing accepted: a token a pass
    assert draft_tokens_per_pass([True] * 20, out) > 4  # 8 (then more) drafted and accepted
    some = draft_tokens_per_pass([j % 4 != 3 for j in range(20)], out)  # 3 of 4 picks right
    assert 1.0 < some < draft_tokens_per_pass([True] * 20, out)


def test_a_draft_the_replays_do_not_favour_is_never_run():
    """Where plain is best and the draft's replays are poor, `auto` is plain on every request:
    the draft's exploration round is skipped (no slow measuring answer)."""
    s = StrategySelector(has_draft=True)
    picks = []
    for _ in range(64):
        c = s.choose("fim")
        picks.append(c)
        s.note_draft_replay("fim", 1.1)
        s.note_lookup_replay("fim", 1.0)
        s.record("fim", c, 10.0 if c == "plain" else 20.0, 10)
    assert set(picks) == {"plain"}


def test_a_draft_the_replays_favour_is_measured_at_once():
    s = StrategySelector(has_draft=True)
    assert s.choose("fim") == "plain"
    s.record("fim", "plain", 10.0, 10)
    s.note_draft_replay("fim", 3.0)
    assert s.choose("fim") == "draft"  # measured now, not at the exploration round
    s.record("fim", "draft", 5.0, 10)
    assert [s.choose("fim") for _ in range(3)] == ["draft"] * 3


def _copying_run() -> tuple[list[int], list[int]]:
    """A prompt and an output that copies a stretch of it: lookup accepts whole drafts."""
    prompt = list(range(100, 160))
    return prompt[:121] + [7] + prompt[121:], list(range(120, 150))


def test_a_replay_weighs_each_pass_by_its_measured_cost():
    from inference.lookup_shadow import lookup_pass_widths, lookup_tokens_per_pass

    prompt, output = _copying_run()
    widths = lookup_pass_widths(prompt, output)
    assert len(output) / len(widths) == lookup_tokens_per_pass(prompt, output) >= 4.0
    # nothing to draft before the copy starts, then a draft of 8, growing while accepted
    assert widths == [1, 9, 11, 9]
    s = StrategySelector()
    assert [s.pass_cost(w) for w in (1, 9)] == [1.0, 1.0]  # unmeasured: passes count alike
    s.verify_slope = 0.5  # a 9-wide pass costs 5 one-token steps
    assert s.pass_cost(1) == 1.0 and s.pass_cost(9) == 5.0


def _replay_picks(slope: float | None, measured: list[int]) -> list[str]:
    """Completions whose output copies the prompt, replayed after every plain answer by a
    `LookupReplayer` (run inline) whose engine measures `slope`; what `auto` picks."""
    from inference.lookup_shadow import LookupReplayer, lookup_pass_widths

    s = StrategySelector(explore_every=8)

    def measure(width: int) -> float:
        measured.append(width)
        return slope

    replayer = LookupReplayer(s, 8, measure_verify_slope=None if slope is None else measure)
    prompt, output = _copying_run()
    widths = lookup_pass_widths(prompt, output)
    picks = []
    # a plain token costs one step of 10 ms; a lookup run pays for its passes (at the true
    # slope, whatever the engine measured)
    true_slope = slope or 0.0
    lookup_ms = sum(1.0 + true_slope * (w - 1) for w in widths) * 10.0
    try:
        for _ in range(48):
            c = s.choose("fim")
            picks.append(c)
            if c == "plain":
                s.record("fim", c, ms=len(output) * 10.0, tokens=len(output))
                replayer._replay("fim", c, prompt, output)
            else:
                s.record("fim", c, ms=lookup_ms, tokens=len(output))
    finally:
        replayer.close()
    return picks


def test_lookup_is_never_picked_for_completions_where_its_wide_passes_make_it_slower():
    """Gemma 3 270M: a verify pass of 9 positions costs ~5 one-token steps (its output layer is
    most of the model). The replay promises 4+ tokens per pass, but weighed by the measured
    cost (once, the first time lookup looks promising) lookup would be slower than plain: it is
    never run. Where the engine measures wide passes as cheap, the same replays put it to use."""
    measured: list[int] = []
    picks = _replay_picks(slope=0.9, measured=measured)
    assert measured == [9]  # measured once, for the decoder's draft length + 1
    assert set(picks) == {"plain"}
    measured = []
    picks = _replay_picks(slope=0.02, measured=measured)
    assert measured == [9] and picks[1] == "prompt_lookup"
    assert picks[2:].count("prompt_lookup") >= 40
    # an engine that measures nothing (transformers) keeps counting passes alike
    assert _replay_picks(slope=None, measured=[])[1] == "prompt_lookup"
