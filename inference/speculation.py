"""The verify/accept/back-off step of Tandem's speculative loop, shared by every engine.

Both in-process engines (`inference.local.decoding` on transformers, `inference.llamacpp.decoding`
on llama.cpp) run the same loop: draft up to `k` tokens (n-gram prompt lookup or a draft model),
feed them to the target in one forward pass, accept the longest drafted prefix the target's own
picks agree with, append the target's next token, and roll the KV back past the rejected
positions. This module is that step without any model or tensor, so the rules are written (and
tested) once:

* acceptance: `accepted` is the longest prefix of `drafted` equal to `picks`; the target's pick
  after it is appended, so under greedy decoding the output is the target's own argmax chain
  whatever was drafted;
* adaptive length: a fully accepted draft grows `k` by 2 (to `k_max`), anything less shrinks
  it by 1 (to 2);
* back-off: after drafts are rejected outright several times in a row, decode plainly for a
  while (1, 3, 7, 15 steps): a proposal that never matches costs a wider forward pass (and, for
  a draft model, its own passes) for nothing;
* cuts: the new tokens stop before an end-of-generation token and at the token budget, and the
  step says how many of them the KV now holds validly.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

#: The longest back-off, in plain steps.
MAX_PAUSE = 15
#: The shortest draft once speculation adapts down.
MIN_K = 2


@dataclass(frozen=True)
class SpeculationState:
    """How long the next draft may be, and the back-off after outright rejections."""

    k: int
    k_max: int
    #: Drafts rejected outright in a row.
    misses: int = 0
    #: Plain steps left before drafting again.
    pause: int = 0


def draft_length(state: SpeculationState, budget: int) -> tuple[int, SpeculationState]:
    """How many tokens to draft this step (0: decode plainly), and the state after.

    `budget` is the tokens still allowed; one of them is always the target's own pick, so a
    draft never exceeds `budget - 1`. A paused state spends one step of its pause instead."""
    if state.pause > 0:
        return 0, replace(state, pause=state.pause - 1)
    return max(0, min(state.k, budget - 1)), state


@dataclass(frozen=True)
class Verified:
    """The outcome of one verify step."""

    #: Tokens to append to the sequence: the accepted drafts and the target's own pick, cut
    #: before an end-of-generation token and at the budget.
    tokens: list[int]
    #: Drafted tokens the target agreed with (before the cuts; for the acceptance stats).
    accepted: int
    #: An end-of-generation token was picked: the generation is over.
    stopped: bool
    #: How many of `tokens` the KV now holds validly: the next step feeds the rest. Unless the
    #: generation stopped, the last new token is always left to feed, since its logits give the
    #: next pick.
    kv_valid: int
    state: SpeculationState


def verify(
    drafted: Sequence[int],
    picks: Sequence[int],
    state: SpeculationState,
    *,
    budget: int,
    eos_ids: Collection[int],
) -> Verified:
    """One verify step: `picks[i]` is the target's pick at the position that predicts
    `drafted[i]`, and `picks[len(drafted)]` the one after the last draft (the bonus token), so
    `len(picks) == len(drafted) + 1`. The target's forward pass fed the unfed tail of the
    sequence plus every drafted token, so its KV holds all of them until the caller rolls it
    back to `kv_valid` new tokens."""
    if len(picks) != len(drafted) + 1:
        raise ValueError(
            f"{len(drafted)} drafted tokens need {len(drafted) + 1} picks, got {len(picks)}"
        )
    if budget < 1:
        raise ValueError(f"budget must be >= 1, got {budget}")
    n_acc = 0
    while n_acc < len(drafted) and picks[n_acc] == drafted[n_acc]:
        n_acc += 1
    tokens = list(drafted[:n_acc]) + [picks[n_acc]]
    if drafted:
        k = min(state.k_max, state.k + 2) if n_acc == len(drafted) else max(MIN_K, state.k - 1)
        misses = 0 if n_acc else state.misses + 1
        pause = min(MAX_PAUSE, 2 ** (misses - 1) - 1) if misses else 0
        state = replace(state, k=k, misses=misses, pause=pause)
    stopped = False
    for j, tok in enumerate(tokens):
        if tok in eos_ids:
            tokens = tokens[:j]
            stopped = True
            break
    tokens = tokens[:budget]
    # the KV holds the accepted drafts that survived the cuts (the bonus token was never fed)
    valid = min(n_acc, len(tokens))
    if not stopped:
        valid = min(valid, len(tokens) - 1)
    return Verified(tokens=tokens, accepted=n_acc, stopped=stopped, kv_valid=valid, state=state)
