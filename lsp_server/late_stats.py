"""Per-request numbers that arrive after the answer (see `GenerationStats.on_settled`).

The openai engine learns a request's speculative counts from vLLM's `/metrics` in the background,
after the text went back to the editor. When they land, the request's `tandem/status` numbers
are updated in place, the session's speculative totals count them, and the status is sent again
when it still describes that request (a newer request's status, an error or a state change is
never overwritten by an older request; the session totals reach the client with the next
status either way).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from inference.base import GenerationStats
from lsp_server.protocol import StatusRequest
from lsp_server.server import TandemServer

log = logging.getLogger(__name__)


def follow(
    ls: TandemServer,
    request: StatusRequest | dict,
    stats: GenerationStats | None,
    *,
    count: bool,
    log_language: str = "",
) -> None:
    """Keep `request["stats"]` (already sent) in step with `stats` once they settle. `count`:
    add the late speculative counts to the session totals (completions; CodeChat answers are
    not suggestions and never entered them). `log_language`: the request's suggestion was
    logged (`tandem stats`), so log the late counts too."""
    if stats is None or stats.settled:
        return
    reported = dict(request.get("stats") or {})

    def landed(final: GenerationStats) -> None:
        try:
            fresh = final.to_dict()
            if count:
                ls.session.record_late_stats(reported, fresh)
            gained = {
                name: int(fresh.get(key) or 0) - int(reported.get(key) or 0)
                for name, key in (("draftedTokens", "drafted_tokens"),
                                  ("acceptedTokens", "accepted_tokens"))
            }  # fmt: skip
            if log_language and any(gained.values()):
                ls.events.append("speculation", language=log_language, **gained)
            request["stats"] = fresh
            if _still_latest(ls.last_status, request):
                ls.send_status(ls.last_status["state"], ls.last_status["message"], request)
            log.debug("late stats for a %s request: %s", request.get("kind"), fresh)
        except Exception:  # the answer is long gone: never let this hurt the server
            log.exception("applying late request stats failed")

    stats.on_settled(landed)


def _still_latest(last: Mapping[str, Any], request: Mapping[str, Any]) -> bool:
    """Whether the last status still describes `request`: it carries it, or it is a plain
    "ready" without any request (a shown/accepted event re-sends the status that way)."""
    if "request" in last:
        return last["request"] is request
    return last.get("state") == "ready" and not last.get("message")
