"""The embedded engine on a real tiny model: exact speculative decoding, cancellation, KV reuse."""

from __future__ import annotations

import asyncio

import pytest

from inference.base import EngineError, GenerationCancelled, GenerationRequest
from inference.local import LocalEngine
from inference.lookup_shadow import draft_tokens_per_pass

CODE = '''def add(a, b):
    """Return the sum of a and b."""
    return a + b


class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)
'''


@pytest.fixture(scope="module")
def engine(tiny_model_dir, tiny_draft_dir):
    return LocalEngine.load(tiny_model_dir, tiny_draft_dir)


async def _run(engine, **kw):
    gen = engine.start(GenerationRequest(**kw))
    text = await gen.text()
    return text, gen.stats


@pytest.mark.parametrize("kind", ["fim", "edit"])
async def test_every_strategy_is_token_identical_to_plain_greedy(engine, kind):
    prompts = [CODE + "\n" + CODE[:60], "for i in range(10):\n    print(", CODE * 2]
    for prompt in prompts:
        plain, _ = await _run(engine, prompt=prompt, max_tokens=48, strategy="plain", kind=kind)
        for strategy in ("prompt_lookup", "draft"):
            out, stats = await _run(
                engine, prompt=prompt, max_tokens=48, strategy=strategy, kind=kind
            )
            assert out == plain, (strategy, prompt[:30])
            assert stats.strategy == strategy
            assert stats.generated_tokens >= 1


async def test_speculation_saves_target_passes_on_copy_heavy_prompt(engine):
    # A random model repeats itself, so lookup drafts get accepted: fewer target passes per token.
    text, stats = await _run(engine, prompt=CODE * 3, max_tokens=64, strategy="prompt_lookup")
    assert stats.drafted_tokens > 0
    assert 0 <= stats.accepted_tokens <= stats.drafted_tokens
    assert stats.target_forward_passes <= stats.generated_tokens


async def test_draft_prefill_is_measured_for_the_strategy_selector(engine):
    """The draft's own prefill hides in TTFT; the selector must be charged for it."""
    _, plain = await _run(engine, prompt=CODE * 2, max_tokens=16, strategy="plain")
    _, draft = await _run(engine, prompt=CODE * 2, max_tokens=16, strategy="draft")
    assert plain.draft_prefill_ms == 0.0
    assert 0.0 < draft.draft_prefill_ms <= draft.ttft_ms


def test_rejected_drafts_back_off_to_plain_steps():
    """A proposer that is always wrong costs wider passes: after repeated outright rejections
    the decoder stops drafting for a while, and the output stays exact."""
    from types import SimpleNamespace

    import torch

    from inference.base import GenerationStats
    from inference.local.decoding import DecodeParams, Decoder

    vocab = 50

    class Cache:
        n = 0

        def get_seq_length(self):
            return self.n

        def crop(self, n):  # transformers' crop: a negative n drops that many from the end
            self.n = self.n + n if n < 0 else min(self.n, n)

    class NextToken(torch.nn.Module):
        """Greedy next token is always (token + 1) % vocab."""

        def forward(self, input_ids, past_key_values, use_cache, logits_to_keep):
            past_key_values.n += input_ids.shape[1]
            logits = torch.nn.functional.one_hot((input_ids + 1) % vocab, vocab).float()
            return SimpleNamespace(logits=logits[:, -logits_to_keep:])

    dec = Decoder(NextToken(), None, "cpu")
    dec._new_cache = lambda model: Cache()
    # in the lookup text every token is followed by token + 5: every proposal is wrong
    lookup = [t for i in range(vocab) for t in (i, (i + 5) % vocab)]
    params = DecodeParams(40, 0.0, set(), "prompt_lookup", lookup, num_speculative=8)
    out: list[int] = []
    stats = GenerationStats()
    dec.run([1], params, stats, None, lambda: False, lambda t: out.extend(t) or True)
    assert out == [(2 + i) % vocab for i in range(40)]
    assert stats.accepted_tokens == 0 and stats.target_forward_passes == 40
    # drafting every step would propose 8+7+...+3 + 2*34 = 101 tokens; backing off after
    # misses leaves about 6 drafting steps
    assert 0 < stats.drafted_tokens <= 40, stats


async def test_cancel_stops_within_one_decode_step(engine):
    gen = engine.start(GenerationRequest(prompt=CODE, max_tokens=400, strategy="plain"))
    seen = 0
    with pytest.raises(GenerationCancelled):
        async for _chunk in gen:
            seen += 1
            if seen == 1:
                passes_at_cancel = gen.stats.target_forward_passes
                gen.cancel()
    # the worker checks the flag before every step: at most the step in flight completes
    assert gen.stats.finish_reason == "cancelled"
    assert gen.stats.target_forward_passes <= passes_at_cancel + 1
    assert gen.stats.generated_tokens < 400


