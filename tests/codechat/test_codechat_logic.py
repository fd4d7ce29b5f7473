"""Pure CodeChat logic: prompts, think filtering, extraction, diffs, checks, test files, runner."""

from __future__ import annotations

import pytest

from codechat import ChatTask, run_task
from codechat.checks import check_edit
from codechat.diff import apply_changes, fit_code, minimal_changes
from codechat.extract import extract_code
from codechat.language import detect_language
from codechat.prompts import build_prompt, fold_system, render
from codechat.scope import enclosing_span
from codechat.testfiles import rust_tests_module
from codechat.testfiles import test_target as target_for
from codechat.thinking import ThinkFilter, strip_think
from testing.scripted import ScriptedEngine

SRC = """import os


def add(a, b):
    return a + b


class Stack:
    def push(self, x):
        self.items.append(x)

    def _hidden(self):
        pass
"""
MSGS = [{"role": "system", "content": "SYS"}, {"role": "user", "content": "USER"}]


def task(action="refactor", instruction="", text=SRC, path="/p/m.py", lang="python"):
    s = text.index("def add") if "def add" in text else 0
    return ChatTask(action, path, lang, text, s, s + 30, instruction)


# --- language and prompts --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,lang",
    [
        ("explain this", "en"),
        ("Объясни, что делает `parse_args`", "ru"),
        ("이 함수는 무엇을 하나요?", "ko"),
        ("这个函数做什么 foo_bar", "zh"),
        ("", "en"),
    ],
)
def test_detect_language(text, lang):
    assert detect_language(text) == lang


@pytest.mark.parametrize("instruction,name", [("Почему так?", "Russian"), ("왜요?", "Korean"),
                                              ("为什么?", "Chinese"), ("why?", "English")])  # fmt: skip
def test_prompt_asks_for_the_users_language(instruction, name):
    p = build_prompt(task("ask", instruction), "x = 1\n", "alpaca", lambda m: None)
    assert f"Answer in {name}" in p.text


def test_auto_without_template_falls_back_to_alpaca_and_says_so():
    p = build_prompt(task(), "def add(a, b):\n    return a + b\n", "auto", lambda m: None)
    assert p.format == "alpaca" and "no chat template" in p.note
    assert "### Instruction:" in p.text and p.text.endswith("### Response:\n```python\n")
    assert "\n```" in p.stop and p.prefill == "```python\n"


def test_question_and_chatml_formats():
    q, _ = render(MSGS, "question", lambda m: None).text, None
    assert "### Question:\nUSER" in q and q.endswith("### Response:\n")
    c = render(MSGS, "chatml", lambda m: None)
    assert c.text.endswith("<|im_start|>assistant\n") and c.stop == ["<|im_end|>"]


def test_deepseek_format_has_no_system_turn():
    p = render(MSGS, "deepseek", lambda m: None)
    assert p.text == "User: SYS\n\nUSER\n\nAssistant:"
    assert fold_system(MSGS) == [{"role": "user", "content": "SYS\n\nUSER"}]


def test_template_that_rejects_system_gets_it_folded():
    def tmpl(messages):
        if any(m["role"] == "system" for m in messages):
            raise ValueError("System role not supported")
        return "".join(f"<{m['role']}>{m['content']}" for m in messages) + "<assistant>"

    p = render(MSGS, "auto", tmpl)
    assert p.text == "<user>SYS\n\nUSER<assistant>" and "folded" in p.format


def test_template_that_drops_system_gets_it_folded():
    p = render(MSGS, "auto", lambda ms: "".join(m["content"] for m in ms if m["role"] == "user"))
    assert p.text == "SYS\n\nUSER"


def test_reasoning_template_starts_thinking_and_skips_prefill():
    eng = ScriptedEngine("", chat_template="chatml")
    p = build_prompt(task(), "x\n", "auto", lambda m: eng.render_chat(m) + "<think>\n")
    assert p.starts_thinking and p.prefill == ""


def test_unknown_format_is_reported():
    assert "unknown promptFormat" in render(MSGS, "llama9", lambda m: None).note


# --- thinking ------------------------------------------------------------------------------


def stream(text, size, inside=False):
    f = ThinkFilter(inside)
    out = "".join(f.feed(text[i : i + size]) for i in range(0, len(text), size))
    return out + f.flush()


@pytest.mark.parametrize("size", [1, 2, 3, 7, 100])
def test_think_hidden_while_streaming(size):
    assert stream("<think>a <b> c</think>\n\nAnswer <i>x</i>", size) == "Answer <i>x</i>"
    assert stream("<think>never closed", size) == ""
    assert stream("reasoning</think>Done", size, inside=True) == "Done"
    assert stream("a < b", size) == "a < b"


def test_strip_think_stray_close():
    assert strip_think("hidden</think>\nshown") == "shown"


