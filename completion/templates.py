"""FIM prompt templates, detected from the tokenizer's special tokens, and the completion mode.

Two modes (`choose_mode`): "fim" when the model has a family's FIM tokens (or the user's
`fimTemplate`, once each of its markers is checked to be one token of this vocabulary), and
"prefix" for every other model: the prompt is the text before the cursor alone, which any base
model continues (Gemma 3, Llama, ...); `PREFIX` is its template. A family's markers never reach
a prompt as plain text: a template whose markers the vocabulary lacks is refused, by name.

Token strings are the ones the model families publish (model cards, tokenizer configs, tech
reports); each is tested against a tokenizer built with that family's special tokens, so a
marker that would not encode to one special token fails a test instead of a user's completion.

Detection walks `DETECTION_ORDER`, most specific first: several families share `<fim_prefix>`
(StarCoder, StarCoder2, Granite, the demo model) or `<|fim_prefix|>` (Qwen, CodeGemma) and are
told apart by their other tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal


class UnknownFimTemplate(ValueError):
    """The model has no FIM tokens we know: completion cannot work with it."""


@dataclass(frozen=True)
class FimTemplate:
    name: str
    prefix: str
    suffix: str
    middle: str
    eos: list[str]
    #: Tokens that, when all present, identify the family.
    markers: tuple[str, ...]
    #: "psm": prefix, suffix, middle; "spm": suffix first (Codestral); "spm-starcoder":
    #: <pre><suf>S<mid>P, StarCoder's SPM. Suffix-first orders put the cursor at the very end
    #: of the prompt, so the next keystroke's prompt extends the previous one and the KV
    #: cache of everything before it is reused.
    #: "prefix": no markers, the prompt is the prefix alone (`PREFIX`, prefix mode).
    order: Literal["psm", "spm", "spm-starcoder", "prefix"] = "psm"
    #: Multi-file layout the model was trained on: "starcoder2" / "qwen" use file separator
    #: tokens; None: other files go into the prefix as comments.
    repo_style: Literal["starcoder2", "qwen"] | None = None
    file_sep: str = ""
    repo_name: str = ""
    #: Other special tokens the model must never emit into a suggestion.
    extra_stops: tuple[str, ...] = ()
    description: str = ""
    aliases: tuple[str, ...] = field(default=())
    #: SPM only: the prefix starts with a space that the tokenizer turns into "▁" (Codestral).
    prefix_space: bool = False

    @property
    def tokens(self) -> list[str]:
        """Every token string this template uses (markers, stops): the data an engine that
        probes a server or reports an override needs, without importing this module."""
        out: list[str] = []
        for tok in [
            *(m.strip() for m in (self.prefix, self.suffix, self.middle)),
            *self.stop,
            *self.markers,
        ]:
            if tok and tok not in out:
                out.append(tok)
        return out

    def without_repo_level(self) -> FimTemplate:
        """This template with other files as prefix comments (the tokenizer lacks the
        repo-level tokens, which would otherwise go into the prompt as plain text)."""
        return replace(self, repo_style=None)

    @property
    def stop(self) -> list[str]:
        """Stop strings: end-of-text tokens plus every marker (a leaked marker ends the text)."""
        out: list[str] = []
        for s in [
            *self.eos,
            *(m.strip() for m in (self.prefix, self.suffix, self.middle)),
            self.file_sep,
            self.repo_name,
            *self.extra_stops,
        ]:
            if s and s not in out:
                out.append(s)
        return out

    def render(
        self,
        prefix: str,
        suffix: str,
        files: Sequence[tuple[str, str]] = (),
        path: str = "",
        repo: str = "",
    ) -> str:
        """The prompt. `files` ((path, text), in prompt order) are used by repo-level layouts
        only; the pipeline puts them into `prefix` as comments for the other templates."""
        if self.order == "prefix":
            return prefix  # the suffix decides where to stop (postprocessing), not the model
        if self.order == "spm":
            # mistral-common's encode_fim: the suffix without SentencePiece's leading "▁", the
            # prefix with it. HF Mistral tokenizers add that "▁" only at the start of the text,
            # so the prefix carries it as a space (an empty prefix stays empty).
            lead = " " if prefix and self.prefix_space else ""
            return f"{self.suffix}{suffix}{self.prefix}{lead}{prefix}"
        if self.order == "spm-starcoder":
            return f"{self.prefix}{self.suffix}{suffix}{self.middle}{prefix}"
        if files and self.repo_style == "starcoder2":
            # <repo_name>R<file_sep>path\ncode ... <file_sep><fim_prefix>path\npre<fim_suffix>..
            head = f"{self.repo_name}{repo}" if repo else ""
            head += "".join(f"{self.file_sep}{p}\n{t}" for p, t in files) + self.file_sep
            return f"{head}{self.prefix}{path}\n{prefix}{self.suffix}{suffix}{self.middle}"
        if files and self.repo_style == "qwen":
            # <|repo_name|>R\n<|file_sep|>path\ncode\n ... <|file_sep|>path\n<|fim_prefix|>...
            head = f"{self.repo_name}{repo}\n" if repo else ""
            head += "".join(f"{self.file_sep}{p}\n{t.rstrip(chr(10))}\n" for p, t in files)
            head += f"{self.file_sep}{path}\n"
            return f"{head}{self.prefix}{prefix}{self.suffix}{suffix}{self.middle}"
        return f"{self.prefix}{prefix}{self.suffix}{suffix}{self.middle}"


_DEEPSEEK_FIM = ("<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>")
_DEEPSEEK_EOS = ["<｜end▁of▁sentence｜>"]
_STARCODER_EOS = ["<|endoftext|>"]
_SC = ("<fim_prefix>", "<fim_suffix>", "<fim_middle>")

TEMPLATES: dict[str, FimTemplate] = {
    t.name: t
    for t in [
        FimTemplate(
            "deepseek",
            *_DEEPSEEK_FIM,
            eos=[*_DEEPSEEK_EOS, "<|EOT|>"],
            markers=(_DEEPSEEK_FIM[0], "<|EOT|>"),
            description="DeepSeek-Coder v1 (its added tokens include the ASCII <|EOT|>)",
            aliases=("deepseek-coder", "deepseek-v1"),
        ),
        FimTemplate(
            "deepseek-v2",
            *_DEEPSEEK_FIM,
            eos=_DEEPSEEK_EOS,
            markers=(_DEEPSEEK_FIM[0],),
            description="DeepSeek-Coder-V2 / DeepSeek-V3 (same FIM layout, no <|EOT|>)",
            aliases=("deepseek-v3", "deepseek-coder-v2"),
        ),
        FimTemplate(
            "codegemma",
            "<|fim_prefix|>",
            "<|fim_suffix|>",
            "<|fim_middle|>",
            eos=["<eos>", "<|file_separator|>", "<end_of_turn>"],
            markers=("<|fim_prefix|>", "<|file_separator|>"),
            description="CodeGemma (Gemma tokenizer: <|file_separator|>, <eos>)",
        ),
        FimTemplate(
            "granite-4",
            "<|fim_prefix|>",
            "<|fim_suffix|>",
            "<|fim_middle|>",
            eos=["<|end_of_text|>"],
            markers=("<|fim_prefix|>", "<|start_of_role|>"),
            extra_stops=("<|fim_pad|>", "<|start_of_role|>"),
            description="IBM Granite 4 (<|fim_*|> tokens like Qwen, <|end_of_text|> eos, "
            "no repo-level tokens)",
            aliases=("granite4",),
        ),
        FimTemplate(
            "qwen",
            "<|fim_prefix|>",
            "<|fim_suffix|>",
            "<|fim_middle|>",
            eos=["<|endoftext|>", "<|fim_pad|>", "<|im_end|>"],
            markers=("<|fim_prefix|>",),
            repo_style="qwen",
            file_sep="<|file_sep|>",
            repo_name="<|repo_name|>",
            description="Qwen2.5-Coder / Qwen3-Coder (repo level: <|repo_name|>, <|file_sep|>)",
            aliases=("qwen2.5-coder", "qwen-coder"),
        ),
        FimTemplate(
            "codestral",
            "[PREFIX]",
            "[SUFFIX]",
            "[MIDDLE]",
            eos=["</s>"],
            markers=("[PREFIX]", "[SUFFIX]"),
            order="spm",
            prefix_space=True,
            description="Codestral / Mistral tokenizer v3+: [SUFFIX]suffix[PREFIX]prefix",
            aliases=("mistral",),
        ),
        FimTemplate(
            "codellama",
            "<PRE> ",
            " <SUF>",
            " <MID>",
            eos=["<EOT>", "</s>"],
            markers=("<PRE>", "<SUF>", "<MID>"),
            description="Code Llama infilling (tokenizer lists them as ▁<PRE>, ▁<SUF>, ...)",
            aliases=("code-llama",),
        ),
        FimTemplate(
            "granite",
            *_SC,
            eos=["<|end_of_text|>", "<|endoftext|>"],
            markers=("<fim_prefix>", "<|start_of_role|>"),
            extra_stops=("<fim_pad>", "<|start_of_role|>"),
            description="IBM Granite 3.x+ (StarCoder FIM tokens, <|end_of_text|> eos); "
            "Granite Code v1 ships the StarCoder tokenizer and is detected as starcoder",
            aliases=("granite-code",),
        ),
        FimTemplate(
            "starcoder2",
            *_SC,
            eos=_STARCODER_EOS,
            markers=("<fim_prefix>", "<repo_name>", "<file_sep>"),
            repo_style="starcoder2",
            file_sep="<file_sep>",
            repo_name="<repo_name>",
            extra_stops=("<fim_pad>",),
            description="StarCoder2 (repo level: <repo_name>, <file_sep>)",
        ),
        FimTemplate(
            "tandem-demo",
            *_SC,
            eos=_STARCODER_EOS,
            markers=("<fim_prefix>", "<file_sep>"),
            # Trained on single-file PSM/SPM only (training/fim.py): other files go
            # into the prefix as comments, <file_sep> is only a stop string. SPM: typing only
            # appends to the prompt, so prefix KV reuse covers all but the new characters.
            order="spm-starcoder",
            file_sep="<file_sep>",
            extra_stops=("<fim_pad>",),
            description="Tandem's own demo models (StarCoder-style SPM)",
            aliases=("tandem", "demo"),
        ),
        FimTemplate(
            "starcoder",
            *_SC,
            eos=_STARCODER_EOS,
            markers=("<fim_prefix>",),
            extra_stops=("<fim_pad>", "<filename>", "<reponame>"),
            description="StarCoder / StarCoderBase / SantaCoder-style <fim_*> tokens",
            aliases=("starcoder1", "stable-code"),
        ),
    ]
}

#: Most specific first; a template whose markers are a subset of another's comes after it.
DETECTION_ORDER: tuple[str, ...] = tuple(TEMPLATES)


def detection_tokens() -> list[str]:
    """Every token detection or stopping may look for: what an engine without a local tokenizer
    probes its server for (passed to it as data, so no list can drift from the templates)."""
    out: list[str] = []
    for t in TEMPLATES.values():
        for tok in t.tokens:
            if tok not in out:
                out.append(tok)
    return out


def _normalize(token: str) -> str:
    # SentencePiece vocabularies spell a leading space as "▁" (Code Llama's "▁<PRE>").
    return token.strip().lstrip("▁").strip()


def template_by_name(name: str) -> FimTemplate:
    key = name.strip().lower()
    if key in TEMPLATES:
        return TEMPLATES[key]
    for t in TEMPLATES.values():
        if key in t.aliases:
            return t
    raise UnknownFimTemplate(
        f"unknown FIM template {name!r}; known: {', '.join(sorted(TEMPLATES))}"
    )


def detect_template(special_tokens: list[str], override: str | None = None) -> FimTemplate:
    """The template for a model, from its special tokens, or the user's override by name."""
    if override:
        return template_by_name(override)
    tokens = {_normalize(t) for t in special_tokens}
    for name in DETECTION_ORDER:
        t = TEMPLATES[name]
        if all(m in tokens for m in t.markers):
            if t.repo_style and not {t.file_sep, t.repo_name} <= tokens:
                return t.without_repo_level()
            return t
    raise UnknownFimTemplate(
        "the model has no known fill-in-the-middle tokens; set `tandem.fimTemplate` "
        f"(one of: {', '.join(sorted(TEMPLATES))}) or use a FIM-trained code model"
    )


