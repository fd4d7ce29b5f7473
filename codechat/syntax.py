"""tree-sitter parsing for the languages CodeChat checks without a Python AST.

Grammars come from the per-language wheels (see textkit.syntax). No grammar → None, and the
caller refuses to apply (an edit we cannot verify is never written).
"""

from __future__ import annotations

from textkit import syntax as _shared

# Grammar loading and the error count are shared with the completion pipeline.
error_count = _shared.error_count

_GRAMMAR = {"javascriptreact": "javascript", "typescriptreact": "tsx"}


def grammar_for(language_id: str) -> str:
    return _GRAMMAR.get(language_id, language_id)


def parse(language_id: str, text: str):  # -> tree_sitter.Tree | None
    return _shared.parse(grammar_for(language_id), text)


def code_tokens(tree) -> list[tuple[str, bytes]]:
    """Leaf tokens without comments: equal lists mean "only comments changed"."""
    out: list[tuple[str, bytes]] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if "comment" in node.type:
            continue
        if node.child_count == 0:
            out.append((node.type, node.text or b""))
        else:
            stack.extend(reversed(node.children))
    return out


def enclosing_function(language_id: str, text: str, offset: int) -> tuple[int, int] | None:
    """Code-point span of the innermost function/method around `offset` (tree-sitter)."""
    tree = parse(language_id, text)
    if tree is None:
        return None
    byte = len(text[:offset].encode("utf-8"))
    node = tree.root_node.descendant_for_byte_range(byte, byte)
    while node is not None:
        t = node.type
        if ("function" in t or "method" in t) and (
            "declaration" in t or "definition" in t or t.endswith("_item") or t == "method"
        ):
            raw = text.encode("utf-8")
            return len(raw[: node.start_byte].decode("utf-8", "replace")), len(
                raw[: node.end_byte].decode("utf-8", "replace")
            )
        node = node.parent
    return None
