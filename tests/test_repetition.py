"""The degenerate-repetition detector (`textkit/repetition.py`): it fires on a model looping,
within a few repeats, and never on code that repeats itself legitimately.

The `gemma:` loops are real outputs of Gemma 3 270M base (Q4_K_M GGUF, greedy, llama.cpp) to
CodeChat explain prompts in the `alpaca` format, up to where the stop fired; the others are
the other shapes a loop takes (a cycle of lines, a code line, inside one line).
"""

from __future__ import annotations

import pytest

from textkit.repetition import cut_loop, find_loop

# -- real looping outputs -------------------------------------------------------------------------

#: explain `is_leap`, `clamp` and `safe_div` (Gemma 3 270M base, alpaca format, greedy): the
#: text the model wrote up to where the stop fired (61, 34 and 40 tokens)
GEMMA_IS_LEAP = (
    "The code below "
    + ("is a simple example of a python program that does not have a lot of logic. It ") * 3
    + "is a simple example of a python program that does not hav"
)
GEMMA_CLAMP = "The code below " + "is a simple example of a python program. It " * 4
GEMMA_SAFE_DIV = "The code below " + "is a simple example of a safe-div function. It " * 4

LOOPS = {
    "gemma: is_leap": GEMMA_IS_LEAP,
    "gemma: clamp": GEMMA_CLAMP,
    "gemma: safe_div": GEMMA_SAFE_DIV,
    "a two-line cycle": "Start here.\n" + "- It adds the numbers.\n- It returns the sum.\n" * 3,
    "a line repeated": "Explanation:\n" + "The function returns the maximum of the list.\n" * 3,
    "within one line": "return foo(" + "bar, baz, qux, " * 6,
    "a code line": "def f(x):\n" + "    result = compute_value(x, cache)\n" * 3,
    "short word, many times": "very " * 14,
}

LEGIT = {
    "similar assignments": "".join(f"    x{i} = data[{i}]\n" for i in range(12)),
    "closers": "            }\n        }\n    }\n}\n" + "}\n" * 6,
    "zero matrix rows": "grid = [\n" + "    [0, 0, 0, 0],\n" * 8 + "]\n",
    "table rows": "| a | b |\n|---|---|\n" + "".join(f"| {i} | {i * i} |\n" for i in range(10)),
    "rule": "# " + "=" * 78 + "\n",
    "numbered prose": "".join(f"{i}. Step {i} adds item {i} to the list.\n" for i in range(1, 8)),
    "test cases": "".join(f"    assert is_leap({y}) is {y % 4 == 0}\n" for y in range(2000, 2010)),
    "two copies only": "It returns the sum of the list items. It returns the sum of the list items. ",
    "repeated pass": "class A:\n    pass\n\n\nclass B:\n    pass\n\n\nclass C:\n    pass\n",
    "empty": "",
}


@pytest.mark.parametrize("name", sorted(LOOPS))
def test_fires_on_loops(name):
    text = LOOPS[name]
    loop = find_loop(text)
    assert loop is not None, name
    assert loop.copies >= 3
    kept, _ = cut_loop(text)
    # what is kept holds the unit once, never the repeats
    assert kept.count(" ".join(loop.unit.split())[:20]) <= 1 or len(loop.unit.strip()) < 20


@pytest.mark.parametrize("name", sorted(LEGIT))
def test_quiet_on_legitimate_repetition(name):
    assert find_loop(LEGIT[name]) is None, name


def test_fires_at_every_character_once_looping_as_the_text_streams():
    """Checked after each streamed piece: the loop is caught within the third copy, wherever
    the stream happens to stop (the tail is periodic under any rotation)."""
    unit = "The code is a function that takes a year as input and returns True. "
    text = "Intro line.\n" + unit * 6
    first = next(i for i in range(1, len(text) + 1) if find_loop(text[:i]) is not None)
    assert len("Intro line.\n") + 2 * len(unit) < first <= len("Intro line.\n") + 3 * len(unit)


def test_the_kept_text_ends_at_a_sentence_before_the_loop():
    """Gemma's loops start mid-sentence ("… logic. It is a simple …"): what is kept for the user
    ends at the first copy's sentence end, once."""
    kept, loop = cut_loop(GEMMA_IS_LEAP)
    assert loop is not None and loop.copies >= 3
    assert kept == (
        "The code below is a simple example of a python program that does not have a lot of logic."
    )


def test_repetition_the_user_already_has_is_allowed():
    """A refactor that copies the selection's own repeated lines is not a loop."""
    selection = "def init(self):\n" + "    self.reset_counter(total)\n" * 3
    answer = "```python\n" + selection
    assert find_loop(answer) is not None
    assert find_loop(answer, allowed=selection) is None
    # re-indented still counts as the user's
    assert find_loop(answer, allowed=selection.replace("    ", "  ")) is None
