"""Cursor modes (single vs multi-line, stop sequences) and the tree-sitter helpers."""

from __future__ import annotations

import pytest
from cmpl_helpers import ctx_at_marker, words

from completion.cursor import analyze, detect_indent_unit
from completion.languages import GENERIC, language_for
from completion.pipeline import prepare
from completion.templates import template_by_name
from completion.types import CompletionContext
from textkit import syntax

GRAMMARS = ["python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp"]
needs_grammars = pytest.mark.skipif(
    not all(syntax.has_grammar(g) for g in GRAMMARS),
    reason="tree-sitter grammar wheels missing (tree-sitter-python, -javascript, ...)",
)

MODES = [
    ("python", "x = foo(█)\n", "inline"),
    ("python", "def f(x):\n█\n", "block"),
    ("python", "def f(x):\n    █\n", "block"),
    ("python", "x = 1\n█\ny = 2\n", "line"),
    ("python", "def f(x):\n█    return x\n", "line_start"),
    ("python", "def f():\n    # note █\n", "inline"),
    ("python", 'def f():\n    """Doc.\n\n█\n    """\n', "comment"),
    ("javascript", "function f() {\n█\n}\n", "block"),
    ("javascript", "const s = `a ${█} b`;\n", "inline"),
    ("typescript", "const xs: number[] = [\n█\n];\n", "block"),
    ("go", "func f() {\n\tif x {\n█\n\t}\n}\n", "block"),
    ("rust", "fn f() {\n    /*\n█\n    */\n}\n", "comment"),
    ("java", "class A {\n  void f() {\n    int x = 1;\n█\n  }\n}\n", "line"),
    ("c", "int f() {\n    return g(█);\n}\n", "inline"),
    ("cpp", "int main() {\n█  return 0;\n}\n", "line_start"),
    ("kotlin", "fun f() {\n█\n}\n", "block"),
]

MIDLINE_MULTI = {"x = foo(█)\n", "int f() {\n    return g(█);\n}\n"}


@needs_grammars
@pytest.mark.parametrize(
    "lang,doc,mode", MODES, ids=[f"{m[0]}-{m[2]}-{i}" for i, m in enumerate(MODES)]
)
def test_modes_and_stops(lang, doc, mode):
    plan = prepare(ctx_at_marker(doc, lang), template_by_name("tandem-demo"), words)
    assert plan.mode == mode
    # mid-line policy: several lines only before a rest of line that is closers or whitespace
    single = mode == "comment" or (mode == "inline" and doc not in MIDLINE_MULTI)
    assert plan.multiline is not single
    assert ("\n" in plan.stop) is single
    assert "<|endoftext|>" in plan.stop and "<fim_suffix>" in plan.stop


@needs_grammars
@pytest.mark.parametrize(
    "lang,doc,in_string,in_comment",
    [
        ("python", 'x = "ab█c"\n', True, False),
        ("python", "x = 1  # ab█\n", False, True),
        ("python", 'x = f"{a█}"\n', False, False),
        ("javascript", "const s = `a${b█}c`;\n", False, False),
        ("javascript", "const s = `a█${b}c`;\n", True, False),
        ("typescript", "let a = 1; // done█\n", False, True),
        ("go", "s := `raw █ string`\n", True, False),
        ("rust", "let c = 'x'; /* a █ */ let d = 1;\n", False, True),
        ("java", 'String s = "x█";\n', True, False),
        ("c", "int x = 1; /* closed */ █\n", False, False),
        ("cpp", 'auto s = "a█";\n', True, False),
    ],
)
def test_string_and_comment_detection(lang, doc, in_string, in_comment):
    cur = analyze(ctx_at_marker(doc, lang))
    assert (cur.in_string, cur.in_comment) == (in_string, in_comment)


@needs_grammars
def test_error_count_and_enclosing_definition():
    assert syntax.count_errors("python", "def f(x):\n    return x\n") == 0
    assert syntax.count_errors("python", "def f(x):\n    return x\n)\n") >= 1
    assert syntax.count_errors("rust", "fn main() { let x = 1; }") == 0
    assert syntax.count_errors("rust", "fn main() { let x = ; }") >= 1
    src = "class A:\n    def m(self):\n        def inner():\n            return 1\n        x = 1\n"
    # the outermost function (the method), not the nested helper, not the class
    assert syntax.enclosing_definition_line("python", src, src.index("return 1")) == 1
    assert syntax.enclosing_definition_line("python", "x = 1\n", 2) is None
    js = "items.forEach((x) => {\n  use(x);\n});\n"
    assert syntax.enclosing_definition_line("javascript", js, js.index("use")) == 0


def test_language_table_and_generic_fallback():
    assert language_for("python").blocks == "indent"
    assert language_for("typescriptreact").grammar == "tsx"
    assert language_for("", "file:///x/main.rs").id == "rust"
    assert language_for("cobol", "file:///x/a.cbl") is GENERIC
    assert language_for("go").comment("a\nb") == "// a\n// b\n"
    assert language_for("css").comment("x */ y") == "/*\nx  y\n*/\n"
    assert syntax.parse(None, "x") is None and syntax.count_errors("nope", "x") is None


def test_indent_unit_detection():
    assert detect_indent_unit("func f() {\n\tx := 1\n}\n") == "\t"
    assert detect_indent_unit("if (a) {\n  b();\n  if (c) {\n    d();\n  }\n}\n") == "  "
    assert detect_indent_unit("def f():\n    return 1\n") == "    "
    assert detect_indent_unit("") == "    "


def test_cursor_lines_follow_lsp_line_breaks_only():
    # \x0c (form feed) and \u2028 are not line breaks for LSP; \r\n is one
    text = "a = '\x0c'\r\nb = '\u2028'\nc = 1\n"
    ctx = CompletionContext("file:///x.py", "python", text, 2, 2)
    assert ctx.prefix.endswith("c ") and ctx.current_line == "c = 1"
    assert CompletionContext("file:///x.py", "python", "ab\n", 0, 99).offset == 2  # clamped
