"""Cross-file context: the windows of other open documents most similar to the code at the cursor.

Similarity is Jaccard over identifier sets (what Continue and the RepoCoder paper use for sparse
retrieval): cheap, language-agnostic, and good at finding the definitions the cursor refers to.
The query is the lines *above* the cursor line, so typing within a line does not reshuffle the
snippets; the chosen snippets are emitted sorted by (uri, line), not by score, so the prompt's
head stays byte-identical between requests and the KV prefix cache keeps matching.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from completion.context.privacy import may_quote, redact_secrets, uri_to_path
from completion.types import OpenDocument, TokenCounter
from textkit.lines import last_lines, lsp_lines

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

WINDOW_LINES = 20
STRIDE_LINES = 10
QUERY_LINES = 20
MAX_DOCS = 10
MAX_DOC_LINES = 5000
MIN_SCORE = 0.08
MAX_SNIPPETS = 4


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


def _windows(doc: OpenDocument) -> list[tuple[int, int, str]]:
    lines = lsp_lines(doc.text, keepends=True)[:MAX_DOC_LINES]
    out = []
    last_start = max(0, len(lines) - WINDOW_LINES)
    starts = list(range(0, last_start + 1, STRIDE_LINES))
    if starts[-1] != last_start:
        starts.append(last_start)
    for s in starts:
        e = min(len(lines), s + WINDOW_LINES)
        text = "".join(lines[s:e])
        if text.strip():
            out.append((s, e, text))
    return out


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
        for s, e, text in _windows(doc):
            text = redact_secrets(text)[0]
            score = jaccard(q, identifiers(text))
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
        text = redact_secrets(doc.text[: max(0, max_chars - size)])[0]
        if not text:
            break
        parts.append(text)
        size += len(text) + 1
    return "\n".join(parts)
