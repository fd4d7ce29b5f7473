"""Every FIM family Tandem names, against its real tokenizer: detection (local tokenizer and
server probe agree), the rendered prompt at the token-id level, BOS, stops and repo-level files.
"""

from __future__ import annotations

import functools

import pytest
from real_families import BY_KEY, FAMILIES, FIM_FAMILIES, Family
from tokenizers import Tokenizer

from completion.templates import (
    TEMPLATES,
    FimTemplate,
    UnknownFimTemplate,
    detect_template,
    detection_tokens,
)
from inference.base import GenerationRequest
from inference.openai import OpenAIEngine

PREFIX = "def area(w, h):\n    "
SUFFIX = "\n\nprint(area(2, 3))\n"
FILES = [("geometry/shapes.py", "class Box:\n    pass\n"), ("util.py", "import os\n")]
REPO_TOKENS = ("<|repo_name|>", "<|file_sep|>", "<repo_name>", "<file_sep>")
UNUSED = "http://127.0.0.1:9"  # never contacted: `info` with a local tokenizer needs no server


def _ids(family_dir, key: str) -> Tokenizer:
    return Tokenizer.from_file(str(family_dir(key) / "tokenizer.json"))


@pytest.fixture(scope="module")
def local_template(hf_tokenizer):
    """key -> the template detected from what an engine with that local tokenizer reports
    (`tokenizer` setting; LocalEngine collects the same way)."""

    @functools.cache
    def get(key: str) -> FimTemplate:
        eng = OpenAIEngine([UNUSED])
        eng._tokenizer = hf_tokenizer(key)  # as `tokenizer_dir` loads it, without a second load
        return detect_template(eng.info.special_tokens)

    return get


async def _probed_template(url: str) -> FimTemplate:
    eng = OpenAIEngine([url], probe_tokens=detection_tokens(), spec_metrics=False)
    try:
        info = await eng.ready()
    finally:
        await eng.close()
    return detect_template(info.special_tokens)


# -- detection ------------------------------------------------------------------------------


@pytest.mark.parametrize("fam", FIM_FAMILIES, ids=lambda f: f.key)
async def test_detection_local_and_through_the_server_probe_agree(
    fam: Family, family_dir, local_template, tokenizing_server
):
    local = local_template(fam.key)
    server = tokenizing_server(fam.key)
    probed = await _probed_template(server.url)
    assert local.name == fam.template
    assert probed.name == fam.template
    assert probed.repo_style == local.repo_style


@pytest.mark.parametrize("key", ["gpt-2", "llama-2"])
async def test_models_without_fim_tokens_are_refused_both_ways(
    key, family_dir, local_template, tokenizing_server
):
    with pytest.raises(UnknownFimTemplate):
        local_template(key)
    server = tokenizing_server(key)
    with pytest.raises(UnknownFimTemplate):
        await _probed_template(server.url)


@pytest.mark.parametrize("key", ["deepseek-coder", "qwen2.5-coder"])
def test_fim_tokens_marked_non_special_are_still_detected(
    key, hf_tokenizer, family_dir, local_template
):
    """DeepSeek and Qwen publish their FIM tokens with `special: false`: the special-token list
    alone misses them, the added tokens have them."""
    tok = hf_tokenizer(key)
    fim = TEMPLATES[BY_KEY[key].template].prefix
    assert fim not in tok.all_special_tokens
    assert fim in {t.content for t in tok.added_tokens_decoder.values()}
    assert local_template(key).name == BY_KEY[key].template


