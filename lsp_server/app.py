"""Assemble the server from its feature modules."""

from __future__ import annotations

from lsp_server.features import codechat, commands, events, lifecycle
from lsp_server.server import TandemServer


def create_server() -> TandemServer:
    server = TandemServer()
    lifecycle.register(server)  # completions register at initialize, from the client's caps
    commands.register(server)
    codechat.register(server)
    events.register(server)  # suggestion events, snooze
    return server
