"""Property: nothing of Tandem's own prompt survives postprocessing. Whatever a model writes back
of it (every family's FIM markers, marker-like inventions, the `# Path:` context header, a line
of the cross-file context as the prompt quoted it), at any place in an otherwise good answer,
in FIM and prefix mode, at every kind of cursor: the offered suggestion holds none of it, and
keeps the answer's text before it."""

from __future__ import annotations

import random

import pytest
from cmpl_helpers import ctx_at_marker, words

from completion.pipeline import finalize_edit, prepare
from completion.postprocess.leak import leak_reason
from completion.templates import PREFIX, TEMPLATES, detection_tokens, template_by_name
from completion.types import OpenDocument

SEED = 20261207
OTHER = OpenDocument(
    "file:///ws/stats_utils.py",
    "python",
    "def mean_of_values(values):\n    total_sum = sum(values)\n    return total_sum / len(values)\n",
)
#: Documents with the cursor (█) at the cursor kinds the pipeline tells apart.
DOCS = [
    "def average(values):\n    total_sum = sum(values)\n    return total_sum / █\n",
    "def average(values):\n    █\n    return 0\n",
    "def average(values):\n█    return total\n",
    "def average(values):\n    if not values:\n        return 0\n    █\n",
    "def average(values):\n    total = 0\n    for v in values:\n        total += v\n█\n",
    "function average(values) {\n  const totalSum = values.reduce((a, b) => a + b, 0);\n  █\n}\n",
]
ANSWERS = ["len(values)", "total_sum = sum(values)", "return total_sum / len(values)",
           "if values:", "x = [v for v in values if v]"]  # fmt: skip
INVENTED = ["<|fim_end|>", "<|fim_first|>", "<|fim_count|>", "<fim_end>", "<｜fim▁hole｜>",
            "[PREFIX]", "[SUFFIX]", "<MID>", "<|file_separator|>", "<start_of_turn>", "<eos>",
            "<|im_end|>", "<file_sep>", "<repo_name>"]  # fmt: skip
LEAKS = sorted({*detection_tokens(), *INVENTED} - {"<s>", "</s>"}) + [
    "# Path: stats_utils.py",
    "// Path: src/util.go",
    "# Path: case0_body_after_docstring.py",
    "# def mean_of_values(values):",
    "#     total_sum = sum(values)",
]


def _cases(n: int):
    rng = random.Random(SEED)
    for _ in range(n):
        doc = rng.choice(DOCS)
        answer = rng.choice(ANSWERS)
        leak = rng.choice(LEAKS)
        where = rng.choice(["end", "glued", "next_line", "mid"])
        if where == "end":
            raw = f"{answer} {leak}"
        elif where == "glued":
            raw = f"{answer}{leak}\n"
        elif where == "next_line":
            raw = f"{answer}\n{leak}\n{answer}\n"
        else:
            cut = rng.randrange(len(answer) + 1)
            raw = answer[:cut] + leak + answer[cut:]
        yield doc, raw, leak


@pytest.mark.parametrize("template", ["prefix", "tandem-demo", "qwen", "codellama", "codestral"])
def test_no_suggestion_holds_the_prompts_own_text(template):
    t = PREFIX if template == "prefix" else template_by_name(template)
    checked = 0
    for doc, raw, leak in _cases(160):
        lang = "javascript" if doc.startswith("function") else "python"
        uri = "file:///ws/main.js" if lang == "javascript" else "file:///ws/main.py"
        ctx = ctx_at_marker(doc, lang, uri, others=[OTHER])
        plan = prepare(ctx, t, words)
        out = finalize_edit(raw, ctx, plan).text
        assert leak_reason(out) is None, (template, raw, out)
        if leak_reason(leak) or leak in plan.prompt:  # a context line only where quoted
            assert leak.strip() not in out, (template, raw, out)
        checked += 1
    assert checked == 160


def test_context_lines_the_prompt_quoted_are_cut():
    """FIM mode with comment-style context: a copied `# <snippet line>` is the prompt's text."""
    doc = "def average(values):\n    █\n"
    ctx = ctx_at_marker(doc, others=[OTHER])
    plan = prepare(ctx, template_by_name("tandem-demo"), words)
    assert "# Path: ws/stats_utils.py" in plan.prompt  # the context is in this prompt
    raw = "total = sum(values)\n    #     total_sum = sum(values)\n    return total\n"
    out = finalize_edit(raw, ctx, plan).text
    assert out.strip() == "total = sum(values)"


def test_the_text_before_a_leak_is_kept():
    ctx = ctx_at_marker("def f(xs):\n    return sum(xs) / █\n")
    plan = prepare(ctx, PREFIX, words)
    assert finalize_edit("len(xs)<|fim_end|>", ctx, plan).text == "len(xs)"
    assert finalize_edit("len(xs) # Path: a.py", ctx, plan).text == "len(xs)"


def test_code_that_only_looks_alike_is_not_a_leak():
    for code in ["a <|> b", "x = y < z | w > v", "html = '<s>old</s>'", "Path = '/tmp'",
                 "arr[PREFIX_LEN]", "print('Path:', p)"]:  # fmt: skip
        assert leak_reason(code) is None, code
    assert set(TEMPLATES)  # every family's tokens are covered through detection_tokens()
