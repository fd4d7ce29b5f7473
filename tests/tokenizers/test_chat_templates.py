"""CodeChat prompts with real chat templates (llama.cpp's models/templates, the GGUF headers):
system turns folded where a template rejects them, reasoning templates that open <think> in the
prompt, the family's end-of-turn as a stop (one token), and answers in the question's language.
"""

from __future__ import annotations

import logging

import pytest
from real_families import BY_KEY

from codechat.prompts import build_prompt
from codechat.tasks import ChatTask
from codechat.thinking import ThinkFilter, strip_think

CODE = "def area(w, h):\n    return w * h\n"


def _task(action: str = "refactor", instruction: str = "") -> ChatTask:
    return ChatTask(action, "/w/geometry.py", "python", CODE, 0, len(CODE), instruction)


def _renderer(tok, template_file: str | None, real_dir):
    """What LocalEngine.render_chat does, with the template of `template_file` (or the
    tokenizer's own)."""
    template = (real_dir / "templates" / template_file).read_text() if template_file else None

    def render(messages):
        return tok.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, chat_template=template
        )

    return render


def _one_token(tok, text: str) -> bool:
    return len(tok.encode(text, add_special_tokens=False)) == 1


# (case, tokenizer family key, template file or None for the tokenizer's own, end-of-turn)
CASES = [
    ("gemma-2", "codegemma", "google-gemma-2-2b-it.jinja", "<end_of_turn>"),
    ("gemma-4", "codegemma", "google-gemma-4-31B-it.jinja", "<turn|>"),
    ("qwen2.5", "qwen2.5-coder", None, "<|im_end|>"),
    ("qwq", "qwen2.5-coder", "Qwen-QwQ-32B.jinja", "<|im_end|>"),
    ("granite-3", "granite-3", None, "<|end_of_text|>"),
    ("granite-4", "granite-4", None, "<|end_of_text|>"),
    ("r1-distill", "deepseek-r1-qwen", "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", None),
    ("r1-gguf", "deepseek-r1-qwen", None, None),
]


@pytest.mark.parametrize("case,key,template,eot", CASES, ids=[c[0] for c in CASES])
def test_chat_prompt_with_the_real_template(
    case, key, template, eot, hf_tokenizer, real_dir, caplog
):
    tok = hf_tokenizer(key)
    render = _renderer(tok, template, real_dir)
    with caplog.at_level(logging.DEBUG, logger="codechat.prompts"):
        prompt = build_prompt(_task("ask", "Что делает эта функция?"), CODE, "auto", render)
    assert prompt.format.startswith("template"), prompt.note
    # the system turn (Tandem's role and language instruction) reaches the model either way
    assert "Answer in Russian" in prompt.text
    if case == "gemma-2":  # "System role not supported": folded into the user turn, logged
        assert prompt.format == "template (system folded into user)"
        assert "System role not supported" in caplog.text
    if eot:
        assert eot in prompt.stop and _one_token(tok, eot), (prompt.stop, eot)
    else:  # R1 ends a turn with its EOS, which the engine stops on
        assert tok.eos_token == "<｜end▁of▁sentence｜>" and _one_token(tok, tok.eos_token)


def test_deepseek_llm_chat_folds_the_system_turn_and_stops_at_its_eos(hf_tokenizer, real_dir):
    """DeepSeek LLM chat has no system role; its vocabulary has no chat template here, so the
    plain "deepseek" format is used, with the real tokenizer."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(real_dir / "deepseek-llm"), local_files_only=True)
    prompt = build_prompt(_task("explain"), CODE, "deepseek", lambda m: None)
    assert prompt.text.startswith("User: You are Tandem")
    assert "<｜end▁of▁sentence｜>" in prompt.stop and _one_token(tok, "<｜end▁of▁sentence｜>")
    assert tok.eos_token == "<｜end▁of▁sentence｜>"


@pytest.mark.parametrize(
    "key,template,opens",
    [
        # opens <think> in the generation prompt: the output has only </think>
        ("deepseek-r1-qwen", "llama-cpp-deepseek-r1.jinja", True),
        # llama.cpp's R1-Distill and QwQ templates close it again unless enable_thinking is set
        ("deepseek-r1-qwen", "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", False),
        ("qwen2.5-coder", "Qwen-QwQ-32B.jinja", False),
    ],
)
def test_reasoning_templates_open_think_and_the_reasoning_is_hidden(
    key, template, opens, hf_tokenizer, real_dir
):
    tok = hf_tokenizer(key)
    prompt = build_prompt(_task("refactor"), CODE, "auto", _renderer(tok, template, real_dir))
    if not opens:  # an empty, closed think block: the answer (and Tandem's fence) follows
        assert not prompt.starts_thinking and "<think>\n</think>" in prompt.text
        assert prompt.prefill == "```python\n" and prompt.text.endswith("</think>```python\n")
        return
    assert prompt.starts_thinking and prompt.text.rstrip().endswith("<think>")
    assert prompt.prefill == ""  # no code fence after an open <think>
    assert _one_token(tok, "</think>")
    # the model's output has only the closing tag
    out = "The user wants a refactor.\nKeep names.\n</think>\n\n```python\ndef area(w, h): ...\n```"
    assert strip_think(out, inside=True) == "```python\ndef area(w, h): ...\n```"
    f = ThinkFilter(inside=True)
    streamed = "".join(f.feed(out[i : i + 3]) for i in range(0, len(out), 3)) + f.flush()
    assert streamed == "```python\ndef area(w, h): ...\n```"


def test_r1_template_writes_bos_itself(hf_tokenizer, real_dir):
    """R1 wants BOS (add_bos_token: true in its GGUF) and its template writes it: chat prompts
    are encoded without adding another."""
    tok = hf_tokenizer("deepseek-r1-qwen")
    prompt = build_prompt(_task("explain"), CODE, "auto", _renderer(tok, None, real_dir))
    ids = tok.encode(prompt.text, add_special_tokens=False)
    assert ids[0] == tok.bos_token_id and ids.count(tok.bos_token_id) == 1


@pytest.mark.parametrize(
    "question,lang", [("这个函数做什么？", "Chinese"), ("What does it do?", "English")]
)
def test_answers_in_the_questions_language(question, lang, hf_tokenizer, real_dir):
    tok = hf_tokenizer("qwen2.5-coder")
    prompt = build_prompt(_task("ask", question), CODE, "auto", _renderer(tok, None, real_dir))
    assert f"Answer in {lang}" in prompt.text
    assert prompt.answer_language == {"Chinese": "zh", "English": "en"}[lang]


def test_a_template_that_fails_outright_falls_back_with_the_reason(caplog):
    def broken(messages):
        raise ValueError("unknown filter 'tojson_pretty'")

    with caplog.at_level(logging.DEBUG, logger="codechat.prompts"):
        prompt = build_prompt(_task("explain"), CODE, "auto", broken)
    assert prompt.format == "alpaca"
    assert "tojson_pretty" in (prompt.note or "") and "tojson_pretty" in caplog.text


def test_family_table_is_complete():
    assert {c[1] for c in CASES} <= set(BY_KEY)
