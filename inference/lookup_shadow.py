"""What prompt lookup would have done on a run that did not use it, for free.

The strategy selector must not pay for its knowledge with slow answers: measuring prompt lookup
for real on a workload where nothing repeats costs the user a slower suggestion (0.92x of plain
on the demo model). But whether lookup *would* have helped can be read off any finished run: the
prompt and the output are known, so replaying the lookup proposals against the actual output
says how many tokens each verification pass would have accepted. Greedy verification accepts
exactly the drafted tokens that match the output, so this replay is what lookup would have got
(it leaves out the other open documents, so it errs low). Only a workload whose replay shows
enough tokens per pass gets a real measurement.

Tokens per pass is not speed where a wide pass costs more than a one-token step. On Gemma 3
270M a pass verifying 8 drafts costs several one-token steps: its 262,144-word output layer is
most of the model, and it is computed for every verified position; prompt lookup decoded at
about half of plain's speed there. So a replay is scored in *one-token steps*: each replayed
pass of width w (drafts + the target's own token) costs `selector.pass_cost(w)`, which the
engine measures once on its own context (`measure_verify_slope`), and the score is the tokens
over the summed costs: the speed-up lookup would have made over plain decoding.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from inference.local.lookup import pack, propose_packed
from inference.speculation import SpeculationState, draft_length, verify

if TYPE_CHECKING:
    from inference.base import TaskKind
    from inference.local.strategy import StrategySelector

log = logging.getLogger(__name__)

#: Prompt tokens a replay looks back over (the lookup scan is linear in them; the end of the
#: prompt, nearest the cursor, is where a completion's repeats come from).
REPLAY_CONTEXT = 4096


def lookup_tokens_per_pass(
    prompt: list[int], output: list[int], num_speculative: int = 8, k_max: int = 32
) -> float:
    """Tokens per target pass prompt lookup would have made producing `output` (1.0: nothing
    drafted would have been accepted; plain decoding makes one token per pass)."""
    if not output:
        return 1.0
    return len(output) / len(lookup_pass_widths(prompt, output, num_speculative, k_max))


def lookup_pass_widths(
    prompt: list[int], output: list[int], num_speculative: int = 8, k_max: int = 32
) -> list[int]:
    """The width of every target pass prompt lookup would have made producing `output`: the
    tokens it drafted plus one (the target's own pick).

    The replay runs the decoders' own step (`inference.speculation`: draft length, acceptance,
    back-off after outright rejections) with the actual output as the target's picks: under
    greedy decoding those are the picks a real run would have verified against."""
    widths: list[int] = []
    seq = list(prompt)
    packed = pack(seq)  # grows with the accepted tokens: never packed whole again
    state = SpeculationState(k=num_speculative, k_max=k_max)
    i = 0
    while i < len(output):
        budget = len(output) - i
        n, state = draft_length(state, budget)
        drafted = propose_packed(seq, seq, packed, n) if n else []
        step = verify(drafted, output[i : i + len(drafted) + 1], state, budget=budget, eos_ids=())
        state = step.state
        seq.extend(step.tokens)
        packed += pack(step.tokens)
        i += len(step.tokens)
        widths.append(len(drafted) + 1)
    return widths


def draft_tokens_per_pass(
    matches: list[bool], output: list[int], num_speculative: int = 8, k_max: int = 32
) -> float:
    """Tokens per target pass a greedy draft model would have made producing `output`, given
    `matches[j]`: whether the draft's own next-token pick after `output[:j]` (teacher-forced,
    one forward pass over the finished answer) is `output[j]`.

    Along an accepted run the draft's proposals are exactly its teacher-forced picks (each one
    it made was the true token), so the first mismatch is where the target rejects; the pass
    then keeps the target's own token. Replayed with the decoders' own step, as lookup is."""
    if not output:
        return 1.0
    wrong = -1  # never a token id: stands for the draft's first wrong proposal
    state = SpeculationState(k=num_speculative, k_max=k_max)
    i = passes = 0
    while i < len(output):
        budget = len(output) - i
        n, state = draft_length(state, budget)
        drafted: list[int] = []
        for j in range(i, min(i + n, len(output))):
            if not matches[j]:
                break
            drafted.append(output[j])
        drafted += [wrong] * (n - len(drafted))
        step = verify(drafted, output[i : i + len(drafted) + 1], state, budget=budget, eos_ids=())
        state = step.state
        i += len(step.tokens)
        passes += 1
    return len(output) / passes


class LookupReplayer:
    """Replays finished runs for an engine's selector on a thread of its own, so the next
    request never waits behind a replay (a few milliseconds of CPU each). `lock`: the one the
    engine holds around its selector, if any."""

    def __init__(
        self,
        selector: StrategySelector,
        num_speculative: int,
        lock: threading.Lock | None = None,
        draft_matches: Callable[[list[int], list[int]], list[bool]] | None = None,
        measure_verify_slope: Callable[[int], float] | None = None,
    ) -> None:
        """`draft_matches(prompt, output)`: for engines that can run their draft model over a
        finished answer, whether its pick at each output position was the output's token.
        `measure_verify_slope(width)`: for engines whose wide passes cost more than one-token
        steps, the measured extra cost of each verified position (see
        `StrategySelector.verify_slope`); called once, the first time a replay looks promising
        by tokens per pass alone."""
        self.selector = selector
        self.num_speculative = num_speculative
        self.draft_matches = draft_matches
        self.measure_verify_slope = measure_verify_slope
        self._lock = lock or contextlib.nullcontext()
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="tandem-replay")

    def submit(self, kind: TaskKind, strategy: str, prompt: list[int], output: list[int]) -> None:
        """After the answer went out: teach the selector what prompt lookup would have done."""
        self._pool.submit(self._replay, kind, strategy, prompt, output)

    def _replay(self, kind: TaskKind, strategy: str, prompt: list[int], output: list[int]) -> None:
        if len(output) < 2:
            return
        with self._lock:
            lookup = self.selector.wants_lookup_replay(kind, strategy)
            draft = self.draft_matches is not None and self.selector.wants_draft_replay(
                kind, strategy
            )
        try:  # estimates only: never fail anything over them
            if lookup:
                context = prompt[-REPLAY_CONTEXT:]
                widths = lookup_pass_widths(context, output, self.num_speculative)
                with self._lock:
                    unmeasured = self.selector.verify_slope is None
                    promise = self.selector.lookup_promise
                if (
                    unmeasured
                    and self.measure_verify_slope is not None
                    and len(output) / len(widths) >= promise
                ):
                    slope = self.measure_verify_slope(self.num_speculative + 1)
                    with self._lock:
                        self.selector.verify_slope = slope
                with self._lock:
                    cost = sum(self.selector.pass_cost(w) for w in widths)
                    self.selector.note_lookup_replay(kind, len(output) / cost)
            if draft and self.draft_matches is not None:
                matches = self.draft_matches(prompt, output)
                tpp = draft_tokens_per_pass(matches, output, self.num_speculative)
                with self._lock:
                    self.selector.note_draft_replay(kind, tpp)
        except Exception:
            log.exception("replaying a finished run failed")

    def close(self, wait: bool = False) -> None:
        """Stop replaying; `wait`: until a replay under way has ended (an engine frees its
        native context only after that: a replay may be measuring on it)."""
        self._pool.shutdown(wait=wait, cancel_futures=True)
