"""The pipeline's two entry points, around the engine call."""

from __future__ import annotations

from completion.templates import FimTemplate
from completion.types import CompletionContext, PromptPlan, TokenCounter


def _trim_prefix(prefix: str, count: TokenCounter, budget: int) -> str:
    """Keep the end of the prefix within `budget` tokens, cut on a line boundary."""
    while prefix and count(prefix) > budget:
        cut = prefix.find("\n", len(prefix) // 4)
        prefix = prefix[cut + 1 :] if cut != -1 else prefix[len(prefix) // 2 :]
    return prefix


def _trim_suffix(suffix: str, count: TokenCounter, budget: int) -> str:
    while suffix and count(suffix) > budget:
        cut = suffix.rfind("\n", 0, len(suffix) * 3 // 4)
        suffix = suffix[:cut] if cut != -1 else suffix[: len(suffix) // 2]
    return suffix


def prepare(
    ctx: CompletionContext,
    template: FimTemplate,
    count_tokens: TokenCounter,
    max_prompt_tokens: int = 1536,
    max_tokens: int = 64,
) -> PromptPlan:
    """Context → prompt: a FIM prompt within the token budget (prefix gets 3/4)."""
    prefix = _trim_prefix(ctx.prefix, count_tokens, max_prompt_tokens * 3 // 4)
    suffix = _trim_suffix(ctx.suffix, count_tokens, max_prompt_tokens // 4)
    rest_of_line = ctx.suffix.split("\n", 1)[0]
    multiline = not ctx.current_line[: ctx.character].strip() and not rest_of_line.strip()
    stop = list(template.eos) + ([] if multiline else ["\n"])
    return PromptPlan(
        prompt=template.render(prefix, suffix),
        stop=stop,
        max_tokens=max_tokens,
        multiline=multiline,
        template=template.name,
    )


def finalize(raw: str, ctx: CompletionContext, plan: PromptPlan) -> str:
    """Postprocess the raw model output into the text to insert (may be empty)."""
    text = raw if plan.multiline else raw.split("\n", 1)[0]
    text = text.rstrip()
    rest_of_line = ctx.suffix.split("\n", 1)[0]
    if rest_of_line and text.endswith(rest_of_line):
        text = text[: -len(rest_of_line)]
    return text if text.strip() else ""
