"""Context stage: what goes into the prompt (budgeted prefix/suffix, cross-file snippets)."""
