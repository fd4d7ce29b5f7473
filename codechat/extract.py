"""Find the code in a model's answer: fences with or without language tags, several blocks, a
missing closing fence, or no fence at all."""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n]*$")

#: Fence tags that name the same language.
ALIASES = {
    "python": {"python", "py", "python3", "py3"},
    "javascript": {"javascript", "js", "jsx", "node"},
    "javascriptreact": {"javascript", "js", "jsx"},
    "typescript": {"typescript", "ts", "tsx"},
    "typescriptreact": {"typescript", "ts", "tsx"},
    "go": {"go", "golang"},
    "rust": {"rust", "rs"},
    "java": {"java"},
    "c": {"c", "h"},
    "cpp": {"cpp", "c++", "cc", "hpp", "cxx"},
}


@dataclass
class Block:
    tag: str
    body: str
    closed: bool


def fence_tag(language_id: str) -> str:
    return {"typescriptreact": "tsx", "javascriptreact": "jsx"}.get(language_id, language_id)


def find_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, tag = m.group(1), m.group(2).lower()
        body: list[str] = []
        i += 1
        closed = False
        while i < len(lines):
            stripped = lines[i].strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                closed = True
                i += 1
                break
            body.append(lines[i])
            i += 1
        blocks.append(Block(tag, "\n".join(body), closed))
    return blocks


def extract_code(text: str, language_id: str) -> str | None:
    """The code the answer proposes, or None when there is nothing code-like.

    Several blocks: those tagged with the document's language (or untagged) win, and among them
    the longest (models show a short "before" and a full "after"). No fence: the whole answer.
    """
    blocks = [b for b in find_blocks(text) if b.body.strip()]
    if not blocks:
        body = text.strip("\n")
        return body + "\n" if body.strip() else None
    names = ALIASES.get(language_id, {language_id})
    preferred = [b for b in blocks if b.tag in names] or [b for b in blocks if not b.tag] or blocks
    best = max(reversed(preferred), key=lambda b: len(b.body))
    return best.body.strip("\n") + "\n"
