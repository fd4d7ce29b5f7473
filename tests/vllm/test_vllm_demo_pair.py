"""The shipped demo pair in vLLM: the target served with the demo draft as its speculative
model, offline, through the `tandem serve` code path. Proves the weights, config and tokenizer
the project ships load in vLLM (CPU build here) as well as in transformers, and that the draft
is accepted as a draft (same vocabulary, a head size vLLM's CPU attention supports)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from completion.templates import detect_template
from inference.base import GenerationRequest
from inference.defaults import demo_model
from inference.openai import OpenAIEngine
from inference.openai.metrics import SpecCounters
from inference.vllm import ServeConfig, free_port
from inference.vllm.command import REPO_ROOT

from .conftest import start_or_fail

pytestmark = pytest.mark.vllm


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory, vllm_python: str):
    pair = demo_model()
    assert pair.draft is not None, "the shipped demo pair has a draft"
    cfg = ServeConfig(
        model=str(pair.target),
        draft_model=str(pair.draft),
        num_speculative_tokens=4,
        port=free_port(),
        python=vllm_python,
        served_model_name="tandem-demo",
        cache_root=str(REPO_ROOT / ".cache" / "vllm"),
        max_model_len=2048,
    )
    log = Path(os.environ.get("TANDEM_VLLM_LOG_DEMO", tmp_path_factory.mktemp("demo") / "vllm.log"))
    server, _ = start_or_fail(cfg, log, "vLLM with the demo target + draft")
    try:
        yield server, pair
    finally:
        server.stop()


async def test_demo_pair_serves_fim_with_the_draft_speculating(demo_server):
    server, pair = demo_server
    eng = OpenAIEngine([server.base_url], tokenizer_dir=str(pair.target))
    info = await eng.connect()
    template = detect_template(info.special_tokens)
    assert template.name == "tandem-demo"
    prompt = template.render(
        "import os\n\n\ndef read_lines(path):\n    with open(path) as f:\n", ""
    )
    before = SpecCounters.from_metrics_text(
        httpx.get(f"{server.base_url}/metrics", timeout=10).text
    )
    gen = eng.start(GenerationRequest(prompt=prompt, max_tokens=32, stop=template.stop))
    text = await gen.text()
    assert text.strip(), "the demo target generated nothing"
    assert gen.stats.generated_tokens > 0
    after = SpecCounters.from_metrics_text(httpx.get(f"{server.base_url}/metrics", timeout=10).text)
    assert after.present, "no spec-decode counters: the draft is not in use"
    assert after.drafts > before.drafts and after.draft_tokens > before.draft_tokens
    print(
        f"demo pair in vLLM: {gen.stats.generated_tokens} tokens, drafted "
        f"{after.draft_tokens - before.draft_tokens:.0f}, accepted "
        f"{after.accepted_tokens - before.accepted_tokens:.0f}: {text!r}"
    )
    await eng.close()
