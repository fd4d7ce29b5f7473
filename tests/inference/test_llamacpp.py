"""The llama.cpp engine's own parts: GGUF metadata (FIM tokens by token type, BOS, EOG, chat
template), engine selection from settings, clear errors, the per-step hook, long prompts and
KV slots shared by more documents than there are slots."""

from __future__ import annotations

import asyncio

import pytest

from completion.templates import detect_template
from inference.base import EngineError, GenerationCancelled, GenerationRequest
from inference.llamacpp import LlamaCppEngine
from lsp_server.engine_manager import build_engine
from lsp_server.settings import Settings
from testing.gguf_models import TINY_CHAT_TEMPLATE, hf_llama_to_gguf

CODE = '''def add(a, b):
    """Return the sum of a and b."""
    return a + b


class Stack:
    def __init__(self):
        self.items = []
'''


@pytest.fixture(scope="module")
def engine(tiny_gguf):
    eng = LlamaCppEngine.load(*tiny_gguf, n_threads=1)
    yield eng
    asyncio.run(eng.close())


async def _run(engine, **kw):
    gen = engine.start(GenerationRequest(**kw))
    return await gen.text(), gen.stats


def test_special_tokens_and_templates_come_from_the_gguf(engine):
    info = engine.info
    assert info.name == "llamacpp" and info.device == "cpu (1 thread)"
    assert {"<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<|endoftext|>"} <= set(
        info.special_tokens
    )
    assert detect_template(info.special_tokens).markers
    assert info.has_chat_template
    eos = engine.target_model.eos_id
    assert engine.target_model.token_text(eos) == "<|endoftext|>" and eos in engine._eos_ids


def test_fim_tokens_marked_user_defined_are_found(tiny_model_dir, tmp_path):
    """DeepSeek and Qwen GGUFs mark FIM tokens USER_DEFINED, not CONTROL."""
    from inference.llamacpp.model import GgufModel

    path = hf_llama_to_gguf(tiny_model_dir, tmp_path / "ud.gguf", fim_user_defined=True)
    model = GgufModel(path)
    try:
        lib = model.lib
        fim = model.tokenize("<fim_prefix>", add_bos=False)
        assert len(fim) == 1
        assert lib.llama_vocab_get_attr(model.vocab, fim[0]) & lib.LLAMA_TOKEN_ATTR_USER_DEFINED
        assert detect_template(model.special_tokens).markers
        assert model.chat_template is None
    finally:
        model.close()


async def test_bos_is_added_when_the_gguf_says_so(tiny_model_dir, tmp_path):
    path = hf_llama_to_gguf(
        tiny_model_dir, tmp_path / "bos.gguf", add_bos=True, chat_template=TINY_CHAT_TEMPLATE
    )
    eng = LlamaCppEngine.load(path, n_threads=1)
    try:
        m = eng.target_model
        assert m.add_bos
        _, stats = await _run(eng, prompt=CODE, max_tokens=2, strategy="plain")
        assert stats.prompt_tokens == eng.count_tokens(CODE) + 1
        # the template writes BOS itself; the rendered text must not carry a second one
        rendered = eng.render_chat([{"role": "user", "content": "hi"}])
        assert rendered == "user\nhi\n<|endoftext|>assistant\n"
    finally:
        await eng.close()


async def test_chat_renders_through_the_gguf_template(engine):
    rendered = engine.render_chat([{"role": "user", "content": "Привет"}])
    assert rendered == "<|endoftext|>user\nПривет\n<|endoftext|>assistant\n"
    text, stats = await _run(
        engine, messages=[{"role": "user", "content": "hi"}], max_tokens=8, kind="chat"
    )
    assert stats.prompt_tokens == engine.count_tokens(rendered)
    assert stats.generated_tokens >= 1


def test_a_gguf_model_setting_selects_the_llamacpp_engine(tiny_gguf, tiny_model_dir):
    model, draft = tiny_gguf
    s, warnings = Settings().merged({"model": str(model), "draftModel": str(draft), "threads": 1})
    assert not warnings
    eng, notice = build_engine(s)
    try:
        assert isinstance(eng, LlamaCppEngine) and notice is None
        assert eng.draft is not None and eng.n_threads == 1
    finally:
        asyncio.run(eng.close())
    s, _ = Settings().merged({"engine": "llamacpp", "model": str(tiny_model_dir)})
    with pytest.raises(EngineError, match=r"\.gguf"):
        build_engine(s)
    s, _ = Settings().merged({"model": str(tiny_model_dir), "draftModel": str(draft)})
    with pytest.raises(EngineError, match="GGUF"):
        build_engine(s)


