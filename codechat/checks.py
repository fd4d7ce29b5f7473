"""Checks an answer must pass before anything is applied: an edit that breaks the file, changes
code in a docs edit, drops a public name, or tests that don't import the code are refused."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from codechat import syntax


@dataclass
class CheckResult:
    ok: bool
    reason: str = ""
    passed: list[str] = field(default_factory=list)


def _parse_py(text: str, what: str) -> tuple[ast.Module | None, str]:
    try:
        return ast.parse(text), ""
    except SyntaxError as exc:
        return None, f"{what} does not parse: line {exc.lineno}: {exc.msg}"
    except ValueError as exc:  # NUL bytes and the like
        return None, f"{what} does not parse: {exc}"


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


def public_names(tree: ast.Module) -> set[str]:
    """Top-level defs/classes and methods of public classes whose names don't start with `_`."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name.startswith("_"):
                continue
            names.add(node.name)
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and not (
                        item.name.startswith("_")
                    ):
                        names.add(f"{node.name}.{item.name}")
    return names


def imports_module(tree: ast.Module, module: str) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if module in parts:
                    return True
        elif isinstance(node, ast.ImportFrom):
            if node.module and module in node.module.split("."):
                return True
            if any(alias.name == module for alias in node.names):
                return True
    return False


def _has_python_tests(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            return True
    return False


def _docless_tokens(tree) -> list[tuple[str, bytes]]:
    """tree-sitter leaf tokens without comments and docstrings (a string statement that opens
    a module, class or function body): equal lists mean "only docs changed"."""
    out: list[tuple[str, bytes]] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if "comment" in node.type:
            continue
        if node.type in ("module", "block"):
            kids = list(node.children)
            first = next((k for k in kids if k.is_named and "comment" not in k.type), None)
            if (
                first is not None
                and first.type == "expression_statement"
                and first.named_child_count == 1
                and first.named_children[0].type == "string"
            ):
                kids.remove(first)
            stack.extend(reversed(kids))
        elif node.child_count == 0:
            out.append((node.type, node.text or b""))
        else:
            stack.extend(reversed(node.children))
    return out


def _check_python_mid_edit(action: str, old: str, new: str) -> CheckResult:
    """The file did not parse before the edit (a file mid-edit: an unclosed string elsewhere):
    like other languages, count only NEW syntax errors (tree-sitter), and for a docs edit
    require the code tokens to be equal modulo comments and docstrings."""
    old_tree, new_tree = syntax.parse("python", old), syntax.parse("python", new)
    if old_tree is None or new_tree is None:
        return CheckResult(False, "the file does not parse and no Python grammar is installed")
    before, after = syntax.error_count(old_tree), syntax.error_count(new_tree)
    if after > before:
        return CheckResult(
            False, f"the edited file does not parse ({after - before} new syntax errors)"
        )
    passed = ["no new syntax errors (the file had some before the edit)"]
    if action == "docs":
        if _docless_tokens(old_tree) != _docless_tokens(new_tree):
            return CheckResult(
                False, "the docs edit changes code, not only docstrings and comments", passed
            )
        passed.append("code unchanged (tokens equal modulo docstrings and comments)")
    return CheckResult(True, "", passed)


def check_python(action: str, old: str, new: str, module: str = "") -> CheckResult:
    passed: list[str] = []
    if action != "tests" and old and _parse_py(old, "")[0] is None:
        return _check_python_mid_edit(action, old, new)
    new_tree, err = _parse_py(new, "the edited file" if action != "tests" else "the test file")
    if new_tree is None:
        return CheckResult(False, err, passed)
    passed.append("parses")
    if action == "docs":
        old_tree, err = _parse_py(old, "the original file")
        if old_tree is None:
            return CheckResult(False, err, passed)
        a = ast.dump(_strip_docstrings(old_tree))
        b = ast.dump(_strip_docstrings(new_tree))
        if a != b:
            return CheckResult(
                False, "the docs edit changes code, not only docstrings and comments", passed
            )
        passed.append("code unchanged (AST equal modulo docstrings)")
    elif action == "refactor":
        old_tree, err = _parse_py(old, "the original file")
        if old_tree is not None:
            missing = sorted(public_names(old_tree) - public_names(new_tree))
            if missing:
                return CheckResult(
                    False, f"the refactor drops public names: {', '.join(missing)}", passed
                )
            passed.append("public names kept")
    elif action == "tests":
        if not imports_module(new_tree, module):
            return CheckResult(
                False, f"the tests do not import the module under test ({module!r})", passed
            )
        passed.append(f"imports {module}")
        if not _has_python_tests(new_tree):
            return CheckResult(False, "the answer defines no test functions", passed)
        passed.append("defines tests")
    return CheckResult(True, "", passed)


def check_tree_sitter(action: str, language_id: str, old: str, new: str) -> CheckResult:
    new_tree = syntax.parse(language_id, new)
    if new_tree is None:
        return CheckResult(
            False, f"cannot verify the edit: no tree-sitter grammar for {language_id!r}"
        )
    old_tree = syntax.parse(language_id, old) if old else None
    before = syntax.error_count(old_tree) if old_tree is not None else 0
    after = syntax.error_count(new_tree)
    if after > before:
        return CheckResult(
            False, f"the edited file does not parse ({after - before} new syntax errors)"
        )
    passed = ["parses (tree-sitter)"]
    if action == "docs" and old_tree is not None:
        if syntax.code_tokens(old_tree) != syntax.code_tokens(new_tree):
            return CheckResult(False, "the docs edit changes code, not only comments", passed)
        passed.append("code unchanged (tokens equal modulo comments)")
    return CheckResult(True, "", passed)


def check_edit(action: str, language_id: str, old: str, new: str, module: str = "") -> CheckResult:
    """Check the whole file after the edit (`old` is before; "" for a new file)."""
    if not new.strip():
        return CheckResult(False, "the answer is empty")
    if language_id == "python":
        return check_python(action, old, new, module)
    return check_tree_sitter(action, language_id, old, new)
