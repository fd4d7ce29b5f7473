"""FIM prompt templates, detected from the tokenizer's special tokens."""

from __future__ import annotations

from dataclasses import dataclass


class UnknownFimTemplate(ValueError):
    """The model has no FIM tokens we know: completion cannot work with it."""


@dataclass(frozen=True)
class FimTemplate:
    name: str
    prefix: str
    suffix: str
    middle: str
    eos: list[str]
    #: Tokens that, when present, identify the family.
    markers: tuple[str, ...]

    def render(self, prefix: str, suffix: str) -> str:
        return f"{self.prefix}{prefix}{self.suffix}{suffix}{self.middle}"


TEMPLATES: dict[str, FimTemplate] = {
    t.name: t
    for t in [
        FimTemplate(
            "deepseek",
            "<｜fim▁begin｜>",
            "<｜fim▁hole｜>",
            "<｜fim▁end｜>",
            ["<｜end▁of▁sentence｜>", "<|EOT|>"],
            ("<｜fim▁begin｜>",),
        ),
        FimTemplate(
            "qwen",
            "<|fim_prefix|>",
            "<|fim_suffix|>",
            "<|fim_middle|>",
            ["<|endoftext|>", "<|fim_pad|>", "<|file_sep|>"],
            ("<|fim_prefix|>",),
        ),
        FimTemplate(
            "starcoder",
            "<fim_prefix>",
            "<fim_suffix>",
            "<fim_middle>",
            ["<|endoftext|>", "<file_sep>"],
            ("<fim_prefix>",),
        ),
    ]
}


def detect_template(special_tokens: list[str], override: str | None = None) -> FimTemplate:
    if override:
        try:
            return TEMPLATES[override]
        except KeyError:
            raise UnknownFimTemplate(
                f"unknown FIM template {override!r}; known: {', '.join(sorted(TEMPLATES))}"
            ) from None
    tokens = set(special_tokens)
    for t in TEMPLATES.values():
        if all(m in tokens for m in t.markers):
            return t
    raise UnknownFimTemplate(
        "the model has no known fill-in-the-middle tokens; set `tandem.fimTemplate` "
        f"(one of: {', '.join(sorted(TEMPLATES))}) or use a FIM-trained code model"
    )
