"""The shared verify/accept/back-off step (`inference.speculation`), as pure logic: which drafted
tokens are accepted, how the draft length adapts, when drafting pauses, and how EOS and the
token budget cut a step and the KV it keeps."""

from __future__ import annotations

import pytest

from inference.speculation import MAX_PAUSE, SpeculationState, Verified, draft_length, verify

EOS = {0}


def _verify(drafted, picks, state=None, budget=100) -> Verified:
    return verify(
        drafted, picks, state or SpeculationState(k=8, k_max=16), budget=budget, eos_ids=EOS
    )


def test_a_fully_accepted_draft_keeps_every_token_plus_the_targets_own_and_grows_k():
    step = _verify([5, 6, 7], [5, 6, 7, 9])
    assert step.tokens == [5, 6, 7, 9]
    assert step.accepted == 3 and not step.stopped
    # the bonus token 9 was never fed: the next step feeds it, the KV keeps the three drafts
    assert step.kv_valid == 3
    assert step.state == SpeculationState(k=10, k_max=16)


def test_the_first_disagreement_ends_acceptance_and_the_target_pick_replaces_the_draft():
    step = _verify([5, 6, 7, 8], [5, 4, 7, 8, 9])  # agrees again after the miss: irrelevant
    assert step.tokens == [5, 4]
    assert step.accepted == 1 and step.kv_valid == 1
    assert step.state.k == 7 and step.state.misses == 0 and step.state.pause == 0


def test_without_a_draft_the_step_is_plain_decoding_and_leaves_the_state_alone():
    state = SpeculationState(k=4, k_max=16, misses=2, pause=0)
    step = _verify([], [42], state)
    assert step.tokens == [42] and step.accepted == 0 and step.kv_valid == 0
    assert step.state == state


def test_k_stays_within_its_bounds():
    assert _verify([1], [1, 2], SpeculationState(k=16, k_max=16)).state.k == 16
    assert _verify([1], [3, 2], SpeculationState(k=2, k_max=16)).state.k == 2


def test_outright_rejections_in_a_row_pause_drafting_1_3_7_15_steps():
    state = SpeculationState(k=8, k_max=16)
    pauses = []
    for _ in range(6):
        step = _verify([1, 2], [3, 4, 5], state)
        state = step.state
        pauses.append(state.pause)
        # spend the pause: each paused step drafts nothing
        for left in range(state.pause, 0, -1):
            n, state = draft_length(state, budget=100)
            assert n == 0 and state.pause == left - 1
    assert pauses == [0, 1, 3, 7, MAX_PAUSE, MAX_PAUSE]
    # one accepted token resets the back-off
    state = _verify([1, 2], [1, 4, 5], state).state
    assert state.misses == 0 and state.pause == 0


def test_draft_length_leaves_room_for_the_targets_own_token():
    state = SpeculationState(k=8, k_max=16)
    assert draft_length(state, budget=100) == (8, state)
    assert draft_length(state, budget=4) == (3, state)
    assert draft_length(state, budget=1) == (0, state)


def test_an_eos_pick_stops_the_generation_and_keeps_the_kv_of_every_token_before_it():
    step = _verify([5, 6, 7], [5, 0, 7, 9])  # the target picks EOS instead of 6
    assert step.tokens == [5] and step.stopped
    assert step.kv_valid == 1  # nothing left to feed: the generation is over
    accepted_eos = _verify([5, 0, 7], [5, 0, 7, 9])  # EOS drafted and accepted
    assert accepted_eos.tokens == [5] and accepted_eos.stopped and accepted_eos.accepted == 3
    assert accepted_eos.kv_valid == 1
    first = _verify([], [0])
    assert first.tokens == [] and first.stopped and first.kv_valid == 0


def test_the_budget_cuts_the_new_tokens_and_the_last_one_is_left_to_feed():
    step = _verify([5, 6, 7, 8], [5, 6, 7, 8, 9], budget=3)
    assert step.tokens == [5, 6, 7]
    assert step.accepted == 4 and not step.stopped
    assert step.kv_valid == 2


def test_greedy_chain_is_the_targets_own_whatever_is_drafted():
    """Property: feeding random drafts against a fixed target chain reproduces the chain."""
    import random

    rng = random.Random(7)
    chain = [rng.randrange(1, 6) for _ in range(300)]
    out: list[int] = []
    state = SpeculationState(k=4, k_max=32)
    while len(out) < len(chain):
        budget = len(chain) - len(out)
        n, state = draft_length(state, budget)
        pos = len(out)
        # a drafter that is right for a while, then guesses
        drafted = [chain[pos + i] if rng.random() < 0.7 else rng.randrange(1, 6) for i in range(n)]
        picks = [chain[pos + i] for i in range(n + 1)]  # the target's pick at each position
        step = verify(drafted, picks, state, budget=budget, eos_ids=EOS)
        state = step.state
        out.extend(step.tokens)
    assert out == chain


def test_mismatched_picks_are_a_clear_error():
    with pytest.raises(ValueError, match="picks"):
        _verify([1, 2], [1, 2])
    with pytest.raises(ValueError, match="budget"):
        _verify([], [1], budget=0)
