"""What prompt lookup would have done on a run that did not use it, for free.

The strategy selector must not pay for its knowledge with slow answers: measuring prompt lookup
for real on a workload where nothing repeats costs the user a slower suggestion (0.92x of plain
on the demo model). But whether lookup *would* have helped can be read off any finished run: the
prompt and the output are known, so replaying the lookup proposals against the actual output
says how many tokens each verification pass would have accepted. Greedy verification accepts
exactly the drafted tokens that match the output, so this replay is what lookup would have got
(it leaves out the other open documents, so it errs low). Only a workload whose replay shows
enough tokens per pass gets a real measurement.
"""

from __future__ import annotations

from inference.local.lookup import propose_from_lookup

#: Prompt tokens a replay looks back over (the lookup scan is linear in them; the end of the
#: prompt, nearest the cursor, is where a completion's repeats come from).
REPLAY_CONTEXT = 4096


def lookup_tokens_per_pass(
    prompt: list[int], output: list[int], num_speculative: int = 8, k_max: int = 32
) -> float:
    """Tokens per target pass prompt lookup would have made producing `output` (1.0: nothing
    drafted would have been accepted; plain decoding makes one token per pass). The draft
    length adapts as in the decoders: +2 after a fully accepted draft, -1 otherwise."""
    if not output:
        return 1.0
    seq = list(prompt)
    i = passes = 0
    k = num_speculative
    while i < len(output):
        budget = len(output) - i
        drafted = propose_from_lookup(seq, seq, min(k, budget - 1)) if budget > 1 else []
        accepted = 0
        for proposed, actual in zip(drafted, output[i:], strict=False):
            if proposed != actual:
                break
            accepted += 1
        if drafted:
            k = min(k_max, k + 2) if accepted == len(drafted) else max(2, k - 1)
        step = output[i : i + accepted + 1]
        seq.extend(step)
        i += len(step)
        passes += 1
    return len(output) / passes
