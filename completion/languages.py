"""What the pipeline must know about a language: comments, blocks, statement ends, grammar.

Rules are data, not code paths: a language the table does not know gets `GENERIC`, which
still completes (brace-style blocks, no comment prefix guesses beyond `//`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal


@dataclass(frozen=True)
class Language:
    id: str
    #: tree-sitter grammar name (None: no grammar, text rules only).
    grammar: str | None
    line_comment: str | None
    block_comment: tuple[str, str] | None = None
    #: "indent": the block is its indentation (Python); "brace": delimited by brackets.
    blocks: Literal["indent", "brace"] = "brace"
    #: A line ending with one of these opens a block body on the next line.
    block_openers: tuple[str, ...] = ("{", "(", "[")
    #: Statement terminator, when the language has one (single-line suggestions stop there).
    statement_end: str | None = None
    extensions: tuple[str, ...] = ()

    def comment(self, text: str) -> str:
        """`text` as comment lines, so a code model reads it as context, not code."""
        if self.line_comment:
            return "".join(
                f"{self.line_comment} {line}".rstrip() + "\n" for line in text.split("\n")
            )
        if self.block_comment:
            start, end = self.block_comment
            return f"{start}\n{text.replace(end, '')}\n{end}\n"
        return "".join(f"// {line}".rstrip() + "\n" for line in text.split("\n"))


_C_LIKE = dict(line_comment="//", block_comment=("/*", "*/"), statement_end=";")

LANGUAGES: dict[str, Language] = {
    lang.id: lang
    for lang in [
        Language(
            "python",
            "python",
            "#",
            blocks="indent",
            block_openers=(":", "(", "[", "{"),
            extensions=(".py", ".pyi"),
        ),
        Language("javascript", "javascript", **_C_LIKE, extensions=(".js", ".mjs", ".cjs")),
        Language("javascriptreact", "javascript", **_C_LIKE, extensions=(".jsx",)),
        Language("typescript", "typescript", **_C_LIKE, extensions=(".ts", ".mts", ".cts")),
        Language("typescriptreact", "tsx", **_C_LIKE, extensions=(".tsx",)),
        Language("go", "go", "//", ("/*", "*/"), extensions=(".go",)),
        Language("rust", "rust", **_C_LIKE, extensions=(".rs",)),
        Language("java", "java", **_C_LIKE, extensions=(".java",)),
        Language("c", "c", **_C_LIKE, extensions=(".c", ".h")),
        Language(
            "cpp", "cpp", **_C_LIKE, extensions=(".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx")
        ),
        Language("csharp", None, **_C_LIKE, extensions=(".cs",)),
        Language("kotlin", None, "//", ("/*", "*/"), extensions=(".kt", ".kts")),
        Language("swift", None, "//", ("/*", "*/"), extensions=(".swift",)),
        Language("scala", None, "//", ("/*", "*/"), extensions=(".scala",)),
        Language("php", None, **_C_LIKE, extensions=(".php",)),
        Language("ruby", None, "#", blocks="indent", block_openers=(), extensions=(".rb",)),
        Language("shellscript", None, "#", extensions=(".sh", ".bash", ".zsh")),
        Language("lua", None, "--", ("--[[", "]]"), extensions=(".lua",)),
        Language("sql", None, "--", ("/*", "*/"), statement_end=";", extensions=(".sql",)),
        Language("haskell", None, "--", ("{-", "-}"), blocks="indent", extensions=(".hs",)),
        Language("yaml", None, "#", blocks="indent", block_openers=(":",), extensions=(".yml",)),
        Language("toml", None, "#", extensions=(".toml",)),
        Language("html", None, None, ("<!--", "-->"), extensions=(".html", ".htm")),
        Language("css", None, None, ("/*", "*/"), extensions=(".css",)),
        Language("markdown", None, None, ("<!--", "-->"), extensions=(".md",)),
    ]
}

GENERIC = Language("generic", None, "//", ("/*", "*/"))

_ALIASES = {
    "py": "python",
    "js": "javascript",
    "ts": "typescript",
    "tsx": "typescriptreact",
    "jsx": "javascriptreact",
    "golang": "go",
    "rs": "rust",
    "c++": "cpp",
    "cuda-cpp": "cpp",
    "objective-c": "c",
    "sh": "shellscript",
    "bash": "shellscript",
}


def language_for(language_id: str, uri: str = "") -> Language:
    """The rules for an LSP language id, falling back to the file extension, then GENERIC."""
    key = (language_id or "").lower()
    key = _ALIASES.get(key, key)
    if key in LANGUAGES:
        return LANGUAGES[key]
    suffix = PurePosixPath(uri.split("?", 1)[0]).suffix.lower()
    if suffix:
        for lang in LANGUAGES.values():
            if suffix in lang.extensions:
                return lang
    return GENERIC
