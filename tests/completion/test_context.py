"""Context stage: token budget, cross-file snippets (ranking, placement, stability), privacy."""

from __future__ import annotations

import os

from cmpl_helpers import ctx_at_marker, words

from completion.context.budget import ANCHOR_LINES, fit_prefix, fit_suffix
from completion.context.privacy import GitIgnore, is_secret, may_quote, parse_gitignore
from completion.context.snippets import identifiers, jaccard, rank_snippets
from completion.pipeline import prepare
from completion.templates import template_by_name
from completion.types import OpenDocument

DEMO = template_by_name("starcoder")  # PSM, snippets as comments


def _long_doc(n: int) -> str:
    return "".join(f"value_{i} = compute({i}, factor)\n" for i in range(n))


# --- budget ------------------------------------------------------------------------------------


def test_fit_prefix_keeps_whole_lines_at_the_end_within_budget():
    doc = _long_doc(300) + "result = "
    out = fit_prefix(doc, words, 100)
    assert words(out) <= 100
    assert doc.endswith(out) and out.endswith("result = ")
    assert out.startswith("value_")  # cut on a line boundary
    assert words(out) > 100 - 4 * ANCHOR_LINES  # not cut much more than the anchor grid


def test_fit_prefix_start_is_stable_while_typing():
    doc = _long_doc(300)
    a = fit_prefix(doc + "res", words, 120)
    b = fit_prefix(doc + "result = comp", words, 120)
    c = fit_prefix(doc + "result = compute(1)\nnext", words, 120)
    first = a.split("\n", 1)[0]
    assert b.split("\n", 1)[0] == first and c.split("\n", 1)[0] == first


def test_fit_suffix_keeps_the_start():
    doc = ")\n" + _long_doc(200)
    out = fit_suffix(doc, words, 50)
    assert doc.startswith(out) and words(out) <= 50 and out.endswith("\n")
    assert fit_suffix("short", words, 50) == "short"
    assert fit_prefix("", words, 10) == "" and fit_suffix("", words, 10) == ""


def test_prepare_respects_the_prompt_budget():
    doc = _long_doc(400) + "x = █\n" + _long_doc(400)
    plan = prepare(ctx_at_marker(doc), DEMO, words, max_prompt_tokens=300)
    assert words(plan.prompt) <= 300
    assert "x = <fim_suffix>" in plan.prompt  # the cursor line survives on both sides
    pre = plan.prompt.split("<fim_suffix>")[0]
    suf = plan.prompt.split("<fim_suffix>")[1].split("<fim_middle>")[0]
    assert words(pre) > words(suf)  # the prefix gets the larger share


def test_short_prefix_gives_its_room_to_the_suffix():
    doc = "x = █\n" + _long_doc(400)
    plan = prepare(ctx_at_marker(doc), DEMO, words, max_prompt_tokens=300)
    assert words(plan.prompt) <= 300
    assert words(plan.prompt) > 200  # the suffix took what the prefix did not need


# --- cross-file snippets ---------------------------------------------------------------------

UTILS = OpenDocument(
    "file:///ws/geometry/shapes.py",
    "python",
    "import math\n\n\nclass Circle:\n    def __init__(self, radius):\n        self.radius = radius\n\n"
    "    def circle_area(self):\n        return math.pi * self.radius ** 2\n",
)
NOISE = OpenDocument(
    "file:///ws/README.md", "markdown", "# Title\n\nSome prose about installing things.\n"
)
ENV = OpenDocument("file:///ws/.env", "dotenv", "API_KEY=sk-secret-circle-radius\n")
KEY = OpenDocument("file:///home/u/.ssh/id_rsa", "plaintext", "-----BEGIN circle radius KEY")
MAIN = "from geometry.shapes import Circle\n\nc = Circle(radius=2)\nprint(c.radius)\narea = c.█\n"


def test_similar_document_is_quoted_before_the_prefix_as_comments():
    ctx = ctx_at_marker(MAIN, others=[NOISE, UTILS])
    plan = prepare(ctx, DEMO, words, workspace_root="/ws")
    assert plan.context_uris == [UTILS.uri]
    assert plan.prompt.startswith("<fim_prefix># Path: geometry/shapes.py\n# import math\n")
    assert plan.prompt.index("#     def circle_area") < plan.prompt.index("from geometry.shapes")
    assert "installing" not in plan.prompt