class TemplateMismatch(UnknownFimTemplate):
    """The user's `fimTemplate` names markers this model's vocabulary does not have as tokens:
    they would go into the prompt as plain text (the model never stops, echoes them)."""


#: Prefix mode's "template": no markers, no stops of its own (the engine stops at the model's
#: end-of-generation tokens); the prompt is the prefix.
PREFIX = FimTemplate(
    "prefix", "", "", "", eos=[], markers=(), order="prefix",
    description="no FIM tokens: the model continues the text before the cursor",
)  # fmt: skip

#: Values of the `completionPrompt` setting.
MODE_CHOICES = ("auto", "fim", "prefix")


@dataclass(frozen=True)
class CompletionMode:
    """How completion prompts are built for this model, and why (shown in the status and log)."""

    kind: Literal["fim", "prefix"]
    template: FimTemplate
    reason: str = ""

    def describe(self) -> str:
        """`fim: qwen` or `prefix: the model has no FIM tokens`."""
        if self.kind == "fim":
            return f"fim: {self.template.name}" + (f" ({self.reason})" if self.reason else "")
        return f"prefix: {self.reason}" if self.reason else "prefix"


def template_tokens(t: FimTemplate) -> list[str]:
    """The markers a template puts into a prompt (each must be one token of the vocabulary);
    repo-level tokens only when the template uses them."""
    out = [m.strip() for m in (t.prefix, t.suffix, t.middle) if m.strip()]
    if t.repo_style:
        out += [x for x in (t.file_sep, t.repo_name) if x]
    return out