# --- extraction ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer,code",
    [
        ("Here:\n```python\nx = 1\n```\nDone.", "x = 1\n"),
        ("```\nx = 1\n```", "x = 1\n"),
        ("```py\nx = 1\n", "x = 1\n"),  # missing closing fence
        ("x = 1\n", "x = 1\n"),  # no fence
        ("Before:\n```python\nx\n```\nAfter:\n```python\nx = 1\ny = 2\n```", "x = 1\ny = 2\n"),
        ("```bash\npip install x\n```\n```python\nx = 1\n```", "x = 1\n"),
        ("~~~python\nx = 1\n~~~", "x = 1\n"),
        ("   \n", None),
    ],
)
def test_extract_code(answer, code):
    assert extract_code(answer, "python") == code


# --- diff ----------------------------------------------------------------------------------


def test_minimal_changes_touch_only_changed_lines():
    old = "a\nb\nc\nd\ne\n"
    new = "a\nB\nc\nd\ne\nf\n"
    ch = minimal_changes(old, 0, len(old), new)
    assert len(ch) == 2 and apply_changes(old, ch) == new
    assert all(c.end - c.start <= 2 for c in ch)


def test_fit_code_restores_indent_blank_lines_and_crlf():
    old = "    def f():\r\n        return 1\r\n\r\n"
    assert fit_code("def f():\n    return 2", old) == "    def f():\r\n        return 2\r\n\r\n"
    assert fit_code("x = 2\n", "x = 1") == "x = 2"


# --- checks --------------------------------------------------------------------------------


def test_python_docs_check_allows_docstrings_and_comments_only():
    new = SRC.replace("    return a + b", '    """Sum."""\n    return a + b  # add')
    assert check_edit("docs", "python", SRC, new).ok
    bad = SRC.replace("return a + b", "return a - b")
    r = check_edit("docs", "python", SRC, bad)
    assert not r.ok and "changes code" in r.reason


def test_python_refactor_keeps_public_names():
    assert check_edit("refactor", "python", SRC, SRC.replace("_hidden", "_other")).ok
    r = check_edit("refactor", "python", SRC, SRC.replace("def push", "def put"))
    assert not r.ok and "Stack.push" in r.reason
    r = check_edit("refactor", "python", SRC, SRC.replace("def add(a, b):", "def add(a, b)"))
    assert not r.ok and "does not parse" in r.reason


def test_python_mid_edit_file_counts_only_new_errors():
    """An unclosed \"\"\" elsewhere (a file being edited) must not block a refactor or docs edit
    of a function that is fine; an edit that adds errors, or changes code in docs, still fails."""
    broken = SRC + '\n\ndef later():\n    """unfinished docstring\n'
    refactored = broken.replace("return a + b", "return b + a")
    r = check_edit("refactor", "python", broken, refactored)
    assert r.ok, r.reason
    documented = broken.replace("    return a + b", '    """Sum."""\n    return a + b  # add')
    assert check_edit("docs", "python", broken, documented).ok
    r = check_edit("docs", "python", broken, broken.replace("return a + b", "return a - b"))
    assert not r.ok and "changes code" in r.reason
    worse = broken.replace("def add(a, b):", "def add(a, b)")
    r = check_edit("refactor", "python", broken, worse)
    assert not r.ok and "new syntax errors" in r.reason


def test_python_tests_must_import_the_module():
    ok = "from m import add\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    assert check_edit("tests", "python", "", ok, "m").ok
    assert "import" in check_edit("tests", "python", "", "def test_x():\n    pass\n", "m").reason
    assert "no test" in check_edit("tests", "python", "", "import m\n", "m").reason


def test_tree_sitter_checks_other_languages():
    go = "package main\n\nfunc add(a int, b int) int {\n\treturn a + b\n}\n"
    assert check_edit("refactor", "go", go, go.replace("a + b", "b + a")).ok
    r = check_edit("refactor", "go", go, go.replace("return a + b\n}", "return a +"))
    assert not r.ok and "does not parse" in r.reason
    documented = go.replace("func add", "// add sums.\nfunc add")
    assert check_edit("docs", "go", go, documented).ok
    assert not check_edit("docs", "go", go, documented.replace("a + b", "a - b")).ok
    ts = "export function add(a: number, b: number): number {\n  return a + b;\n}\n"
    assert check_edit("refactor", "typescript", ts, ts.replace("a + b", "b + a")).ok
    assert not check_edit("refactor", "typescript", ts, ts + "function (\n").ok
    r = check_edit("refactor", "cobol", "x", "y")
    assert not r.ok and "no tree-sitter grammar" in r.reason


# --- scope and test files ------------------------------------------------------------------


def test_enclosing_span_python_finds_the_function_while_the_file_does_not_parse():
    """Mid-typing elsewhere (an unclosed bracket below), "explain" still means this function,
    not the whole file: ast fails, tree-sitter finds it."""
    src = (
        "def word_counts(text):\n    counts = {}\n    return counts\n\n\n"
        "def pending(tasks):\n    return [t for t in tasks if \n"
    )
    s, e = enclosing_span("python", src, src.index("counts = {}"))
    assert src[s:e].rstrip() == "def word_counts(text):\n    counts = {}\n    return counts"