def test_threads_setting_is_validated():
    s, warnings = Settings().merged({"threads": 0, "contextSize": 2048})
    assert not warnings and s.threads == 0 and s.context_size == 2048
    for bad in (-1, "2", True):
        s, warnings = Settings().merged({"threads": bad})
        assert warnings and s.threads == 0


def test_bad_files_are_clear_errors(tmp_path, tiny_model_dir):
    with pytest.raises(EngineError, match="not found"):
        LlamaCppEngine.load(tmp_path / "nope.gguf")
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(EngineError, match="not a GGUF"):
        LlamaCppEngine.load(junk)


def test_a_truncated_gguf_says_why_it_cannot_load(tiny_gguf, tmp_path):
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_gguf[0].read_bytes()[:200_000])
    with pytest.raises(EngineError, match="could not load .*(corrupted|bounds|incomplete)"):
        LlamaCppEngine.load(cut)


def test_draft_with_another_vocabulary_is_rejected(tiny_gguf, tmp_path):
    from inference.tiny_model import build_tiny_model

    other_hf = build_tiny_model(tmp_path / "other", vocab_size=300)
    other = hf_llama_to_gguf(other_hf, tmp_path / "other.gguf")
    with pytest.raises(EngineError, match="vocabulary"):
        LlamaCppEngine.load(tiny_gguf[0], other, n_threads=1)


async def test_prompt_longer_than_the_context_is_a_clear_error_and_the_engine_lives_on(tiny_gguf):
    eng = LlamaCppEngine.load(tiny_gguf[0], n_ctx=128, n_threads=1)
    try:
        with pytest.raises(EngineError, match="contextSize"):
            await _run(eng, prompt=CODE * 10, max_tokens=4, cache_key="doc")
        # output near the end of the context stops at the context, it does not fail
        text, stats = await _run(eng, prompt=CODE, max_tokens=200, cache_key="doc")
        assert stats.prompt_tokens + stats.generated_tokens <= 128
        assert stats.finish_reason in ("length", "stop")
    finally:
        await eng.close()


async def test_step_hook_runs_every_decode_step_and_can_stop(engine):
    calls: list[str] = []
    engine.step_hook = lambda kind: calls.append(kind) or len(calls) > 5
    try:
        gen = engine.start(GenerationRequest(prompt=CODE, max_tokens=50, strategy="plain"))
        with pytest.raises(GenerationCancelled):
            await gen.text()
    finally:
        engine.step_hook = None
    assert calls == ["fim"] * 6
    assert gen.stats.target_forward_passes == 5


async def test_long_prompts_prefill_in_chunks_and_reuse_exactly(engine):
    long_prompt = "\n".join(f"value_{i} = compute({i}, {i * 7})" for i in range(60))
    assert engine.count_tokens(long_prompt) > 1200  # several n_batch chunks
    cold, cold_stats = await _run(engine, prompt=long_prompt, max_tokens=16, strategy="plain")
    assert cold_stats.prompt_tokens > 1200
    _, _ = await _run(engine, prompt=long_prompt[:-40], max_tokens=4, cache_key="long")
    warm, warm_stats = await _run(
        engine, prompt=long_prompt, max_tokens=16, cache_key="long", strategy="prompt_lookup"
    )
    assert warm_stats.prefix_tokens_reused > 1000
    assert warm == cold


async def test_more_documents_than_slots_evict_the_oldest_and_stay_exact(engine):
    n = len(engine.slots.slots) + 2
    prompts = [f"# document {i}\n{CODE}" for i in range(n)]
    first = [
        await _run(engine, prompt=p, max_tokens=8, cache_key=f"d{i}") for i, p in enumerate(prompts)
    ]
    again = [
        await _run(engine, prompt=p, max_tokens=8, cache_key=f"d{i}") for i, p in enumerate(prompts)
    ]
    assert [t for t, _ in again] == [t for t, _ in first]
    # the most recent document kept its KV
    _, latest = await _run(engine, prompt=prompts[-1], max_tokens=8, cache_key=f"d{n - 1}")
    assert latest.prefix_tokens_reused == latest.prompt_tokens - 1


async def test_sampling_runs_plain(engine):
    text, stats = await _run(engine, prompt=CODE, max_tokens=8, temperature=0.8, strategy="draft")
    assert stats.strategy == "plain" and stats.generated_tokens >= 1


async def test_stop_sequences_cut_output(engine):
    plain, _ = await _run(engine, prompt=CODE, max_tokens=40, strategy="plain")
    assert len(plain) >= 4
    stop = plain[2:4]
    out, stats = await _run(engine, prompt=CODE, max_tokens=40, stop=[stop], strategy="plain")
    assert out == plain[: plain.index(stop)]
    assert stats.finish_reason == "stop"


