"""Small utility commands (CodeChat commands live in `features/codechat`)."""

from __future__ import annotations

from lsprotocol import types

from lsp_server.protocol import STATUS_COMMAND, Status
from lsp_server.server import TandemServer


def register(server: TandemServer, client_capabilities: types.ClientCapabilities) -> None:
    @server.command(STATUS_COMMAND)
    def status(ls: TandemServer, *args) -> Status:
        """The last status object (same shape as the tandem/status notification)."""
        return ls.last_status
