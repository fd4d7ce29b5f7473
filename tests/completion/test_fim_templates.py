"""FIM templates: detection from real special-token lists, and the real token layout.

Each family's prompt is encoded with a small BPE tokenizer built here with that family's special
tokens; every FIM marker must come out as one special-token id, in the order the family was
trained on. A marker with a typo, a missing space (Code Llama) or the wrong bar character
(DeepSeek's full-width ｜) fails here.
"""

from __future__ import annotations

import pytest
from tokenizers import (
    AddedToken,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    trainers,
)

from completion.templates import (
    DETECTION_ORDER,
    TEMPLATES,
    UnknownFimTemplate,
    detect_template,
    detection_tokens,
    template_by_name,
)

# Special / added tokens as the families' tokenizers list them (what EngineInfo carries).
_SC1_EXTRA = [
    "<filename>", "<gh_stars>", "<issue_start>", "<issue_comment>", "<issue_closed>",
    "<jupyter_start>", "<jupyter_text>", "<jupyter_code>", "<jupyter_output>",
    "<empty_output>", "<commit_before>", "<commit_msg>", "<commit_after>", "<reponame>",
]  # fmt: skip
_FIM = ["<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>"]
REFERENCE_TOKENS: dict[str, list[str]] = {
    "starcoder": ["<|endoftext|>", *_FIM, *_SC1_EXTRA],
    "starcoder2": [
        "<|endoftext|>", *_FIM, "<repo_name>", "<file_sep>", "<issue_start>",
        "<jupyter_script>", "<pr>", "<pr_diff>", "<NAME>", "<EMAIL>", "<KEY>", "<PASSWORD>",
    ],
    "granite": [
        "<|end_of_text|>", *_FIM, *_SC1_EXTRA, "<|start_of_role|>", "<|end_of_role|>",
        "<|tool_call|>",
    ],
    "granite-4": [
        "<|end_of_text|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
        "<|endofprompt|>", "<|start_of_role|>", "<|end_of_role|>", "<|tool_call|>",
    ],
    "tandem-demo": ["<|endoftext|>", *_FIM, "<file_sep>"],
    "deepseek": [
        "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜fim▁hole｜>", "<｜fim▁begin｜>",
        "<｜fim▁end｜>", "<pad>", "<|User|>", "<|Assistant|>", "<|EOT|>",
    ],
    "deepseek-v2": [
        "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜fim▁hole｜>", "<｜fim▁begin｜>",
        "<｜fim▁end｜>", "<｜User｜>", "<｜Assistant｜>", "<｜tool▁calls▁begin｜>",
    ],
    "codellama": ["<unk>", "<s>", "</s>", "▁<PRE>", "▁<MID>", "▁<SUF>", "▁<EOT>"],
    "qwen": [
        "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|box_start|>",
        "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>",
        "<|file_sep|>",
    ],
    "codestral": [
        "<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[TOOL_CALLS]", "[AVAILABLE_TOOLS]",
        "[/AVAILABLE_TOOLS]", "[TOOL_RESULTS]", "[/TOOL_RESULTS]", "[PREFIX]", "[MIDDLE]",
        "[SUFFIX]",
    ],
    "codegemma": [
        "<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>",
        "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|file_separator|>",
    ],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(REFERENCE_TOKENS))
def test_detects_each_family_from_its_tokenizer(name):
    assert detect_template(REFERENCE_TOKENS[name]).name == name


def test_every_template_has_a_reference_and_a_self_consistent_token_set():
    assert set(REFERENCE_TOKENS) == set(TEMPLATES)
    for t in TEMPLATES.values():
        # what an engine reports for a user override (template tokens only) detects the same
        assert detect_template([t.prefix, t.suffix, t.middle, *t.eos, *t.markers]).name == t.name


def test_detection_is_unambiguous_most_specific_first():
    sets = {n: set(TEMPLATES[n].markers) for n in DETECTION_ORDER}
    for i, a in enumerate(DETECTION_ORDER):
        for b in DETECTION_ORDER[i + 1 :]:
            assert sets[a] != sets[b], f"{a} and {b} have the same markers"
            assert not sets[a] < sets[b], f"{b} is more specific than {a} but comes later"


def test_override_by_name_alias_and_case():
    assert detect_template([], "codellama").name == "codellama"
    assert detect_template(REFERENCE_TOKENS["qwen"], "StarCoder2").name == "starcoder2"
    assert detect_template([], "qwen2.5-coder").name == "qwen"
    assert detect_template([], "deepseek-v3").name == "deepseek-v2"
    with pytest.raises(UnknownFimTemplate, match="known: .*tandem-demo"):
        detect_template([], "gpt-9")


def test_model_without_fim_tokens_is_a_clear_error():
    llama3 = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|eot_id|>"]
    with pytest.raises(
        UnknownFimTemplate, match=r"no known fill-in-the-middle tokens.*fimTemplate"
    ):
        detect_template(llama3)


def test_deepseek_markers_use_fullwidth_bars_and_lower_blocks():
    t = TEMPLATES["deepseek"]
    for marker in (t.prefix, t.suffix, t.middle):
        assert marker[1] == "\uff5c" and marker[-2] == "\uff5c" and "\u2581" in marker
        assert "|" not in marker


def test_stop_strings_cover_eos_and_markers():
    for t in TEMPLATES.values():
        assert all(e in t.stop for e in t.eos)
        assert t.prefix.strip() in t.stop and t.suffix.strip() in t.stop
    assert "<file_sep>" in TEMPLATES["tandem-demo"].stop
    assert "<|file_separator|>" in TEMPLATES["codegemma"].stop
    assert set(detection_tokens()) >= {m for t in TEMPLATES.values() for m in t.markers}


