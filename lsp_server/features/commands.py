"""Small utility commands (CodeChat commands live in `codechat.py`)."""

from __future__ import annotations

from lsp_server.protocol import STATUS_COMMAND
from lsp_server.server import TandemServer


def register(server: TandemServer) -> None:
    @server.command(STATUS_COMMAND)
    def status(ls: TandemServer, *args) -> dict:
        """The last status object (same shape as the tandem/status notification)."""
        return ls.last_status
