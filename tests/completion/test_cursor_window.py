"""The small dedented window for "in a string / comment at the cursor" (textkit.cursor_window):
it must answer like a parse of the whole file at least as often as the old top-level window, and
actually be small in the common case (else the speed it exists for is silently gone)."""

from __future__ import annotations

import glob
import os
import random
import sysconfig

import pytest

from textkit import cursor_window, syntax

pytestmark = pytest.mark.skipif(not syntax.has_grammar("python"), reason="no python grammar")


def _whole(grammar: str, text: str, offset: int) -> tuple[bool, bool]:
    st = syntax.cursor_syntax(grammar, text, offset)
    return st.in_string, st.in_comment


def _small(grammar: str, text: str, offset: int) -> tuple[bool, bool]:
    st = cursor_window.cursor_syntax.__wrapped__(grammar, text[:offset], text[offset:])
    return st.in_string, st.in_comment


def _old(grammar: str, text: str, offset: int) -> tuple[bool, bool]:
    pre, suf = syntax.code_window(text[:offset], text[offset:])
    st = syntax.cursor_syntax(grammar, pre + suf, len(pre))
    return st.in_string, st.in_comment


def test_agrees_with_a_whole_file_parse_at_least_as_often_as_the_old_window():
    rng = random.Random(7)
    files = sorted(glob.glob(os.path.join(sysconfig.get_paths()["stdlib"], "*.py")))
    rng.shuffle(files)
    small_ok = old_ok = total = 0
    worse: list[tuple[str, int]] = []
    for path in files[:12]:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        if len(text) > 150_000:
            continue
        ends = [i for i, c in enumerate(text) if c == "\n"]
        for off in rng.sample(ends, min(25, len(ends))) + rng.sample(range(len(text)), 25):
            truth = _whole("python", text, off)
            small, old = _small("python", text, off), _old("python", text, off)
            total += 1
            small_ok += small == truth
            old_ok += old == truth
            if small != truth and old == truth:
                worse.append((os.path.basename(path), off))
    assert total > 400
    assert small_ok >= old_ok, (small_ok, old_ok)
    assert len(worse) <= total // 200, worse  # a rare cut the fallbacks miss, never a pattern


CLASS = "class Big:\n" + "".join(
    f'    def method_{i}(self, x):\n        """Doc {i}."""\n        y = x + {i}\n'
    f"        return y  # done\n\n"
    for i in range(150)
)


def test_inside_a_long_class_the_window_is_small_and_dedented():
    text = CLASS + "    def last(self):\n        value = compute("
    window = cursor_window.small_window(text, ")\n        return value\n")
    assert window is not None
    before, after = window
    assert before.count("\n") <= cursor_window.ABOVE + 5  # not the 750 lines up to `class Big`
    assert before.endswith("def last(self):\n    value = compute(")  # one level taken off
    assert not any(line.startswith(" ") for line in before.splitlines()[:1])
    assert after.startswith(")\n    return value")


@pytest.mark.parametrize(
    ("tail", "suffix", "expected"),
    [
        ('    def last(self):\n        """Start of a docstring', '\n        """\n', (True, False)),
        ("    def last(self):\n        # a comment at the cursor", "\n", (False, True)),
        ("    def last(self):\n        return 'a string", " here'\n", (True, False)),
        ("    def last(self):\n        return value", "\n", (False, False)),
        ("    def last(self):\n        ", "pass\n", (False, False)),  # in the indentation
    ],
)
def test_verdicts_inside_a_long_class(tail: str, suffix: str, expected: tuple[bool, bool]):
    text = CLASS + tail
    suffix += "        pass\n"
    assert _whole("python", text + suffix, len(text)) == expected
    assert _small("python", text + suffix, len(text)) == expected


def test_a_docstring_opened_at_the_cursor_and_closed_past_the_window_falls_back():
    doc = "\n".join(f"        line {i} of a long docstring" for i in range(40))
    text = CLASS + '    def last(self):\n        """'
    suffix = f'{doc}\n        """\n        return 1\n'
    assert _small("python", text + suffix, len(text)) == (True, False)


def test_a_window_never_starts_on_a_docstrings_closing_line():
    # the closing line sits exactly where the window would start (ABOVE lines up); started
    # there, the window reads it as an opening quote and the code below as a string
    body = ["    def g():", '        """Inner doc."""', "        return 1"]
    body += [f"    x{i} = {i}" for i in range(cursor_window.ABOVE - 1 - len(body))]
    text = 'def f():\n    """Doc\n    more doc\n    """\n' + "\n".join(body) + "\n    y = "
    before, _ = cursor_window.small_window(text, "1\n") or ("", "")
    assert before and not before.lstrip().startswith('"""')
    assert _small("python", text + "1\n", len(text)) == _whole("python", text + "1\n", len(text))
    assert _whole("python", text + "1\n", len(text)) == (False, False)


def test_crlf_and_tabs():
    body = "".join(f"\tv{i} = {i}\r\n" for i in range(80))
    text = f"def f():\r\n{body}\ts = 'open"
    assert _small("python", text + "'\r\n", len(text)) == (True, False)
    text = f"def f():\r\n{body}\tt = 1  # note"
    assert _small("python", text + "\r\n", len(text)) == (False, True)
