"""CodeChat "docs" edit samples, so the demo model learns the one chat skill it can: copying.

From the training files (never held-out ones): Python functions that have a docstring. The
input is the function with its docstring removed; the answer is the original function. Each
sample is rendered with the exact prompt CodeChat sends a model without a chat template
(codechat.prompts.build_prompt, "auto" → the plain ### Instruction / ### Response format), so
the model sees at training time what the server sends at run time. Most answer tokens copy the
input: the workload where n-gram prompt lookup shines.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import numpy as np

from codechat.prompts import build_prompt
from codechat.tasks import ChatTask


def strip_docstring(func_src: str) -> str | None:
    """The function without its docstring (None when it has none or is not one function)."""
    try:
        tree = ast.parse(func_src)
    except SyntaxError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    fn = tree.body[0]
    if ast.get_docstring(fn) is None or len(fn.body) < 2:
        return None
    doc = fn.body[0]
    lines = func_src.splitlines(keepends=True)
    out = "".join(lines[: doc.lineno - 1] + lines[doc.end_lineno :])
    try:
        ast.parse(out)
    except SyntaxError:
        return None
    return out


def collect_pairs(
    files: list[Path], max_pairs: int = 4000, min_lines: int = 5, max_lines: int = 20
) -> list[tuple[str, str]]:
    """(without docstring, original) for functions of a sensible size."""
    pairs: list[tuple[str, str]] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            n = node.end_lineno - node.lineno + 1
            if not (min_lines <= n <= max_lines) or node.decorator_list:
                continue
            src = ast.get_source_segment(text, node, padded=True)
            if not src:
                continue
            src = textwrap.dedent(src)
            stripped = strip_docstring(src)
            if stripped is not None:
                pairs.append((stripped, src))
            if len(pairs) >= max_pairs:
                return pairs
    return pairs


def render_sample(stripped: str, original: str) -> str:
    """Prompt + answer exactly as CodeChat would see them for a "docs" request."""
    task = ChatTask("docs", "/src/module.py", "python", stripped, 0, len(stripped))
    prompt = build_prompt(task, stripped, "auto", lambda _messages: None)
    return prompt.text + original.rstrip() + "\n```\n"


def edit_row(
    pairs: list[tuple[str, str]], encode, eos: int, rng: np.random.Generator, seq_len: int
) -> np.ndarray:
    """`seq_len + 1` tokens of whole samples packed back to back (EOS between them)."""
    row: list[int] = []
    while len(row) < seq_len + 1:
        stripped, original = pairs[int(rng.integers(0, len(pairs)))]
        row += [*encode(render_sample(stripped, original)), eos]
    return np.asarray(row[: seq_len + 1], dtype=np.int64)