async def test_lsp_with_an_openai_server_and_no_tokenizer_sends_fim(family_dir, tokenizing_server):
    """The LSP decides the template after probing the server, so a StarCoder2, DeepSeek-Coder or
    Codestral server gets FIM prompts instead of "no known fill-in-the-middle tokens"."""
    from completion.service import CompletionOptions, CompletionService
    from completion.types import CompletionContext
    from lsp_server.engine_manager import build_engine
    from lsp_server.settings import Settings

    for key in ("starcoder2", "deepseek-coder", "codestral"):
        server = tokenizing_server(key)
        settings = Settings(engine="openai", endpoint=[server.url], max_tokens=16)
        engine, _ = build_engine(settings)

        async def get_engine(engine=engine):
            return engine

        # the server's own completion path: the template is decided after the engine's probe
        ctx = CompletionContext("file:///w/a.py", "python", PREFIX + SUFFIX, 1, 4, [])
        result = await CompletionService().request(
            ctx, get_engine, CompletionOptions(max_tokens=16, debounce=False)
        )
        text = result.text
        await engine.close()
        (body,) = server.prompts()
        t = TEMPLATES[BY_KEY[key].template]
        first = t.suffix if t.order == "spm" else t.prefix
        assert body["prompt"].startswith(first), (key, body["prompt"][:40])
        assert text, key


# -- the rendered prompt, token by token --------------------------------------------------------


def _expected_ids(fam: Family, tok: Tokenizer, t: FimTemplate, hf_tokenizer) -> list[int]:
    """The family's own FIM encoding, built from ids (not from Tandem's text)."""

    def enc(s: str) -> list[int]:
        return tok.encode(s, add_special_tokens=False).ids

    def one(s: str) -> int:
        (i,) = enc(s)
        return i

    bos = [tok.token_to_id(fam.bos)] if fam.bos else []
    if fam.key == "codestral":  # the reference: mistral-common's encode_fim
        from mistral_common.protocol.fim.request import FIMRequest
        from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

        mt = MistralTokenizer.v3()
        return mt.encode_fim(FIMRequest(prompt=PREFIX, suffix=SUFFIX)).tokens
    if fam.key == "codellama":  # Meta's infilling_prompt_tokens: suffix without the "▁"
        infill = enc("☺" + SUFFIX)[2:]
        return [*bos, one("<PRE>"), *enc(PREFIX), one("<SUF>"), *infill, one("<MID>")]
    return [*bos, one(t.prefix), *enc(PREFIX), one(t.suffix), *enc(SUFFIX), one(t.middle)]


@pytest.mark.parametrize("fam", FIM_FAMILIES, ids=lambda f: f.key)
def test_fim_prompt_token_ids(fam: Family, family_dir, hf_tokenizer):
    tok = _ids(family_dir, fam.key)
    t = TEMPLATES[fam.template]
    prompt = t.render(PREFIX, SUFFIX)
    # As a server (or LocalEngine) tokenizes a raw prompt: the tokenizer's own special tokens.
    ids = tok.encode(prompt).ids
    assert ids == _expected_ids(fam, tok, t, hf_tokenizer)
    bos_id = tok.token_to_id(fam.bos) if fam.bos else None
    assert (ids[0] == bos_id) == bool(fam.bos) and (ids.count(bos_id) == 1 or not fam.bos)
    used = (t.prefix, t.suffix) if t.order == "spm" else (t.prefix, t.suffix, t.middle)
    markers = [tok.encode(m.strip(), add_special_tokens=False).ids for m in used]
    assert all(len(m) == 1 for m in markers), markers
    order = [ids.index(m[0]) for m in markers]
    if t.order == "spm":
        assert order[1] < order[0]  # suffix first (Codestral)
    else:
        assert order == sorted(order)


def test_codestral_prefix_keeps_its_leading_space(family_dir):
    """mistral-common encodes the prefix with SentencePiece's "▁": `def` is `▁def`, not `def`."""
    tok = _ids(family_dir, "codestral")
    ids = tok.encode(TEMPLATES["codestral"].render("def f():", "")).ids
    pieces = tok.encode("[PREFIX]", add_special_tokens=False).ids
    after = ids[ids.index(pieces[0]) + 1]
    assert tok.id_to_token(after) == "▁def"
    empty = tok.encode(TEMPLATES["codestral"].render("", "x")).ids
    assert tok.id_to_token(empty[-1]) == "[PREFIX]"  # an empty prefix stays empty