def test_comment_syntax_follows_the_current_language():
    js_utils = OpenDocument("file:///ws/util.js", "javascript", "export function areaOf(c) {}\n")
    ctx = ctx_at_marker(
        "import { areaOf } from './util.js';\nconst c = {};\nconsole.log(areaOf(c));\nareaOf(█",
        "javascript",
        "file:///ws/main.js",
        [js_utils],
    )
    plan = prepare(ctx, DEMO, words, workspace_root="/ws")
    assert plan.prompt.startswith("<fim_prefix>// Path: util.js\n// export function areaOf(c) {}\n")


def test_repo_level_templates_quote_files_with_file_separators():
    ctx = ctx_at_marker(MAIN, others=[UTILS])
    plan = prepare(ctx, template_by_name("starcoder2"), words, workspace_root="/ws")
    assert plan.prompt.startswith("<repo_name>ws<file_sep>geometry/shapes.py\nimport math")
    assert "<file_sep><fim_prefix>main.py\nfrom geometry.shapes" in plan.prompt
    qwen = prepare(ctx, template_by_name("qwen"), words, workspace_root="/ws")
    assert qwen.prompt.startswith("<|repo_name|>ws\n<|file_sep|>geometry/shapes.py\n")
    assert "<|file_sep|>main.py\n<|fim_prefix|>from geometry" in qwen.prompt


def test_snippet_order_is_stable_for_kv_prefix_reuse():
    other = OpenDocument(
        "file:///ws/geometry/circle_tools.py",
        "python",
        "def describe(c):\n    return f'Circle radius {c.radius} area {c.circle_area()}'\n",
    )
    a = prepare(ctx_at_marker(MAIN, others=[UTILS, other]), DEMO, words, workspace_root="/ws")
    b = prepare(ctx_at_marker(MAIN, others=[other, UTILS]), DEMO, words, workspace_root="/ws")
    assert len(a.context_uris) == 2 and a.prompt == b.prompt
    # typing on the cursor line changes nothing before the cursor line
    c = prepare(
        ctx_at_marker(MAIN.replace("c.█", "c.circle_a█"), others=[UTILS, other]),
        DEMO,
        words,
        workspace_root="/ws",
    )
    head = a.prompt[: a.prompt.index("area = c.")]
    assert c.prompt.startswith(head) and len(head) > 0.8 * len(a.prompt.split("<fim_suffix>")[0])


def test_ranking_prefers_shared_identifiers():
    q = identifiers("c = Circle(radius=2)\nprint(c.radius)\n")
    assert jaccard(q, identifiers(UTILS.text)) > jaccard(q, identifiers(NOISE.text))
    ranked = rank_snippets("c = Circle(radius=2)\nprint(c.radius)\n", [NOISE, UTILS], "x")
    assert ranked and ranked[0].uri == UTILS.uri


# --- privacy -----------------------------------------------------------------------------------


def test_secret_files_are_never_quoted_or_looked_up():
    ctx = ctx_at_marker(MAIN, others=[ENV, KEY, UTILS])
    plan = prepare(ctx, DEMO, words)
    assert "sk-secret" not in plan.prompt and "sk-secret" not in plan.lookup_text
    assert "BEGIN" not in plan.prompt and "BEGIN" not in plan.lookup_text
    assert "circle_area" in plan.lookup_text  # the ordinary document is available to lookup


def test_secret_names():
    for uri in [
        "file:///p/.env",
        "file:///p/.env.production",
        "file:///p/server.pem",
        "file:///p/tls.key",
        "file:///home/u/.ssh/id_ed25519.pub",
        "file:///p/credentials.json",
        "file:///home/u/.aws/config",
        "file:///p/.npmrc",
        "untitled:.env",
    ]:
        assert is_secret(uri), uri
    for uri in ["file:///p/main.py", "file:///p/keyboard.py", "file:///p/env.py"]:
        assert not is_secret(uri), uri
    assert is_secret("file:///p/settings", "dotenv")


