"""Text and syntax helpers shared by completion/, codechat/ and lsp_server/: LSP line breaks and
tree-sitter parsing. Imports nothing of ours."""
