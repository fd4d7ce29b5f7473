"""Assemble the server from its feature modules."""

from __future__ import annotations

from lsp_server.features import commands, lifecycle
from lsp_server.server import TandemServer


def create_server() -> TandemServer:
    server = TandemServer()
    lifecycle.register(server)
    commands.register(server)
    try:  # CodeChat glue lives in its own module (added by the CodeChat work)
        from lsp_server.features import codechat
    except ImportError:
        codechat = None
    if codechat is not None:
        codechat.register(server)
    return server
