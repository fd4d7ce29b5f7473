"""The real Tandem server (`create_server`, stdio) plus one test-only command,
`tandemTest.documentText {uri}`: the text every feature reads for that document (its snapshot),
so the document-sync property test can compare it with the editor's after each change."""

from __future__ import annotations

from lsp_server.app import create_server
from lsp_server.documents import snapshot
from lsp_server.server import TandemServer, configure_logging

server = create_server()


@server.command("tandemTest.documentText")
def document_text(ls: TandemServer, *args) -> str:
    return snapshot(ls.workspace, args[0]["uri"], 1 << 30).text


if __name__ == "__main__":
    configure_logging(server, "WARNING")
    server.start_io()