def missing_markers(t: FimTemplate, special_tokens: list[str]) -> list[str]:
    """The template's prompt markers that are not tokens of this vocabulary."""
    tokens = {_normalize(x) for x in special_tokens}
    return [m for m in template_tokens(t) if _normalize(m) not in tokens]


def validated_template(name: str, special_tokens: list[str]) -> FimTemplate:
    """The user's template, checked against the vocabulary. Repo-level tokens the vocabulary
    lacks are dropped (other files then go in as comments, as detection does); a missing FIM
    marker is a `TemplateMismatch` naming the template and the markers."""
    t = template_by_name(name)
    if t.repo_style and missing_markers(t, special_tokens):
        core = t.without_repo_level()
        if not missing_markers(core, special_tokens):
            return core
    missing = missing_markers(t, special_tokens)
    if missing:
        raise TemplateMismatch(
            f"fimTemplate {t.name!r} does not fit this model: its vocabulary has no "
            f"{', '.join(missing)} token{'s' if len(missing) > 1 else ''}, so the markers would "
            "reach the prompt as plain text. Remove `tandem.fimTemplate` (prefix mode needs "
            "none) or name the template of this model's family"
        )
    return t


def choose_mode(
    special_tokens: list[str], fim_template: str | None = None, prompt_mode: str = "auto"
) -> CompletionMode:
    """The completion mode for a model: its FIM tokens (or the validated `fim_template`), else
    prefix mode. `prompt_mode` ("auto", "fim", "prefix": the `completionPrompt` setting)
    forces one; "fim" on a model without FIM tokens is an error, not a silent prefix mode."""
    if prompt_mode not in MODE_CHOICES:
        raise UnknownFimTemplate(
            f"completionPrompt {prompt_mode!r}: expected one of {', '.join(MODE_CHOICES)}"
        )
    if prompt_mode == "prefix":
        return CompletionMode("prefix", PREFIX, "set by completionPrompt")
    if fim_template:
        return CompletionMode(
            "fim", validated_template(fim_template, special_tokens), "set by fimTemplate"
        )
    try:
        return CompletionMode("fim", detect_template(special_tokens))
    except UnknownFimTemplate:
        if prompt_mode == "fim":
            raise UnknownFimTemplate(
                'completionPrompt is "fim" but the model has no known fill-in-the-middle '
                f"tokens; set `tandem.fimTemplate` (one of: {', '.join(sorted(TEMPLATES))}) "
                'or use completionPrompt "auto" (prefix mode)'
            ) from None
        return CompletionMode("prefix", PREFIX, "the model has no FIM tokens")