# --- real token layout -----------------------------------------------------------------------

CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "for i in range(10):\n    print(i)\n",
    "class Box:\n    def __init__(self, w, h):\n        self.w = w\n",
    "import os\nfrom pathlib import Path\n",
] * 4
PREFIX = "def area(w, h):\n    "
SUFFIX = "\n\nprint(area(2, 3))\n"
FILES = [("geometry/shapes.py", "class Box:\n    pass\n"), ("util.py", "import os\n")]


def _byte_level(specials: list[str], non_special: list[str] = ()) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    if non_special:  # DeepSeek-Coder v1 lists its FIM tokens as non-special added tokens
        tok.add_tokens([AddedToken(t, normalized=False) for t in non_special])
    return tok


def _sentencepiece_like(specials: list[str]) -> Tokenizer:
    """Llama-style: spaces become ▁ and a ▁ is prepended, so `<PRE>` matches as `▁<PRE>`."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    alphabet = sorted(set("".join(CORPUS) + "▁<>()[]:,.=+_/*\n"))
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<unk>"], initial_alphabet=alphabet, show_progress=False
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    tok.add_special_tokens([AddedToken(t, normalized=True) for t in specials])
    return tok


def _marker_sequence(tok: Tokenizer, prompt: str, markers: list[str]) -> list[str]:
    ids = {tok.token_to_id(m): m for m in markers}
    assert None not in ids, "a marker is not in the vocabulary"
    return [ids[i] for i in tok.encode(prompt, add_special_tokens=False).ids if i in ids]


FIM_NAMES = {
    "starcoder": ["<fim_prefix>", "<fim_suffix>", "<fim_middle>"],
    "starcoder2": ["<fim_prefix>", "<fim_suffix>", "<fim_middle>"],
    "granite": ["<fim_prefix>", "<fim_suffix>", "<fim_middle>"],
    "tandem-demo": ["<fim_prefix>", "<fim_suffix>", "<fim_middle>"],
    "deepseek": ["<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"],
    "deepseek-v2": ["<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"],
    "qwen": ["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"],
    "codegemma": ["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"],
    "codestral": ["[SUFFIX]", "[PREFIX]"],  # suffix first
}


@pytest.mark.parametrize("name", sorted(FIM_NAMES))
def test_markers_are_single_special_tokens_in_order(name):
    t = TEMPLATES[name]
    specials = [x for x in REFERENCE_TOKENS[name] if not x.startswith("▁")]
    if name == "deepseek":
        fim = list(FIM_NAMES[name])
        tok = _byte_level([x for x in specials if x not in fim], non_special=fim)
    else:
        tok = _byte_level(specials)
    prompt = t.render(PREFIX, SUFFIX)
    assert _marker_sequence(tok, prompt, specials) == FIM_NAMES[name]
    assert tok.decode(tok.encode(prompt).ids, skip_special_tokens=False) == prompt


def test_code_llama_spacing_matches_the_sentencepiece_tokens():
    tok = _sentencepiece_like(["<PRE>", "<SUF>", "<MID>", "<EOT>"])
    assert tok.normalizer.normalize_str("<PRE>") == "▁<PRE>"  # the vocabulary's spelling
    prompt = TEMPLATES["codellama"].render(PREFIX, SUFFIX)
    seq = _marker_sequence(tok, prompt, ["<PRE>", "<SUF>", "<MID>"])
    assert seq == ["<PRE>", "<SUF>", "<MID>"]
    # without the spaces the markers would not be tokens at all
    bare = _marker_sequence(tok, f"<PRE>{PREFIX}<SUF>{SUFFIX}<MID>", ["<PRE>", "<SUF>", "<MID>"])
    assert bare != ["<PRE>", "<SUF>", "<MID>"]


@pytest.mark.parametrize(
    "name,expected",
    [
        (
            "starcoder2",
            ["<repo_name>", "<file_sep>", "<file_sep>", "<file_sep>", "<fim_prefix>"]
            + ["<fim_suffix>", "<fim_middle>"],
        ),
        (
            "qwen",
            ["<|repo_name|>", "<|file_sep|>", "<|file_sep|>", "<|file_sep|>", "<|fim_prefix|>"]
            + ["<|fim_suffix|>", "<|fim_middle|>"],
        ),
    ],
)
def test_repo_level_layout(name, expected):
    t = TEMPLATES[name]
    tok = _byte_level(REFERENCE_TOKENS[name])
    prompt = t.render(PREFIX, SUFFIX, files=FILES, path="geometry/area.py", repo="shapes")
    assert _marker_sequence(tok, prompt, REFERENCE_TOKENS[name]) == expected
    # file paths sit right after their separator, the current file's path last
    sep = t.file_sep
    assert f"{sep}geometry/shapes.py\nclass Box:" in prompt
    if name == "starcoder2":
        assert prompt.startswith("<repo_name>shapes<file_sep>")
        assert "<file_sep><fim_prefix>geometry/area.py\ndef area(w, h):" in prompt
    else:
        assert prompt.startswith("<|repo_name|>shapes\n<|file_sep|>")
        assert "<|file_sep|>geometry/area.py\n<|fim_prefix|>def area(w, h):" in prompt


def test_without_files_repo_templates_are_plain_fim():
    for name in ("starcoder2", "qwen"):
        t = template_by_name(name)
        assert t.render("a", "b") == f"{t.prefix}a{t.suffix}b{t.middle}"
