"""One module per LSP feature; each declares its capabilities from the client's."""
