"""Nothing of Tandem's own prompt in a suggestion: no FIM marker or marker-like text, no
cross-file context header, no line of the context as the prompt quoted it.

A model that was given a prompt it does not understand (a FIM template whose markers are not its
tokens, a base model shown commented-out context) writes the prompt's own scaffolding back:
`<|fim_end|>`, `# Path: utils.py`, a `# def helper(...)` line it saw as context. The suggestion
is cut where the first such text starts; what came before it is kept (a marker at the end of a
correct line costs nothing). `leak_reason` tells whether a text holds any (the benchmark counts
suggestions that do; the property test checks that none survives postprocessing).
"""

from __future__ import annotations

import re

from completion.cursor import Cursor

#: Marker-like text: every family's FIM and control-token spellings, and their look-alikes a
#: model invents (`<|fim_first|>`, `<fim_end>`). `<s>` / `</s>` are left out: they are HTML.
_MARKER = re.compile(
    r"<\|[A-Za-z_][\w.\-]*\|>"  # <|fim_prefix|>, <|endoftext|>, <|file_separator|>, <|im_end|>
    r"|<｜[^｜\n]{1,40}｜>"  # DeepSeek's full-width bars: <｜fim▁begin｜>
    r"|<(?:fim|file|repo)_[a-z_]+>"  # <fim_prefix>, <file_sep>, <repo_name>
    r"|<(?:filename|reponame|gh_stars|empty_output|jupyter_[a-z_]+|commit_[a-z_]+|issue_[a-z_]+)>"
    r"|\[(?:PREFIX|SUFFIX|MIDDLE)\]"  # Codestral
    r"|<(?:PRE|SUF|MID|EOT)>"  # Code Llama
    r"|<(?:start|end)_of_turn>|<(?:bos|eos)>"  # Gemma's control tokens as text
)
#: The context header the pipeline writes before each cross-file snippet (`# Path: x.py`,
#: `// Path: x.go`; in block-comment languages a bare `Path: x` line).
_HEADER = re.compile(r"(?:#|//|--|;)\s*Path: \S+|^[ \t]*Path: \S+[ \t]*$", re.MULTILINE)
#: Context lines shorter than this (`# }`, `# return x`) are too common to call a copy.
MIN_CONTEXT_LINE = 12


def _leak_start(text: str, context_lines: frozenset[str] = frozenset()) -> int | None:
    starts = [m.start() for m in (_MARKER.search(text), _HEADER.search(text)) if m]
    for line in context_lines:  # a few dozen lines at most: a substring search each
        i = text.find(line)
        if i != -1:
            starts.append(i)
    return min(starts) if starts else None


def leak_reason(text: str) -> str | None:
    """What of Tandem's prompt `text` holds ("marker '<|fim_end|>'", "context header ..."), or
    None."""
    m = _MARKER.search(text)
    if m:
        return f"marker {m.group(0)!r}"
    h = _HEADER.search(text)
    if h:
        return f"context header {h.group(0).strip()!r}"
    return None


def context_lines(rendered: str) -> frozenset[str]:
    """The lines of the prompt's rendered context (snippets as comments, `# def f(x):`) that a
    suggestion must not copy: as they stand in the prompt, comment marker included (the code
    itself the model may rightly use), and long enough to be specific."""
    return frozenset(s for x in rendered.split("\n") if len(s := x.strip()) >= MIN_CONTEXT_LINE)


def apply(text: str, cur: Cursor) -> str:
    start = _leak_start(text, cur.context_lines)
    if start is None:
        return text
    return text[:start].rstrip(" \t")
