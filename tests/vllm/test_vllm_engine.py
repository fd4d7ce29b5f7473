"""OpenAIEngine against a real vLLM server (CPU build here): FIM, chat, cancel, speculation,
crash and restart. Outputs come from a random tiny model, so tests check plumbing and numbers,
never the text's meaning; and no timing assertions beyond "promptly" (the CPU is shared)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from completion.templates import detect_template, detection_tokens
from inference.base import EngineError, GenerationCancelled, GenerationRequest
from inference.openai import OpenAIEngine
from inference.openai.metrics import SpecCounters

pytestmark = pytest.mark.vllm

CODE = '''def add(a, b):
    """Return the sum of a and b."""
    return a + b


class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)
'''


#: For tests that must stop a request while vLLM is still generating it. Greedy, the random
#: model repeats itself, n-gram speculation accepts nearly everything, and 1900 tokens can be
#: done before a cancel or a kill lands (seen here). Sampled, n-gram acceptance is about 0,
#: so the request takes one decode step per token: seconds. (With ignore_eos on the engine.)
SLOW = {"temperature": 1.0}


def spec_counters(base_url: str) -> SpecCounters:
    return SpecCounters.from_metrics_text(httpx.get(f"{base_url}/metrics", timeout=10).text)


def metric_sum(base_url: str, name: str) -> float:
    from inference.openai.metrics import parse_samples

    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    return sum(v for n, _, v in parse_samples(text) if n == name)


async def settled(base_url: str, name: str) -> float:
    """The metric once it stops changing (vLLM updates /metrics a little after the fact)."""
    last = await asyncio.to_thread(metric_sum, base_url, name)
    for _ in range(30):
        await asyncio.sleep(0.5)
        now = await asyncio.to_thread(metric_sum, base_url, name)
        if now == last:
            return now
        last = now
    return last


async def test_fim_completion(vllm_server):
    # model name discovered; special tokens probed for every template's markers (passed as data)
    eng = OpenAIEngine([vllm_server.base_url], probe_tokens=detection_tokens())
    info = await eng.connect()
    assert info.model == vllm_server.model_name and info.max_context_tokens == 2048
    template = detect_template(info.special_tokens)
    assert template.prefix == "<fim_prefix>"  # the StarCoder-style family
    prefix = CODE * 3 + "\n    def pop(self):\n        "  # > 1 KV block (128 tokens on CPU)
    prompt = template.render(prefix, "\n\nfor i in range(10):\n")
    gen = eng.start(GenerationRequest(prompt=prompt, max_tokens=16, kind="fim", stop=["\n\n\n"]))
    text = await gen.text()
    s = gen.stats
    assert text.strip(), "the test model is built to produce visible text"
    assert s.finish_reason == "length" and s.generated_tokens == 16
    exact = OpenAIEngine([vllm_server.base_url], tokenizer_dir=str(vllm_server.model_dir))
    assert s.prompt_tokens == exact.count_tokens(prompt)
    assert s.ttft_ms > 0 and s.total_ms >= s.ttft_ms
    # Greedy and deterministic: the same request gives the same text, now from the prefix cache.
    again = eng.start(GenerationRequest(prompt=prompt, max_tokens=16, kind="fim", stop=["\n\n\n"]))
    assert await again.text() == text
    print("prefix cache:", again.stats.prefix_tokens_reused, "of", again.stats.prompt_tokens)
    assert 0 < again.stats.prefix_tokens_reused < again.stats.prompt_tokens
    await eng.close()
    await exact.close()


async def test_chat_completion_uses_generic_template(vllm_server):
    eng = OpenAIEngine([vllm_server.base_url], model=vllm_server.model_name)
    gen = eng.start(
        GenerationRequest(
            messages=[
                {"role": "system", "content": "You are a coding assistant."},
                {"role": "user", "content": "Explain:\n" + CODE},
            ],
            max_tokens=12,
            kind="chat",
        )
    )
    text = await gen.text()
    assert text.strip() and gen.stats.generated_tokens == 12
    assert gen.stats.prompt_tokens > 50  # the rendered conversation, not just one message
    await eng.close()


async def test_speculative_counters_land_in_stats(vllm_server):
    """A short request (well under the 1 s between /metrics reads) gets exactly its own counts,
    a little after its text: the poller settles it with the first read after it ended."""
    before = spec_counters(vllm_server.base_url)
    assert before.present, "the fixture enables n-gram speculation"
    eng = OpenAIEngine([vllm_server.base_url], model=vllm_server.model_name)
    gen = eng.start(GenerationRequest(prompt=CODE * 3, max_tokens=64, kind="edit"))
    t0 = time.perf_counter()
    await gen.text()
    assert await gen.stats.wait_settled(timeout=5), "the spec counts never landed"
    print(f"request {gen.stats.total_ms:.0f} ms; counts landed "
          f"{(time.perf_counter() - t0) * 1000 - gen.stats.total_ms:.0f} ms after the text")  # fmt: skip
    await asyncio.sleep(0.5)
    after = spec_counters(vllm_server.base_url)
    assert after.drafts > before.drafts and after.draft_tokens > 0
    s = gen.stats
    print("spec stats:", s.to_dict())
    assert s.drafted_tokens > 0 and s.accepted_tokens > 0, s.to_dict()
    # Alone on the server, the before/after difference is exact (no late metric updates).
    assert s.drafted_tokens == after.draft_tokens - before.draft_tokens
    assert s.accepted_tokens == after.accepted_tokens - before.accepted_tokens
    assert s.strategy == "speculative"
    assert s.target_forward_passes < s.generated_tokens  # speculation saved target passes
    # A second request right after (the last read was just now, so no fresh baseline): still
    # exactly its own counts, nothing left over from the first.
    gen2 = eng.start(GenerationRequest(prompt=CODE * 2, max_tokens=32, kind="edit"))
    await gen2.text()
    assert await gen2.stats.wait_settled(timeout=5)
    await asyncio.sleep(0.5)
    again = spec_counters(vllm_server.base_url)
    assert gen2.stats.drafted_tokens == again.draft_tokens - after.draft_tokens
    assert gen2.stats.accepted_tokens == again.accepted_tokens - after.accepted_tokens
    await eng.close()


async def test_cancel_mid_stream_keeps_server_healthy(vllm_server):
    base = vllm_server.base_url
    tokens_before = await settled(base, "vllm:generation_tokens_total")
    eng = OpenAIEngine(
        [base], model=vllm_server.model_name, spec_metrics=False, extra_body={"ignore_eos": True}
    )
    gen = eng.start(GenerationRequest(prompt="def add(a, b):", max_tokens=1900, **SLOW))
    # Cancel once the first text is in: the request is running in vLLM's scheduler then (one
    # closed when merely its headers were in was generated to the end), and 1900 tokens take it
    # far longer than the rest of this test.
    pieces = gen.__aiter__()
    await asyncio.wait_for(pieces.__anext__(), 30)
    t0 = time.perf_counter()
    gen.cancel()
    with pytest.raises(GenerationCancelled):
        async for _piece in pieces:
            pass
    assert time.perf_counter() - t0 < 1.0
    await gen.wait_closed()
    assert gen.stats.finish_reason == "cancelled"
    # vLLM aborted the request when the stream closed: far fewer than 1900 tokens generated.
    generated = await settled(base, "vllm:generation_tokens_total") - tokens_before
    print(f"tokens generated before the abort: {generated:.0f} of 1900")
    assert generated < 1900
    assert await asyncio.to_thread(metric_sum, base, "vllm:num_requests_running") == 0
    assert httpx.get(f"{base}/health", timeout=10).status_code == 200
    ok = eng.start(GenerationRequest(prompt="def add(a, b):", max_tokens=4))
    assert (await ok.text()) and ok.stats.generated_tokens == 4
    await eng.close()


async def test_http_error_from_vllm_is_readable(vllm_server):
    eng = OpenAIEngine([vllm_server.base_url], model=vllm_server.model_name)
    with pytest.raises(EngineError, match=r"HTTP 400: .*"):
        await eng.start(GenerationRequest(prompt="x", max_tokens=100_000)).text()
    eng.model = "no-such-model"
    with pytest.raises(EngineError, match=r"HTTP 404: .*no-such-model"):
        await eng.start(GenerationRequest(prompt="x", max_tokens=2)).text()
    await eng.close()


async def test_server_killed_mid_request_then_restarted(vllm_server):
    """Runs last in this module: it kills the shared server and restarts it on the same port."""
    base = vllm_server.base_url
    # ignore_eos: a random model may emit EOS early and finish before the kill (seen in CI).
    eng = OpenAIEngine(
        [base],
        model=vllm_server.model_name,
        connect_retries=1,
        read_timeout=30,
        extra_body={"ignore_eos": True},
    )
    gen = eng.start(GenerationRequest(prompt="def add(a, b):", max_tokens=1900, **SLOW))
    # vLLM on CPU streams in bursts (sometimes all at the end), so do not wait for text: crash
    # the server as soon as it accepted the request (1900 tokens take it seconds).
    await asyncio.wait_for(gen.accepted.wait(), 30)
    await asyncio.to_thread(vllm_server.server.kill)  # SIGKILL the process group, like a crash
    t_kill = time.perf_counter()
    with pytest.raises(EngineError, match=r"inference server") as err:
        text = await gen.text()
        # reached only when the kill did not surface as an error: say what came back instead
        print(f"after the kill: {gen.stats.finish_reason=}, {gen.stats.generated_tokens=}, "
              f"{len(text)=}")  # fmt: skip
    assert time.perf_counter() - t_kill < 5, "no hang after the crash"
    assert gen.stats.finish_reason == "error"
    print("error after kill:", err.value)
    # While it is down: a quick, clear error with the true cause (a request that fails on a
    # kept-alive connection to the killed process is retried once on a fresh connection).
    t0 = time.perf_counter()
    with pytest.raises(EngineError, match=r"cannot reach the inference server: .*refused"):
        await eng.start(GenerationRequest(prompt="x", max_tokens=2)).text()
    assert time.perf_counter() - t0 < 5
    seconds = await asyncio.to_thread(vllm_server.server.start)
    print(f"restarted in {seconds:.1f} s")
    gen = eng.start(GenerationRequest(prompt="def add(a, b):", max_tokens=4))
    assert await gen.text() and gen.stats.generated_tokens == 4
    await eng.close()