def test_gitignore_rules(tmp_path):
    (tmp_path / ".gitignore").write_text(
        "# build output\nbuild/\n*.log\n!keep.log\n/top.txt\ndocs/**/draft.md\n"
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".gitignore").write_text("local_*.py\n")
    gi = GitIgnore(tmp_path)
    assert gi.ignored(tmp_path / "build" / "out.py")
    assert gi.ignored(tmp_path / "a" / "build" / "x.py")  # unanchored dir rule, any depth
    assert gi.ignored(tmp_path / "debug.log")
    assert not gi.ignored(tmp_path / "keep.log")  # negation
    assert gi.ignored(tmp_path / "top.txt") and not gi.ignored(tmp_path / "sub" / "top.txt")
    assert gi.ignored(tmp_path / "docs" / "a" / "b" / "draft.md")
    assert gi.ignored(tmp_path / "sub" / "local_settings.py")
    assert not gi.ignored(tmp_path / "local_settings.py")  # nested rules stay in their folder
    assert not gi.ignored(tmp_path / "src" / "main.py")
    assert gi.ignored(tmp_path / ".git" / "config")
    assert not gi.ignored("/elsewhere/file.py")


def test_gitignored_documents_stay_out_of_the_prompt(tmp_path):
    (tmp_path / ".gitignore").write_text("generated/\n")
    root = str(tmp_path)
    gen = OpenDocument(
        "file://" + os.path.join(root, "generated", "shapes_pb2.py"), "python", UTILS.text
    )
    ctx = ctx_at_marker(MAIN, uri="file://" + os.path.join(root, "main.py"), others=[gen])
    assert not may_quote(gen.uri, "python", root)
    plan = prepare(ctx, DEMO, words, workspace_root=root)
    assert plan.context_uris == [] and "circle_area" not in plan.prompt
    assert plan.lookup_text == ""
    # without a workspace root the rules are unknown: the document may be used
    assert "circle_area" in prepare(ctx, DEMO, words).prompt


def test_parse_gitignore_ignores_comments_and_blank_lines():
    rules = parse_gitignore("\n# comment\n\\#literal\nfoo/ \n")
    assert len(rules) == 2 and rules[1].dir_only


def test_demo_template_puts_the_cursor_last_so_typing_only_appends():
    demo = template_by_name("tandem-demo")
    a = prepare(ctx_at_marker(MAIN.replace("c.█", "c.circ█"), others=[UTILS]), demo, words)
    b = prepare(ctx_at_marker(MAIN.replace("c.█", "c.circle█"), others=[UTILS]), demo, words)
    assert a.prompt.startswith("<fim_prefix><fim_suffix>")
    assert a.prompt.endswith("c.circ") and b.prompt == a.prompt + "le"


def test_the_budget_fitter_on_a_10k_line_document_counts_only_lines_near_the_cursor():
    """Issue 15: the fitter's cost must not grow with the document. It walks lines outward from
    the cursor, stops at the budget and never re-tokenizes the joined text; a MemoCounter then
    counts each distinct line once, so the next keystroke re-counts only the changed line."""
    from completion.context.budget import MemoCounter

    doc = "".join(f"value_{i} = compute({i}, {i + 1})\n" for i in range(10_000))
    seen: list[str] = []

    def counting(text: str) -> int:
        seen.append(text)
        return words(text)

    memo = MemoCounter(counting)
    prefix = doc + "result = comp"
    out = fit_prefix(prefix, memo, 200)
    assert prefix.endswith(out) and words(out) <= 200
    assert len(seen) < 100  # ~67 lines fit in 200 words; nothing near 10k
    assert all(len(t) < 200 for t in seen)  # single lines only, never the joined prefix
    seen.clear()
    fit_prefix(doc + "result = compu", memo, 200)  # the next keystroke
    assert seen == ["result = compu"]
    memo2 = MemoCounter(counting)
    seen.clear()
    assert memo2.prime(doc.splitlines(keepends=True), lambda xs: [words(x) for x in xs]) == 10_000
    fit_prefix(prefix, memo2, 200)
    assert seen == ["result = comp"]  # every other line was primed
