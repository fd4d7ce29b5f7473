"""The engine contract, on real tiny models, for every in-process engine (transformers and
llama.cpp): newest request per document wins, cancellation within one decode step, KV prefix
reuse, greedy output identical across speculative strategies, the adaptive selector, stats."""

from __future__ import annotations

import asyncio

import pytest

from inference.base import GenerationCancelled, GenerationRequest
from inference.local.strategy import StrategySelector

CODE = '''def add(a, b):
    """Return the sum of a and b."""
    return a + b


class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)
'''


@pytest.fixture(scope="module", params=["local", "llamacpp"])
def engine(request, tiny_model_dir, tiny_draft_dir, tiny_gguf):
    if request.param == "local":
        from inference.local import LocalEngine

        eng = LocalEngine.load(tiny_model_dir, tiny_draft_dir)
    else:
        from inference.llamacpp import LlamaCppEngine

        target, draft = tiny_gguf
        # one thread: the test machine's cores are shared; the default is all cores
        eng = LlamaCppEngine.load(target, draft, n_threads=1)
    yield eng
    asyncio.run(eng.close())


async def _run(engine, **kw):
    gen = engine.start(GenerationRequest(**kw))
    text = await gen.text()
    return text, gen.stats


@pytest.mark.parametrize("kind", ["fim", "edit"])
async def test_greedy_output_is_identical_across_strategies(engine, kind):
    prompts = [CODE + "\n" + CODE[:60], "for i in range(10):\n    print(", CODE * 2]
    accepted = {"prompt_lookup": 0, "draft": 0}
    for prompt in prompts:
        plain, _ = await _run(engine, prompt=prompt, max_tokens=96, strategy="plain", kind=kind)
        assert plain
        for strategy in accepted:
            out, stats = await _run(
                engine, prompt=prompt, max_tokens=96, strategy=strategy, kind=kind
            )
            assert out == plain, (strategy, prompt[:30])
            assert stats.strategy == strategy
            accepted[strategy] += stats.accepted_tokens
    # identical with real acceptances: the drafts were verified and used, not all thrown away
    # (tests/inference/test_llamacpp_exact.py proves the loop exact where numerics are exact)
    assert all(n > 0 for n in accepted.values()), accepted


async def test_speculation_drafts_and_saves_target_passes(engine):
    _, stats = await _run(engine, prompt=CODE * 3, max_tokens=64, strategy="prompt_lookup")
    assert stats.drafted_tokens > 0
    assert 0 < stats.accepted_tokens <= stats.drafted_tokens
    assert stats.target_forward_passes < stats.generated_tokens


async def test_stats_describe_the_generation(engine):
    text, stats = await _run(engine, prompt=CODE, max_tokens=12, strategy="plain")
    assert stats.engine == engine.info.name
    assert stats.prompt_tokens == engine.count_tokens(CODE) + (
        1 if getattr(getattr(engine, "target_model", None), "add_bos", False) else 0
    )
    assert 1 <= stats.generated_tokens <= 12
    assert stats.target_forward_passes == stats.generated_tokens  # plain: one pass per token
    assert 0 < stats.ttft_ms <= stats.total_ms
    assert stats.finish_reason in ("length", "stop")
    d = stats.to_dict()
    assert d["strategy"] == "plain" and d["tokens_per_second"] >= 0


async def test_cancel_stops_within_one_decode_step(engine):
    gen = engine.start(GenerationRequest(prompt=CODE, max_tokens=400, strategy="plain"))
    seen = 0
    passes_at_cancel = None
    with pytest.raises(GenerationCancelled):
        async for _chunk in gen:
            seen += 1
            if seen == 1:
                passes_at_cancel = gen.stats.target_forward_passes
                gen.cancel()
    assert gen.stats.finish_reason == "cancelled"
    assert passes_at_cancel is not None
    # the flag is checked before every step: at most the step in flight completes
    assert gen.stats.target_forward_passes <= passes_at_cancel + 1
    assert gen.stats.generated_tokens < 400