@pytest.mark.parametrize("fam", FIM_FAMILIES, ids=lambda f: f.key)
def test_stop_tokens_are_the_family_eos_and_single_tokens(
    fam: Family, family_dir, local_template, hf_tokenizer
):
    tok = _ids(family_dir, fam.key)
    t = local_template(fam.key)
    eos = hf_tokenizer(fam.key).eos_token
    assert eos in t.stop, (fam.key, eos, t.stop)
    for s in t.eos:
        assert len(tok.encode(s, add_special_tokens=False).ids) == 1, (fam.key, s)


def test_granite_4_is_not_qwen(family_dir, local_template):
    t = local_template("granite-4")
    assert t.name == "granite-4" and "<|end_of_text|>" in t.stop and "<|endoftext|>" not in t.stop


# -- repo-level prompts -------------------------------------------------------------------------


@pytest.mark.parametrize("fam", FIM_FAMILIES, ids=lambda f: f.key)
def test_repo_level_only_with_the_tokens(fam: Family, family_dir, local_template):
    tok = _ids(family_dir, fam.key)
    t = local_template(fam.key)
    prompt = t.render(PREFIX, SUFFIX, files=FILES, path="geometry/area.py", repo="shapes")
    if not fam.repo_level:
        assert t.repo_style is None
        assert not any(r in prompt for r in REPO_TOKENS), prompt[:80]
        return
    ids = tok.encode(prompt, add_special_tokens=False).ids
    sep = tok.token_to_id(t.file_sep)
    assert sep is not None and ids.count(sep) == len(FILES) + 1
    assert ids.count(tok.token_to_id(t.repo_name)) == 1


# -- BOS through both engines -------------------------------------------------------------------


@pytest.mark.parametrize("fam", [f for f in FAMILIES if f.template], ids=lambda f: f.key)
def test_local_engine_encodes_bos_exactly_when_the_family_wants_it(fam, hf_tokenizer):
    from inference.local.engine import LocalEngine

    eng = object.__new__(LocalEngine)  # only the tokenizer is needed to encode
    eng.tokenizer = hf_tokenizer(fam.key)
    prompt = TEMPLATES[fam.template].render(PREFIX, SUFFIX)
    ids = eng._encode_prompt(GenerationRequest(prompt=prompt))
    bos_id = eng.tokenizer.convert_tokens_to_ids(fam.bos) if fam.bos else None
    assert (ids[0] == bos_id) == bool(fam.bos)
    assert fam.bos is None or ids.count(bos_id) == 1


def test_local_engine_chat_prompt_gets_no_second_bos(hf_tokenizer):
    from inference.local.engine import LocalEngine

    eng = object.__new__(LocalEngine)
    eng.tokenizer = hf_tokenizer("deepseek-coder")
    eng.tokenizer.chat_template = (
        "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}"
    )
    ids = eng._encode_prompt(GenerationRequest(messages=[{"role": "user", "content": "hi"}]))
    bos = eng.tokenizer.bos_token_id
    assert ids[0] == bos and ids.count(bos) == 1


@pytest.mark.parametrize("key", ["deepseek-coder", "codestral", "qwen2.5-coder"])
async def test_openai_engine_leaves_bos_to_the_server_tokenizer(key, tokenizing_server):
    """The prompt goes out without BOS text and without `add_special_tokens: false`, so the
    server adds the family's BOS once (vLLM's default for completions)."""
    fam = BY_KEY[key]
    server = tokenizing_server(key)
    eng = OpenAIEngine([server.url], probe_tokens=detection_tokens(), spec_metrics=False)
    t = detect_template((await eng.ready()).special_tokens)
    await eng.start(GenerationRequest(prompt=t.render(PREFIX, SUFFIX), max_tokens=8)).text()
    await eng.close()
    (body,) = server.prompts()
    assert body.get("add_special_tokens", True) is True
    ids = server.tokenizer.encode(body["prompt"]).ids
    bos_id = server.tokenizer.token_to_id(fam.bos) if fam.bos else None
    assert (ids[0] == bos_id) == bool(fam.bos)
    assert fam.bos is None or ids.count(bos_id) == 1
