"""The pipeline's two entry points, around the engine call.

prepare:  cursor analysis -> cross-file snippets -> budgeted prefix/suffix -> template
finalize: raw output -> postprocess filters -> the edit to offer ("" = no suggestion)

The edit is the text plus the range of the cursor line it replaces (see `Edit`): the cursor
line's indentation when the cursor is inside it, so the offered text carries the full
indentation the code needs; the closers after a mid-line cursor that the suggestion re-types.
"""

from __future__ import annotations

import dataclasses
import os

from completion.context.budget import fit_prefix_counted, fit_suffix_counted
from completion.context.snippets import (
    Snippet,
    display_path,
    lookup_text,
    query_text,
    rank_snippets,
    select_snippets,
)
from completion.cursor import Cursor, analyze, rest_is_closers
from completion.postprocess import leak, postprocess, stop_strings
from completion.templates import FimTemplate
from completion.types import CompletionContext, Edit, PromptPlan, TokenCounter

#: Share of the prompt budget cross-file snippets may take.
SNIPPET_SHARE = 0.25
#: Share of the code budget the suffix gets before the prefix has taken what it needs.
SUFFIX_SHARE = 0.25


def _comment_block(snippets: list[Snippet], cur: Cursor) -> str:
    """Snippets as comments in the current file's language, placed before the prefix."""
    return "".join(_render_comment(s, cur) for s in snippets)


def _render_comment(s: Snippet, cur: Cursor) -> str:
    return cur.lang.comment(f"Path: {s.path}") + cur.lang.comment(s.text.rstrip("\n"))


def _render_file(s: Snippet, template: FimTemplate) -> str:
    return f"{template.file_sep}{s.path}\n{s.text}"


def prepare(
    ctx: CompletionContext,
    template: FimTemplate,
    count_tokens: TokenCounter,
    max_prompt_tokens: int = 1536,
    max_tokens: int = 64,
    *,
    workspace_root: str | None = None,
) -> PromptPlan:
    """Context -> prompt: a FIM prompt within `max_prompt_tokens` (snippets, prefix, suffix).

    `workspace_root`, when known, gives workspace-relative paths and lets `.gitignore` keep
    ignored files out of the prompt.
    """
    cur = analyze(ctx)
    if template.order == "prefix":
        return _prepare_prefix(ctx, cur, template, count_tokens, max_prompt_tokens, max_tokens,
                               workspace_root)  # fmt: skip
    repo_level = template.repo_style is not None
    avail = max(16, max_prompt_tokens - count_tokens(template.render("", "")) - 4)

    candidates = rank_snippets(query_text(ctx.prefix), ctx.other_documents, ctx.uri, workspace_root)
    snippets = select_snippets(
        candidates,
        count_tokens,
        int(avail * SNIPPET_SHARE),
        (lambda s: _render_file(s, template))
        if repo_level
        else (lambda s: _render_comment(s, cur)),
    )
    head = "" if repo_level else _comment_block(snippets, cur)
    files = [(s.path, s.text) for s in snippets] if repo_level else []
    used = (
        count_tokens(head)
        if head
        else sum(count_tokens(_render_file(s, template)) for s in snippets)
    )

    code = max(8, avail - used)
    # Each fit reports the tokens it charged (a sum of memoized line counts), so a 10k-line
    # document's request never tokenizes the joined prefix or suffix again.
    suffix, suffix_tokens = fit_suffix_counted(ctx.suffix, count_tokens, int(code * SUFFIX_SHARE))
    prefix, prefix_tokens = fit_prefix_counted(
        ctx.prefix, count_tokens, code - suffix_tokens, n_lines=ctx.line + 1
    )
    if prefix == ctx.prefix and suffix != ctx.suffix:  # the prefix left room: give it back
        suffix = fit_suffix_counted(ctx.suffix, count_tokens, code - prefix_tokens)[0]

    prompt = template.render(
        head + prefix,
        suffix,
        files=files,
        path=display_path(ctx.uri, workspace_root),
        repo=os.path.basename(workspace_root.rstrip("/\\")) if workspace_root else "",
    )
    stop = template.stop + ([] if cur.multiline else ["\n"])
    if head:
        cur = dataclasses.replace(cur, context_lines=leak.context_lines(head))
    return PromptPlan(
        prompt=prompt,
        stop=stop,
        max_tokens=max_tokens,
        multiline=cur.multiline,
        template=template.name,
        lookup_text=lookup_text(ctx.other_documents, ctx.uri, workspace_root),
        mode=cur.mode,
        context_uris=sorted({s.uri for s in snippets}),
        cursor=cur,
    )