async def test_newer_request_for_same_document_cancels_older(engine):
    old = engine.start(
        GenerationRequest(prompt=CODE, max_tokens=300, cache_key="doc", strategy="plain")
    )
    new = engine.start(GenerationRequest(prompt=CODE + "x", max_tokens=5, cache_key="doc"))
    with pytest.raises(GenerationCancelled):
        await old.text()
    await new.text()
    assert old.stats.generated_tokens < 300
    assert new.stats.finish_reason in ("length", "stop")


async def test_kv_prefix_reuse_prefills_only_new_tokens(engine):
    base = CODE * 4
    _, cold = await _run(engine, prompt=base, max_tokens=4, cache_key="reuse")
    _, warm = await _run(
        engine, prompt=base + "    def pop(self):\n", max_tokens=4, cache_key="reuse"
    )
    assert cold.prefix_tokens_reused == 0
    assert warm.prefix_tokens_reused >= cold.prompt_tokens - 1
    # reused output is identical to a cold run of the same prompt
    text_warm, _ = await _run(
        engine, prompt=base + "x", max_tokens=16, cache_key="reuse", strategy="plain"
    )
    text_cold, _ = await _run(engine, prompt=base + "x", max_tokens=16, strategy="plain")
    assert text_warm == text_cold


async def test_stop_sequences_cut_output(engine):
    plain, _ = await _run(engine, prompt=CODE, max_tokens=40, strategy="plain")
    if len(plain) < 4:
        pytest.skip("model produced too little text to pick a stop string")
    stop = plain[2:4]
    out, stats = await _run(engine, prompt=CODE, max_tokens=40, stop=[stop], strategy="plain")
    assert out == plain[: plain.index(stop)]
    assert stats.finish_reason == "stop"


async def test_sampling_falls_back_to_plain(engine):
    _, stats = await _run(engine, prompt=CODE, max_tokens=8, temperature=0.8, strategy="draft")
    assert stats.strategy == "plain"


def test_missing_model_dir_is_a_clear_error(tmp_path):
    with pytest.raises(EngineError, match="not found"):
        LocalEngine.load(tmp_path / "nope")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    with pytest.raises(EngineError, match="could not load"):
        LocalEngine.load(tmp_path / "broken")


def test_draft_with_other_vocab_is_rejected(tiny_model_dir, tmp_path):
    from inference.tiny_model import build_tiny_model

    other = build_tiny_model(tmp_path / "other", vocab_size=300)
    with pytest.raises(EngineError, match="tokenizer"):
        LocalEngine.load(tiny_model_dir, other)


async def test_chat_without_template_is_a_clear_error(engine):
    gen = engine.start(GenerationRequest(messages=[{"role": "user", "content": "hi"}]))
    with pytest.raises(EngineError, match="chat template"):
        await gen.text()
    await asyncio.sleep(0)


async def _forced_then_auto_replayed(engine: LocalEngine, key: str) -> tuple[str, float]:
    """A forced plain completion (no replay may follow), then an `auto` one that runs plain:
    (its text, the selector's replayed value under `key` once the replay thread is done)."""
    await _run(engine, prompt=CODE * 2, max_tokens=24, kind="fim", strategy="plain")
    await asyncio.sleep(0.5)
    assert key not in engine.selector.snapshot()
    text, stats = await _run(engine, prompt=CODE * 2, max_tokens=24, kind="fim")
    assert stats.strategy == "plain" and stats.generated_tokens >= 2
    for _ in range(200):  # the replay runs on its own thread
        if key in engine.selector.snapshot():
            break
        await asyncio.sleep(0.05)
    return text, engine.selector.snapshot()[key]


async def test_a_plain_auto_completion_is_replayed_for_prompt_lookup(tiny_model_dir):
    """After an `auto` completion that ran plain, the engine replays it (off the worker) and the
    selector learns what prompt lookup would have made; a forced strategy teaches it nothing."""
    engine = LocalEngine.load(tiny_model_dir)
    try:
        _, replayed = await _forced_then_auto_replayed(engine, "fim/lookup_replay")
        assert replayed >= 1.0
    finally:
        await engine.close()


async def test_a_plain_auto_completion_is_replayed_through_the_draft(
    tiny_model_dir, tiny_draft_dir
):
    """With a draft model, the replay also runs the draft over the finished answer (teacher
    forced, one forward pass) and the selector learns how many tokens per pass it would have
    made; a forced strategy starts no replay."""
    engine = LocalEngine.load(tiny_model_dir, tiny_draft_dir)
    try:
        text, replayed = await _forced_then_auto_replayed(engine, "fim/draft_replay")
        prompt = engine.tokenizer.encode(CODE * 2, add_special_tokens=False)
        output = engine.tokenizer.encode(text, add_special_tokens=False)
        matches = engine._draft_matches(prompt, output)
        assert len(matches) == len(output)
        assert 1.0 <= replayed <= len(output)
        assert replayed == pytest.approx(draft_tokens_per_pass(matches, output), abs=0.01)
    finally:
        await engine.close()
