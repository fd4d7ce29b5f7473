"""tree-sitter, for the decisions text rules get wrong: strings, comments, complete code.

Grammars come from the pinned per-language wheels (`tree_sitter_python`, ...), which ship
compiled parsers; nothing is downloaded at run time (tree_sitter_language_pack's recent releases
fetch grammars on first use and so fail offline, so it is not used). A language without a
grammar returns None everywhere and the callers fall back to text rules.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache, lru_cache

from textkit.lines import first_lines, last_lines, lsp_lines

#: grammar name -> (module, function returning the language pointer)
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


@cache
def _language(grammar: str):  # -> tree_sitter.Language | None
    try:
        import tree_sitter
    except ImportError:
        return None
    if grammar in _WHEELS:
        module, fn = _WHEELS[grammar]
        try:
            return tree_sitter.Language(getattr(importlib.import_module(module), fn)())
        except (ImportError, AttributeError, ValueError):
            pass
    return None


def has_grammar(grammar: str | None) -> bool:
    return bool(grammar) and _language(grammar) is not None


def parse(grammar: str | None, text: str):  # -> tree_sitter.Tree | None
    """Parse `text`, or None when the grammar is unavailable."""
    if not grammar:
        return None
    lang = _language(grammar)
    if lang is None:
        return None
    import tree_sitter

    # A parser is cheap to make; one per call keeps concurrent threads apart.
    return tree_sitter.Parser(lang).parse(text.encode("utf-8"))


def error_count(tree) -> int:
    """ERROR and MISSING nodes: how broken the code is (only subtrees with errors are walked)."""
    count = 0
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
        if node.has_error:
            stack.extend(node.children)
    return count


def count_errors(grammar: str | None, text: str) -> int | None:
    tree = parse(grammar, text)
    return None if tree is None else error_count(tree)


_STRINGY = ("string", "char_literal", "rune_literal", "heredoc", "template_string")
#: Code nested in a string (template literal substitutions, f-string fields).
_CODE_INSIDE_STRING = ("template_substitution", "interpolation", "string_interpolation")


@dataclass
class CursorSyntax:
    in_string: bool = False
    in_comment: bool = False


# prepare and finalize analyze the same cursor: the second parse is a cache hit
@lru_cache(maxsize=8)
def cursor_syntax(grammar: str | None, text: str, offset: int) -> CursorSyntax | None:
    """Whether the cursor sits inside a string or a comment (None: no grammar)."""
    tree = parse(grammar, text)
    if tree is None:
        return None
    return syntax_at(tree, text, offset)


def syntax_at(tree, text: str, offset: int) -> CursorSyntax:
    """`cursor_syntax` on a tree already parsed from `text`."""
    pos = len(text[:offset].encode("utf-8"))
    out = CursorSyntax()
    # A line comment ends where the cursor may be (right after its last character): look at
    # the node just before the cursor for comments, at the cursor for everything else.
    if pos > 0:
        node = tree.root_node.descendant_for_byte_range(pos - 1, pos)
        while node is not None and node.end_byte == pos:
            if "comment" in node.type and node.start_byte < pos:
                # a block comment that is closed ends before the cursor: then we are outside
                closed = node.type != "line_comment" and text[:offset].rstrip().endswith("*/")
                out.in_comment = not closed
                return out
            node = node.parent
    node = tree.root_node.descendant_for_byte_range(pos, pos)
    while node is not None:
        kind = node.type
        inside = node.start_byte < pos < node.end_byte
        if kind in _CODE_INSIDE_STRING and inside:
            break
        if inside:
            if "comment" in kind:
                out.in_comment = True
                break
            if any(s in kind for s in _STRINGY):
                out.in_string = True
                break
        node = node.parent
    return out


#: Node types that delimit a definition (function, method, class, closure, impl, ...).
_SCOPE_WORDS = ("function", "method", "class", "lambda", "closure", "func_literal", "impl_item")
_CLASS_WORDS = ("class", "impl_item")
_NOT_SCOPE_WORDS = ("call", "declarator", "type", "parameter", "signature", "arguments")


def enclosing_definition_line(grammar: str | None, text: str, offset: int) -> int | None:
    """0-based first line of the definition around `offset` (None: top level, no grammar).

    The outermost function around the offset wins (a nested helper or a closure is part of its
    function's body); without one, the innermost class-like definition (a class body).
    """
    tree = parse(grammar, text)
    if tree is None:
        return None
    pos = len(text[:offset].encode("utf-8"))
    node = tree.root_node.descendant_for_byte_range(pos, pos)
    function_line = class_line = None
    while node is not None:
        kind = node.type
        if (
            node.start_byte < pos
            and any(w in kind for w in _SCOPE_WORDS)
            and not any(w in kind for w in _NOT_SCOPE_WORDS)
        ):
            if any(w in kind for w in _CLASS_WORDS):
                class_line = node.start_point[0] if class_line is None else class_line
            else:
                function_line = node.start_point[0]
        node = node.parent
    return function_line if function_line is not None else class_line


@lru_cache(maxsize=4)  # same prefix/suffix objects in prepare and finalize: hashed once
def code_window(prefix: str, suffix: str, max_lines: int = 120) -> tuple[str, str]:
    """Cut prefix/suffix to a parseable window around the cursor for repeated parses.

    The window starts at an unindented line (a top-level statement) so the parser does not
    see a block body without its header.
    """
    # Only the lines near the cursor are split (a 10k-line file costs no more than a short
    # one); the whole prefix only when no top-level line is found near it.
    before = last_lines(prefix, max_lines * 4, keepends=True)
    if len(before) > max_lines:
        start = len(before) - max_lines
        while start > 0 and before[start][:1] in (" ", "\t", "\n", "\r", "}", ")", "]"):
            start -= 1
        if start == 0 and len(before) == max_lines * 4:
            before = lsp_lines(prefix, keepends=True)
            start = len(before) - max_lines
            while start > 0 and before[start][:1] in (" ", "\t", "\n", "\r", "}", ")", "]"):
                start -= 1
        prefix = "".join(before[start:])
    after = first_lines(suffix, max_lines * 3 + 1, keepends=True)
    if len(after) > max_lines:
        # end before a top-level line too, so the window does not stop inside a construct
        end = max_lines
        while end < min(len(after), max_lines * 3) and after[end][:1] in (" ", "\t", "\n", "\r"):
            end += 1
        suffix = "".join(after[:end])
    return prefix, suffix