def _prepare_prefix(
    ctx: CompletionContext,
    cur: Cursor,
    template: FimTemplate,
    count_tokens: TokenCounter,
    max_prompt_tokens: int,
    max_tokens: int,
    workspace_root: str | None,
) -> PromptPlan:
    """Prefix mode: the prompt is the text before the cursor, nothing else (the engine adds BOS
    as the model wants). Measured on Gemma 3 270M (README, "Which models get which mode"): the
    suffix or other files ahead of the prefix cost more passes than they gave and came back
    echoed, so they stay out of the prompt; the suffix decides where the suggestion ends
    (postprocessing), the other files feed prompt lookup only. The prefix start is anchored
    (`fit_prefix_counted`), so the next keystroke's prompt extends this one (KV reuse)."""
    budget = max(16, max_prompt_tokens - 4)
    prefix, _ = fit_prefix_counted(ctx.prefix, count_tokens, budget, n_lines=ctx.line + 1)
    stop = [] if cur.multiline else ["\n"]
    return PromptPlan(
        prompt=template.render(prefix, ""),
        stop=stop,
        max_tokens=max_tokens,
        multiline=cur.multiline,
        template=template.name,
        lookup_text=lookup_text(ctx.other_documents, ctx.uri, workspace_root),
        mode=cur.mode,
        context_uris=[],
        cursor=dataclasses.replace(cur, prefix_mode=True),
        prompt_mode="prefix",
    )


def finalize(raw: str, ctx: CompletionContext, plan: PromptPlan) -> str:
    """The text of the edit to offer (what the LSP item's insertText is; may be empty)."""
    return finalize_edit(raw, ctx, plan).text


def finalize_edit(raw: str, ctx: CompletionContext, plan: PromptPlan) -> Edit:
    """Postprocess the raw model output into the edit to offer (empty text: no suggestion)."""
    cur = cursor_for(ctx, plan)
    return to_edit(postprocess(raw, cur), raw, cur)


def cursor_for(ctx: CompletionContext, plan: PromptPlan) -> Cursor:
    """The cursor as `prepare` saw it (the plan's mode and stop strings): prepare's own reading
    when the plan is for this very text, else read again."""
    cur = plan.cursor
    prefix_mode = plan.prompt_mode == "prefix"
    if isinstance(cur, Cursor) and cur.prefix is ctx.prefix and cur.suffix is ctx.suffix:
        mode = plan.mode or cur.mode
        return dataclasses.replace(
            cur, mode=mode, stop=tuple(plan.stop), cache={}, prefix_mode=prefix_mode
        )
    fresh = analyze(ctx, mode=plan.mode or None, stop=tuple(plan.stop))
    fresh.prefix_mode = prefix_mode
    if isinstance(cur, Cursor):
        fresh.context_lines = cur.context_lines
    return fresh


def to_edit(text: str, raw: str, cur: Cursor) -> Edit:
    """The postprocessed text as an edit of the cursor line (see the module docstring)."""
    if not text:
        return Edit("")
    if cur.mode != "inline" and cur.before and cur.in_indentation:
        return Edit(cur.before + text, replace_before=len(cur.before), at_cursor=text)
    closers = cur.after.rstrip()
    if cur.mode == "inline" and closers and rest_is_closers(cur.after):
        said = stop_strings.apply(raw, cur)
        plain = text.replace("\r\n", "\n")
        if said.startswith(plain) and said[len(plain) :].startswith(closers):
            return Edit(text + closers, replace_after=len(closers), at_cursor=text)
    return Edit(text, at_cursor=text)
