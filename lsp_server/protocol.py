"""Tandem's custom LSP methods: the one documented place for everything beyond the spec.

Server → client notifications
-----------------------------
``tandem/status`` — after every completion/CodeChat request and on engine state changes::

    {
      "state": "loading" | "ready" | "generating" | "error" | "disabled",
      "message": str,                # human-readable, e.g. the error
      "engine": "local" | "openai",
      "model": str,
      "request": {                   # absent for pure state changes
        "kind": "inline" | "completion" | "codechat",
        "latencyMs": float,          # request received → answer sent
        "cached": bool,              # served by typeahead, no model call
        "stats": {...}               # inference.base.GenerationStats.to_dict()
      }
    }

Editors show it in a status line: latency, tokens/s and speculative acceptance.

``tandem/chatProgress`` — streamed CodeChat text (also sent as workDoneProgress reports)::

    {"token": str | int, "text": str, "done": bool}

Commands (workspace/executeCommand)
-----------------------------------
See ``lsp_server.features.codechat`` for ``tandem.refactor``, ``tandem.tests``, ``tandem.docs``,
``tandem.explain``, ``tandem.ask``; and ``tandem.status`` (returns the last status object).
"""

from __future__ import annotations

STATUS_NOTIFICATION = "tandem/status"
CHAT_PROGRESS_NOTIFICATION = "tandem/chatProgress"
STATUS_COMMAND = "tandem.status"