def test_enclosing_span_python_and_fallback():
    s, e = enclosing_span("python", SRC, SRC.index("self.items"))
    assert SRC[s:e] == "    def push(self, x):\n        self.items.append(x)\n"
    assert enclosing_span("python", SRC, 0) == (0, len(SRC))
    rust = "fn main() {\n    let x = 1;\n}\n"
    assert enclosing_span("rust", rust, rust.index("let")) == (0, len(rust) - 1)


@pytest.mark.parametrize(
    "path,lang,expected",
    [
        ("/p/mod.py", "python", "/p/test_mod.py"),
        ("/p/mod.ts", "typescript", "/p/mod.test.ts"),
        ("/p/mod.go", "go", "/p/mod_test.go"),
        ("/p/src/main/java/a/Foo.java", "java", "/p/src/test/java/a/FooTest.java"),
        ("/p/lib.rs", "rust", "/p/lib.rs"),
    ],
)
def test_test_file_conventions(path, lang, expected):
    assert target_for(path, lang).path == expected


def test_rust_tests_module_appended_and_named_apart():
    block = rust_tests_module("fn a() {}\n", "#[test]\nfn t() { a(); }")
    assert block.startswith("#[cfg(test)]\nmod tests {\n    use super::*;")
    assert "mod tandem_tests" in rust_tests_module("mod tests {}\n", "#[test]\nfn t() {}")


# --- runner with a scripted stand-in engine ------------------------------------------------


async def test_runner_edit_uses_edit_kind_and_lookup_text():
    eng = ScriptedEngine("```python\ndef add(a, b):\n    return b + a\n```")
    out = await run_task(eng, task())
    assert out.ok, out.message
    req = eng.requests[0]
    assert req.kind == "edit" and "return a + b" in req.lookup_text
    (fc,) = out.files
    assert apply_changes(SRC, fc.changes) == SRC.replace("return a + b", "return b + a")
    # the live stats object travels too (engines may fill numbers in after the text)
    assert out.generation_stats is not None and out.stats == out.generation_stats.to_dict()


async def test_runner_streams_without_thinking_and_cancels():
    eng = ScriptedEngine("<think>plan</think>It adds.", chunk=2)
    seen = []
    out = await run_task(eng, task("explain"), on_text=lambda d, full: seen.append(full))
    assert out.markdown == "It adds." and all("plan" not in s for s in seen)
    assert eng.requests[0].kind == "chat"

    import asyncio

    slow = ScriptedEngine("```python\nx = 1\n```" * 20, chunk=1, delay_s=0.01)
    t = asyncio.ensure_future(run_task(slow, task()))
    await asyncio.sleep(0.05)
    t.cancel()
    with pytest.raises(asyncio.CancelledError):
        await t
    assert slow.generations[0].cancelled


async def test_runner_tests_existing_file_is_appended():
    eng = ScriptedEngine(
        "```python\nfrom m import add\n\ndef test_add():\n    assert add(1, 1) == 2\n```"
    )
    existing = "import m\n\n\ndef test_old():\n    pass\n"
    out = await run_task(eng, task("tests"), read_file=lambda p: existing)
    assert out.ok, out.message
    (fc,) = out.files
    assert fc.path == "/p/test_m.py" and not fc.create
    assert apply_changes(existing, fc.changes).startswith(existing)


async def test_runner_rejections_are_clear():
    out = await run_task(ScriptedEngine("```python\ndef add(a, b)\n```"), task())
    assert not out.ok and out.reason == "rejected" and "Nothing was changed" in out.message
    out = await run_task(ScriptedEngine("def add(a, b):\n    return a + b\n"), task())
    assert out.reason == "no_change"
    out = await run_task(ScriptedEngine("x"), task("ask"))
    assert out.reason == "bad_request"
    out = await run_task(ScriptedEngine("x", max_context_tokens=10), task())
    assert out.reason == "too_large"


async def test_runner_answer_cut_at_the_limit_closes_its_fence_and_says_so():
    """An explain answer cut at `chatMaxTokens` mid-fence: the fence is closed (or the rest of
    the Markdown renders as code) and a note says why it ends there; a whole answer has none."""
    answer = "It adds.\n\n```python\nprint(add(1, 2))\nprint(add(3, 4))\n```\nDone."
    cut = await run_task(ScriptedEngine(answer, chunk=4), task("explain"), max_tokens=8)
    assert cut.ok
    assert cut.markdown.startswith("It adds.\n\n```python\nprint(")
    body, note = cut.markdown.rsplit("\n\n", 1)
    assert body.endswith("\n```") and body.count("```") == 2
    assert "cut at 8 tokens" in note and "chatMaxTokens" in note
    whole = await run_task(ScriptedEngine(answer, chunk=4), task("explain"), max_tokens=768)
    assert whole.markdown == answer