async def test_only_the_newest_request_per_document_runs(engine):
    old = engine.start(
        GenerationRequest(prompt=CODE, max_tokens=300, cache_key="newest", strategy="plain")
    )
    new = engine.start(
        GenerationRequest(prompt=CODE + "x", max_tokens=8, cache_key="newest", strategy="plain")
    )
    with pytest.raises(GenerationCancelled):
        await old.text()
    text = await new.text()
    assert old.stats.generated_tokens < 300
    assert new.stats.finish_reason in ("length", "stop")
    alone, _ = await _run(engine, prompt=CODE + "x", max_tokens=8, strategy="plain")
    assert text == alone


async def test_kv_prefix_reuse_prefills_only_the_changed_tokens(engine):
    base = "# reuse\n" + CODE * 4
    _, cold = await _run(engine, prompt=base, max_tokens=4, cache_key="reuse")
    _, warm = await _run(
        engine, prompt=base + "    def pop(self):\n", max_tokens=4, cache_key="reuse"
    )
    assert cold.prefix_tokens_reused == 0
    assert warm.prefix_tokens_reused >= cold.prompt_tokens - 1
    # an edit in the middle keeps exactly the tokens before it
    edited = base[:200] + "Z" + base[201:]
    _, mid = await _run(engine, prompt=edited, max_tokens=4, cache_key="reuse")
    assert 0 < mid.prefix_tokens_reused < warm.prefix_tokens_reused
    # output after reuse is identical to a cold run of the same prompt
    warm_text, _ = await _run(
        engine, prompt=base + "x", max_tokens=16, cache_key="reuse", strategy="plain"
    )
    cold_text, cold_stats = await _run(engine, prompt=base + "x", max_tokens=16, strategy="plain")
    assert warm_text == cold_text
    assert cold_stats.prefix_tokens_reused == 0 or engine.info.name == "llamacpp"


async def test_two_documents_at_once_match_their_sequential_outputs(engine):
    a_prompt, b_prompt = CODE + "\n# a\n", "for i in range(10):\n    print("
    a_alone, _ = await _run(engine, prompt=a_prompt, max_tokens=24, strategy="plain")
    b_alone, _ = await _run(engine, prompt=b_prompt, max_tokens=24, strategy="plain")
    a = engine.start(GenerationRequest(prompt=a_prompt, max_tokens=24, cache_key="A"))
    b = engine.start(GenerationRequest(prompt=b_prompt, max_tokens=24, cache_key="B"))
    a_text, b_text = await asyncio.gather(a.text(), b.text())
    assert (a_text, b_text) == (a_alone, b_alone)


class SpySelector(StrategySelector):
    def __init__(self, has_draft: bool) -> None:
        super().__init__(has_draft=has_draft)
        self.chosen: list[tuple[str, str, str]] = []
        self.recorded: list[tuple[str, str, int]] = []

    def choose(self, kind, requested="auto"):
        s = super().choose(kind, requested)
        self.chosen.append((kind, requested, s))
        return s

    def record(self, kind, strategy, ms, tokens):
        self.recorded.append((kind, strategy, tokens))
        super().record(kind, strategy, ms, tokens)


async def test_the_adaptive_selector_chooses_and_learns(engine):
    original = engine.selector
    spy = SpySelector(has_draft=original.has_draft)
    engine.selector = spy
    try:
        used = []
        for i in range(4):
            _, stats = await _run(engine, prompt=f"{CODE}\n# {i}\n", max_tokens=16, kind="edit")
            used.append(stats.strategy)
    finally:
        engine.selector = original
    assert [c[2] for c in spy.chosen] == used
    assert all(c[:2] == ("edit", "auto") for c in spy.chosen)
    # each candidate is measured first, the preferred one (prompt lookup for edits) first
    assert used[0] == "prompt_lookup"
    assert {r[1] for r in spy.recorded} == set(used)
    assert spy.snapshot()
