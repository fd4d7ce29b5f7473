"""Postprocess stage: raw model output -> the text to insert. One filter per module.

The order matters: cut at stop strings first, then remove repetition and what the suffix
already has, then fix layout, then the syntax-aware cut, then cosmetics.

A correct answer passes unchanged (tests/completion/test_perfect_answers.py): the model's
indentation and line layout are trusted unless they cannot be right. Mid-line policy: several
lines only when the rest of the line is closers or whitespace, and only while the statement
begun on the cursor line is open (`block_end`); the re-typed closers become part of the edit's
range (`completion.pipeline.to_edit`). `stream` runs the same filters on the stream and stops
the generation once the suggestion is over.
"""

from __future__ import annotations

from completion.cursor import Cursor
from completion.postprocess import (
    auto_closed,
    block_end,
    drop_short,
    indentation,
    leak,
    prefix_overrun,
    repetition,
    stop_strings,
    suffix_overlap,
    syntax_truncate,
    trim_whitespace,
)
from completion.postprocess.base import Filter

FILTERS: dict[str, Filter] = {
    "stop_strings": stop_strings.apply,
    "leak": leak.apply,
    "prefix_overrun": prefix_overrun.apply,
    "repetition": repetition.apply,
    "suffix_overlap": suffix_overlap.apply,
    "auto_closed": auto_closed.apply,
    "indentation": indentation.apply,
    "block_end": block_end.apply,
    "syntax_truncate": syntax_truncate.apply,
    "trim_whitespace": trim_whitespace.apply,
    "drop_short": drop_short.apply,
}


def postprocess(raw: str, cur: Cursor, skip: tuple[str, ...] = ()) -> str:
    text = raw
    for name, f in FILTERS.items():
        if name not in skip:
            text = f(text, cur)
        if not text:
            return ""
    return text


__all__ = ["FILTERS", "Filter", "postprocess"]
