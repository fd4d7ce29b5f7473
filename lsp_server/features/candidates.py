"""Several distinct suggestions for one explicit request, for cycling through them.

The greedy suggestion comes first (the one typing shows); alternatives are sampled, finalized by
the same completion pipeline and kept only if they differ after postprocessing. Only explicit
requests (the user asked to see more) pay for them; suggestions while typing stay at one.
"""

from __future__ import annotations

import logging

from completion import CompletionContext
from completion.service import complete
from completion.templates import UnknownFimTemplate, detect_template
from inference.base import EngineError, GenerationCancelled
from lsp_server.server import TandemServer

log = logging.getLogger(__name__)

#: Sampling temperature for the alternatives (the first suggestion stays greedy).
ALTERNATIVE_TEMPERATURE = 0.8


def distinct(texts: list[str]) -> list[str]:
    """Pure: non-blank texts, first occurrence of each (compared without trailing blanks)."""
    seen: set[str] = set()
    out: list[str] = []
    for t in texts:
        key = t.rstrip()
        if not key.strip() or key in seen:
            continue
        seen.add(key)
        out.append(t)
    return out


async def alternatives(
    ls: TandemServer, ctx: CompletionContext, first: str, want: int
) -> list[str]:
    """Up to `want - 1` suggestions distinct from `first` and each other; tries at most twice
    as many generations, and stops early on an engine error or cancellation by a newer request."""
    settings = ls.settings
    texts = distinct([first])
    if want <= 1:
        return []
    try:
        engine = await ls.engines.get(settings)
        template = detect_template(engine.info.special_tokens, settings.fim_template)
    except (EngineError, UnknownFimTemplate) as exc:
        log.warning("candidates: %s", exc)
        return []
    for _ in range(2 * (want - 1)):
        if len(texts) >= want:
            break
        try:
            result = await complete(
                ctx,
                engine,
                template,
                max_prompt_tokens=min(
                    settings.max_prompt_tokens, engine.info.max_context_tokens - settings.max_tokens
                ),
                max_tokens=settings.max_tokens,
                workspace_root=ls.workspace.root_path,
                temperature=max(settings.temperature, ALTERNATIVE_TEMPERATURE),
                strategy="plain",
            )
        except GenerationCancelled:
            break
        except EngineError as exc:
            log.warning("candidates: %s", exc)
            break
        texts = distinct([*texts, result.text])
    return [t for t in texts if t.rstrip() != first.rstrip()][: want - 1]
