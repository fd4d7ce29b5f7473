"""Tandem's language server: thin glue between LSP (pygls) and the pure pipelines."""
