"""Completion modes: FIM when the model has FIM tokens (or a `fimTemplate` whose markers are its
tokens), prefix mode for every other model; a template that does not fit is refused by name."""

from __future__ import annotations

import pytest
from cmpl_helpers import ctx_at_marker, words

from completion.pipeline import prepare
from completion.templates import (
    PREFIX,
    TEMPLATES,
    TemplateMismatch,
    UnknownFimTemplate,
    choose_mode,
    missing_markers,
    validated_template,
)
from completion.types import OpenDocument

#: Gemma 3's control tokens as the GGUF lists them (a base model: no FIM tokens).
GEMMA3 = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "[multimodal]", "<start_of_turn>",
          "<end_of_turn>", "<start_of_image>", "<end_of_image>", "<unused0>"]  # fmt: skip
QWEN = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|fim_prefix|>", "<|fim_middle|>",
        "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"]  # fmt: skip
STARCODER = ["<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>"]


def test_a_model_without_fim_tokens_gets_prefix_mode():
    mode = choose_mode(GEMMA3)
    assert mode.kind == "prefix" and mode.template is PREFIX
    assert mode.describe() == "prefix: the model has no FIM tokens"


def test_a_fim_model_gets_its_template():
    mode = choose_mode(QWEN)
    assert (mode.kind, mode.template.name, mode.describe()) == ("fim", "qwen", "fim: qwen")


def test_prefix_mode_can_be_forced_on_a_fim_model():
    mode = choose_mode(QWEN, prompt_mode="prefix")
    assert mode.kind == "prefix" and "completionPrompt" in mode.describe()


def test_forcing_fim_on_a_model_without_fim_tokens_is_an_error():
    with pytest.raises(UnknownFimTemplate, match='completionPrompt is "fim"'):
        choose_mode(GEMMA3, prompt_mode="fim")


def test_a_forced_template_whose_markers_are_missing_is_refused_by_name():
    with pytest.raises(TemplateMismatch) as err:
        choose_mode(GEMMA3, "codegemma")
    msg = str(err.value)
    assert "'codegemma'" in msg
    for marker in ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"):
        assert marker in msg
    assert "plain text" in msg


def test_a_template_that_fits_only_partly_names_just_the_missing_marker():
    tokens = ["<|fim_prefix|>", "<|fim_suffix|>", "<eos>"]
    with pytest.raises(TemplateMismatch, match=r"no <\|fim_middle\|> token,"):
        validated_template("codegemma", tokens)


def test_a_fitting_template_is_accepted_and_repo_tokens_dropped_when_absent():
    assert choose_mode(QWEN, "qwen").template.name == "qwen"
    assert choose_mode(QWEN, "qwen").reason == "set by fimTemplate"
    t = validated_template("qwen", [x for x in QWEN if x not in ("<|file_sep|>", "<|repo_name|>")])
    assert t.name == "qwen" and t.repo_style is None
    # Code Llama's vocabulary spells its markers with SentencePiece's leading "▁"
    assert validated_template("codellama", ["▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>"]).name == (
        "codellama"
    )
    # an unknown name stays an UnknownFimTemplate listing the known ones
    with pytest.raises(UnknownFimTemplate, match="known: .*qwen"):
        choose_mode(QWEN, "gpt-9")


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_template_fits_its_own_markers_and_not_gemma(name):
    t = TEMPLATES[name]
    own = [t.prefix, t.suffix, t.middle, t.file_sep, t.repo_name, *t.eos]
    assert missing_markers(t, [x for x in own if x]) == []
    assert missing_markers(t, GEMMA3), f"{name}'s markers must not be found in Gemma 3's"


def test_prefix_prompt_is_the_prefix_alone_and_extends_with_typing():
    others = [OpenDocument("file:///ws/util.py", "python", "def helper(values):\n    return 1\n")]
    doc = "import os\n\n\ndef total(values):\n    result = helper(values)\n    x = r█ * 2\n\nprint(1)\n"
    ctx = ctx_at_marker(doc, others=others)
    plan = prepare(ctx, PREFIX, words)
    assert plan.prompt == ctx.prefix
    assert plan.prompt_mode == "prefix" and plan.template == "prefix"
    assert "Path:" not in plan.prompt and "print(1)" not in plan.prompt
    assert plan.stop == ["\n"]  # mid-line before code: one line
    # the next keystroke's prompt extends this one (the engine reuses the KV prefix)
    more = prepare(ctx_at_marker(doc.replace("r█", "re█"), others=others), PREFIX, words)
    assert more.prompt.startswith(plan.prompt)
