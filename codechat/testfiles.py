"""Where generated tests go, by each language's convention, and how they import the code."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass


class OutsideWorkspace(ValueError):
    """A target file that resolves outside every workspace folder; the message says where."""


@dataclass
class TestTarget:
    path: str
    #: Module/package the tests import (Python module name, Go package, ...).
    module: str
    #: How the tests should import the code under test (shown to the model).
    import_hint: str
    framework: str
    #: True: the tests are appended to the document itself (Rust `#[cfg(test)] mod tests`).
    same_file: bool = False


def test_target(path: str, language_id: str, text: str = "") -> TestTarget:
    folder, name = os.path.split(path)
    stem, ext = os.path.splitext(name)
    if language_id == "python":
        return TestTarget(
            os.path.join(folder, f"test_{stem}.py"), stem, f"from {stem} import ...", "pytest"
        )
    if language_id in ("typescript", "typescriptreact", "javascript", "javascriptreact"):
        return TestTarget(
            os.path.join(folder, f"{stem}.test{ext}"),
            stem,
            f"import {{ ... }} from './{stem}';",
            "jest-style describe/it/expect",
        )
    if language_id == "go":
        pkg = _go_package(text) or "main"
        return TestTarget(
            os.path.join(folder, f"{stem}_test.go"), pkg, f"package {pkg}", "the testing package"
        )
    if language_id == "java":
        cls = stem[:1].upper() + stem[1:]
        test_folder = folder.replace(
            f"{os.sep}src{os.sep}main{os.sep}", f"{os.sep}src{os.sep}test{os.sep}"
        )
        return TestTarget(
            os.path.join(test_folder, f"{cls}Test.java"), cls, f"class {cls}Test", "JUnit 5"
        )
    if language_id == "rust":
        return TestTarget(path, "tests", "use super::*;", "#[test] functions", same_file=True)
    return TestTarget(os.path.join(folder, f"test_{stem}{ext}"), stem, "", "a test framework")


def _go_package(text: str) -> str | None:
    for line in text.splitlines():
        if line.startswith("package "):
            return line.split()[1]
    return None


def rust_tests_module(text: str, body: str) -> str:
    """The generated tests as a `#[cfg(test)]` module (named apart from an existing `tests`)."""
    stripped = body.strip("\n")
    if "mod " in stripped.split("\n", 2)[0] or stripped.startswith("#[cfg(test)]"):
        block = stripped
    else:
        inner = "\n".join(("    " + ln) if ln.strip() else "" for ln in stripped.split("\n"))
        if "use super::*" not in inner:
            inner = "    use super::*;\n\n" + inner
        block = f"#[cfg(test)]\nmod tests {{\n{inner}\n}}"
    if "mod tests" in text:
        block = block.replace("mod tests", "mod tandem_tests", 1)
    return block + "\n"


def join_tests(existing: str, addition: str) -> str:
    """`addition` appended to an existing test file, separated by a blank line or two."""
    if not existing.strip():
        return addition
    return existing.rstrip("\n") + "\n\n\n" + addition.lstrip("\n")


def contained_path(path: str, roots: Sequence[str]) -> str:
    """`path` (absolute, normalized) if it resolves inside one of `roots`, else OutsideWorkspace.

    Both sides are resolved with realpath, so `../` and symlinks (a symlinked folder, or a test
    file that is itself a link) count where they really point. The returned path keeps the
    editor's spelling of the workspace (no symlink expansion), so its URI matches open buffers.
    """
    if not os.path.isabs(path):
        raise OutsideWorkspace(f"{path!r} is not an absolute path; save the document first")
    real = os.path.realpath(path)
    for root in roots:
        real_root = os.path.realpath(root)
        if os.path.commonpath([real, real_root]) == real_root:
            return os.path.normpath(path)
    where = ", ".join(roots) or "(none)"
    raise OutsideWorkspace(
        f"{path} resolves to {real}, outside the workspace folders ({where}); nothing was written"
    )
