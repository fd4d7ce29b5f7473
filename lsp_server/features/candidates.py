"""Several distinct suggestions for one explicit request, for cycling through them.

The greedy suggestion comes first (the one typing shows); alternatives are sampled, finalized by
the same completion pipeline and kept only if they differ after postprocessing. Only explicit
requests (the user asked to see more) pay for them; suggestions while typing stay at one.
"""

from __future__ import annotations

import logging

from completion import CompletionContext
from completion.service import CompletionOptions
from completion.templates import UnknownFimTemplate
from completion.types import Edit
from inference.base import EngineError, GenerationCancelled
from lsp_server.server import TandemServer

log = logging.getLogger(__name__)

#: Sampling temperature for the alternatives (the first suggestion stays greedy).
ALTERNATIVE_TEMPERATURE = 0.8


def distinct(edits: list[Edit]) -> list[Edit]:
    """Pure: non-blank suggestions, first occurrence of each (compared as the text they leave
    at the cursor, without trailing blanks)."""
    seen: set[str] = set()
    out: list[Edit] = []
    for e in edits:
        key = (e.at_cursor or e.text).rstrip()
        if not key.strip() or key in seen:
            continue
        seen.add(key)
        out.append(e)
    return out


async def alternatives(
    ls: TandemServer, ctx: CompletionContext, first: Edit, want: int
) -> list[Edit]:
    """Up to `want - 1` suggestions distinct from `first` and each other; tries at most twice
    as many generations, and stops early on an engine error or cancellation by a newer request."""
    settings = ls.settings
    texts = distinct([first])
    if want <= 1:
        return []
    options = CompletionOptions(
        fim_template=settings.fim_template,
        prompt_mode=settings.completion_prompt,
        max_prompt_tokens=settings.max_prompt_tokens,
        max_tokens=settings.max_tokens,
        workspace_root=ls.workspace.root_path,
        temperature=max(settings.temperature, ALTERNATIVE_TEMPERATURE),
        strategy="plain",
    )
    try:
        engine = await ls.engines.get(settings)
    except EngineError as exc:
        log.warning("candidates: %s", exc)
        return []
    for _ in range(2 * (want - 1)):
        if len(texts) >= want:
            break
        try:
            result = await ls.completions.alternative(ctx, engine, options)
        except GenerationCancelled:
            break
        except (EngineError, UnknownFimTemplate) as exc:
            log.warning("candidates: %s", exc)
            break
        if result.edit is not None:
            texts = distinct([*texts, result.edit])
    return [e for e in texts if e is not first][: want - 1]
