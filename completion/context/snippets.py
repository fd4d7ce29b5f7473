"""Cross-file context: the windows of other open documents most similar to the code at the cursor.

Similarity is Jaccard over identifier sets (what Continue and the RepoCoder paper use for sparse
retrieval): cheap, language-agnostic, and good at finding the definitions the cursor refers to.
The query is the lines *above* the cursor line, so typing within a line does not reshuffle the
snippets; the chosen snippets are emitted sorted by (uri, line), not by score, so the prompt's
head stays byte-identical between requests and the KV prefix cache keeps matching.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from completion.context.privacy import may_quote, redact_secrets, uri_to_path
from completion.types import OpenDocument, TokenCounter
from textkit.lines import iter_lines, last_lines

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

WINDOW_LINES = 20
STRIDE_LINES = 10
QUERY_LINES = 20
MAX_DOCS = 10
MAX_DOC_LINES = 5000
MIN_SCORE = 0.08
MAX_SNIPPETS = 4
#: Lines longer than this (minified bundles, embedded data) are never quoted nor given to
#: prompt lookup, and a window holding one is skipped: a 900 kB one-line file open beside a
#: small one must not make every completion there read, score and tokenize it.
MAX_LINE_CHARS = 1_000
#: At most this many characters of a document (its beginning) are read for context.
MAX_DOC_CHARS = 200_000


@dataclass(frozen=True)
class Snippet:
    uri: str
    path: str
    start_line: int
    end_line: int  # exclusive
    text: str
    score: float


def identifiers(text: str) -> frozenset[str]:
    return frozenset(_IDENT.findall(text))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def query_text(prefix: str) -> str:
    """The lines above the cursor line (the cursor line itself changes with every keystroke)."""
    lines = last_lines(prefix, QUERY_LINES + 1, keepends=True)
    if len(lines) > 1:
        lines = lines[:-1]  # drop the partial cursor line
    return "".join(lines[-QUERY_LINES:])


def display_path(uri: str, workspace_root: str | None) -> str:
    """Workspace-relative path when possible, else the last two path components."""
    path = uri_to_path(uri) or uri
    path = path.replace("\\", "/")
    if workspace_root:
        root = workspace_root.replace("\\", "/").rstrip("/") + "/"
        if path.startswith(root):
            return path[len(root) :]
    return "/".join(path.rstrip("/").split("/")[-2:])


@lru_cache(maxsize=16)
def context_lines(text: str) -> tuple[str | None, ...]:
    """The lines (with their ends) of a document that context may use: from its first
    `MAX_DOC_CHARS` characters (a line cut there is left out), at most `MAX_DOC_LINES`, each
    line longer than `MAX_LINE_CHARS` as None. Nothing past that prefix is ever read, and the
    result is kept per text (a document version), so every other request costs a lookup."""
    head = text[:MAX_DOC_CHARS]
    lines = list(itertools.islice(iter_lines(head), MAX_DOC_LINES))
    if len(text) > MAX_DOC_CHARS and lines and not lines[-1].endswith(("\n", "\r")):
        if len(lines[-1]) <= MAX_LINE_CHARS:
            lines.pop()  # cut in the middle (a longer one is left out below anyway)
    return tuple(None if len(x.rstrip("\r\n")) > MAX_LINE_CHARS else x for x in lines)


def context_note(text: str) -> str | None:
    """What context leaves out of this document, in words (None: nothing)."""
    lines = context_lines(text)
    long = sum(x is None for x in lines)
    parts = (
        [f"{long} line{'s' if long != 1 else ''} over {MAX_LINE_CHARS} characters"] if long else []
    )
    if len(text) > MAX_DOC_CHARS:
        parts.append(f"everything past its first {MAX_DOC_CHARS} characters")
    elif len(lines) >= MAX_DOC_LINES and len(text) > sum(len(x or "") for x in lines):
        parts.append(f"everything past its first {MAX_DOC_LINES} lines")
    return ", ".join(parts) or None


@lru_cache(maxsize=16)
def _windows(text: str) -> tuple[tuple[int, int, str, frozenset[str]], ...]:
    """(start line, end line, redacted text, identifiers) of each window; per document version."""
    lines = context_lines(text)
    out = []
    last_start = max(0, len(lines) - WINDOW_LINES)
    starts = list(range(0, last_start + 1, STRIDE_LINES))
    if starts[-1] != last_start:
        starts.append(last_start)
    for s in starts:
        e = min(len(lines), s + WINDOW_LINES)
        window = lines[s:e]
        if None in window:  # an over-long line: never quoted
            continue
        body = redact_secrets("".join(window))[0]  # type: ignore[arg-type]
        if body.strip():
            out.append((s, e, body, identifiers(body)))
    return tuple(out)


def rank_snippets(
    query: str,
    documents: list[OpenDocument],
    current_uri: str,
    workspace_root: str | None = None,
) -> list[Snippet]:
    """Candidate windows of quotable documents, best first (ties broken by uri and line)."""
    q = identifiers(query)
    if not q:
        return []
    scored: list[Snippet] = []
    for doc in [d for d in documents if d.uri != current_uri][:MAX_DOCS]:
        if not may_quote(doc.uri, doc.language_id, workspace_root, text=doc.text):
            continue
        path = display_path(doc.uri, workspace_root)
        for s, e, text, ids in _windows(doc.text):
            score = jaccard(q, ids)
            if score >= MIN_SCORE:
                scored.append(Snippet(doc.uri, path, s, e, text, score))
    scored.sort(key=lambda x: (-x.score, x.uri, x.start_line))
    return scored


def select_snippets(
    candidates: list[Snippet],
    count: TokenCounter,
    budget: int,
    render: Callable[[Snippet], str],  # as the snippet will appear in the prompt
    max_snippets: int = MAX_SNIPPETS,
) -> list[Snippet]:
    """Best non-overlapping windows within `budget`, merged when adjacent, in stable order."""
    chosen: list[Snippet] = []
    used = 0
    for cand in candidates:
        if len(chosen) >= max_snippets:
            break
        if any(
            c.uri == cand.uri and c.start_line < cand.end_line and cand.start_line < c.end_line
            for c in chosen
        ):
            continue
        cost = count(render(cand))
        if used + cost > budget:
            continue
        chosen.append(cand)
        used += cost
    chosen.sort(key=lambda x: (x.uri, x.start_line))
    merged: list[Snippet] = []
    for sn in chosen:
        if merged and merged[-1].uri == sn.uri and merged[-1].end_line == sn.start_line:
            m = merged[-1]
            merged[-1] = Snippet(
                m.uri, m.path, m.start_line, sn.end_line, m.text + sn.text, max(m.score, sn.score)
            )
        else:
            merged.append(sn)
    return merged


def lookup_text(
    documents: list[OpenDocument],
    current_uri: str,
    workspace_root: str | None = None,
    max_chars: int = 200_000,
) -> str:
    """Other quotable documents' text, for n-gram prompt lookup in the engine."""
    parts: list[str] = []
    size = 0
    for doc in documents:
        if doc.uri == current_uri or not may_quote(
            doc.uri, doc.language_id, workspace_root, text=doc.text
        ):
            continue
        usable = "".join(x for x in context_lines(doc.text) if x is not None)
        text = redact_secrets(usable[: max(0, max_chars - size)])[0]
        if not text:
            break
        parts.append(text)
        size += len(text) + 1
    return "\n".join(parts)
