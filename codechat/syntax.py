"""tree-sitter parsing for the languages CodeChat checks without a Python AST.

Grammars come from the per-language wheels first: `tree_sitter_language_pack` downloads grammars
on first use and so fails offline. No grammar → None, and the caller refuses to apply (an edit we
cannot verify is never written).
"""

from __future__ import annotations

import importlib
from functools import cache

_WHEELS = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
}
_GRAMMAR = {"javascriptreact": "javascript", "typescriptreact": "tsx"}


def grammar_for(language_id: str) -> str:
    return _GRAMMAR.get(language_id, language_id)


@cache
def _parser(grammar: str):
    try:
        import tree_sitter
    except ImportError:
        return None
    if grammar in _WHEELS:
        module, fn = _WHEELS[grammar]
        try:
            lang = tree_sitter.Language(getattr(importlib.import_module(module), fn)())
            return tree_sitter.Parser(lang)
        except (ImportError, AttributeError, ValueError):
            pass
    try:
        from tree_sitter_language_pack import get_parser

        return get_parser(grammar)
    except Exception:  # noqa: BLE001 - offline download, unknown name: no grammar
        return None


def parse(language_id: str, text: str):  # -> tree_sitter.Tree | None
    parser = _parser(grammar_for(language_id))
    return None if parser is None else parser.parse(text.encode("utf-8"))


def error_count(tree) -> int:
    """ERROR and MISSING nodes (only subtrees that contain errors are walked)."""
    count, stack = 0, [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
        if node.has_error:
            stack.extend(node.children)
    return count


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