async def test_a_long_prefill_stops_between_chunks_and_keeps_the_chunks_done(engine):
    prompt = "\n".join(f"item_{i} = make({i}, {i * 3})" for i in range(60))
    n_batch = engine.target.n_batch
    assert engine.count_tokens(prompt) > 2 * n_batch
    calls: list[str] = []
    engine.step_hook = lambda kind: calls.append(kind) or len(calls) >= 2
    try:
        gen = engine.start(GenerationRequest(prompt=prompt, max_tokens=8, cache_key="prefill"))
        with pytest.raises(GenerationCancelled):
            await gen.text()
    finally:
        engine.step_hook = None
    assert len(calls) == 2 and gen.stats.generated_tokens == 0
    _, stats = await _run(engine, prompt=prompt, max_tokens=4, cache_key="prefill")
    assert stats.prefix_tokens_reused == n_batch  # the one chunk finished before the stop


async def test_buffered_generation_hands_over_everything_in_order_with_few_wakeups():
    import threading

    from inference.llamacpp.stream import BufferedQueueGeneration

    gen = BufferedQueueGeneration("t", asyncio.get_running_loop(), interval=0.05)
    pieces = [f"{i}," for i in range(2000)]

    def worker():
        for p in pieces:
            gen.push(p)
        gen.finish()

    threading.Thread(target=worker).start()
    chunks = [c async for c in gen]
    assert "".join(chunks) == "".join(pieces)
    assert len(chunks) < len(pieces) / 10


async def test_prompt_lookup_copies_from_the_open_documents_through_the_index(engine):
    prompt = "def area(radius):\n    return"
    plain, _ = await _run(engine, prompt=prompt, max_tokens=24, strategy="plain")
    other_docs = "# another file\n" + CODE + prompt + plain + "\n" + CODE
    # the documents are indexed in the background; requests meanwhile run without the index
    for _ in range(200):
        if engine._lookup_index(other_docs) is not None:
            break
        await asyncio.sleep(0.05)
    out, stats = await _run(
        engine, prompt=prompt, max_tokens=24, strategy="prompt_lookup", lookup_text=other_docs
    )
    assert out == plain
    assert stats.accepted_tokens > 0
    assert stats.target_forward_passes < stats.generated_tokens
    # the documents' index is built once and reused on the next keystroke
    index = engine._lookup_index(other_docs)
    assert engine._lookup_index(other_docs) is index


def test_ngram_index_proposes_the_latest_continuation():
    from inference.llamacpp.lookup_index import NgramIndex

    idx = NgramIndex([1, 2, 3, 9, 1, 2, 3, 4, 5, 6])
    assert idx.propose([7, 2, 3], 3) == [4, 5, 6]  # latest "2 3", longest n-gram first
    assert idx.propose([8, 8, 5], 2) == [6]
    assert idx.propose([8, 8, 6], 2) == []  # no follower


async def test_the_verify_pass_cost_is_measured_on_a_slot_without_disturbing_its_document(engine):
    """`measure_verify_slope` times wide passes after an idle document's KV and rolls them
    back: the document keeps its slot, its tokens and its prefix reuse."""
    prompt = CODE + "\n\ndef mul(a, b):\n"
    first, _ = await _run(engine, prompt=prompt, max_tokens=6, strategy="plain", cache_key="m")
    slot = next(s for s in engine.slots.slots if s.key == "m")
    held = list(slot.tokens)
    slope = await asyncio.to_thread(engine.measure_verify_slope, 9)
    assert isinstance(slope, float) and slope >= 0.0
    assert slot.key == "m" and slot.tokens == held and not slot.busy
    again, stats = await _run(engine, prompt=prompt, max_tokens=6, strategy="plain", cache_key="m")
    assert again == first and stats.prefix_tokens_reused == stats.prompt_tokens - 1


async def test_a_measurement_racing_the_engines_close_never_touches_freed_memory(tiny_gguf):
    """The replay thread's verify-cost measurement once outlived `close()` and evaluated on a
    freed llama.cpp context: the whole process died (SIGSEGV in CI). Now `close()` waits for a
    replay under way, and a closed context refuses work with an error instead of crashing."""
    eng = LlamaCppEngine.load(*tiny_gguf, n_threads=1)
    await _run(eng, prompt=CODE, max_tokens=4, strategy="plain", cache_key="c")
    measuring = asyncio.create_task(asyncio.to_thread(eng.measure_verify_slope, 9, 50))
    await asyncio.sleep(0)
    await eng.close()
    assert isinstance(await measuring, float)  # ended (measured or gave up), did not crash
    with pytest.raises(EngineError, match="closed"):
        eng.target.eval(0, [1], 0, 1, lambda row: 0)
    with pytest.raises(EngineError, match="closed"):
        eng.target.keep(0, 0)
