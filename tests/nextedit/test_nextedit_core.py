"""The pure next-edit core: history, region, formats, minimal edits, the early stop."""

from __future__ import annotations

import asyncio

import pytest

from nextedit import EditHistory, NextEditRequest, apply_edits, predict, region_around
from nextedit.edits import TextEdit, postprocess, rewrite_to_edits
from nextedit.formats import FORMATS, choose_format, detect_format, format_by_name
from nextedit.history import diff_hunks, edit_from_texts
from nextedit.predict import build_input
from nextedit.rejoin import rejoined
from testing.nextedit_oracle import rename_engine
from testing.scripted import ScriptedEngine

BEFORE = '''def area(w, h):
    """Area of a rectangle."""
    check(w)
    check(h)
    result = w * h
    log("area", w, h)
    print("computed")
    print("returning now")
    return result'''
AFTER = BEFORE.replace("def area(w, h)", "def area(width, h)")
TARGET = AFTER.replace("(w)", "(width)").replace("w * h", "width * h").replace(", w,", ", width,")


def _request() -> NextEditRequest:
    edit = edit_from_texts("file:///a.py", "a.py", BEFORE, AFTER)
    return NextEditRequest(
        "file:///a.py", "a.py", tuple(AFTER.split("\n")), 0, len("def area(width"), (edit,)
    )


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_a_burst_of_typing_in_one_place_is_one_edit():
    clock = Clock()
    h = EditHistory(clock=clock)
    text = "a = 1\nb = 2\nc = 3\n"
    h.open("u", text, "x.py")
    for word in ("b = 2", "b = 20", "b = 200"):  # typing, 0.3 s apart
        clock.t += 0.3
        h.observe("u", text.replace("b = 2", word))
    [edit] = h.recent()
    assert edit.old_lines == ("b = 2",) and edit.new_lines == ("b = 200",)
    assert "-b = 2\n+b = 200\n" in edit.diff and edit.diff.startswith("@@ -1,4 +1,4 @@")


def test_a_pause_or_a_jump_elsewhere_starts_a_new_edit():
    clock = Clock()
    h = EditHistory(clock=clock)
    lines = [f"line{i}" for i in range(30)]
    h.open("u", "\n".join(lines))
    lines[2] = "changed2"
    h.observe("u", "\n".join(lines))
    clock.t += 0.2
    lines[25] = "changed25"  # far away: a new edit
    h.observe("u", "\n".join(lines))
    clock.t += 5.0
    lines[25] = "changed25!"  # same place after a pause: a new edit
    h.observe("u", "\n".join(lines))
    assert [e.new_lines for e in h.recent()] == [("changed2",), ("changed25",), ("changed25!",)]


def test_history_is_bounded_and_spans_files():
    clock = Clock()
    h = EditHistory(max_edits=3, clock=clock)
    for i in range(6):
        uri = f"file:///f{i % 2}.py"
        h.open(uri, "x\n") if i < 2 else None
        clock.t += 10
        h.observe(uri, f"x{i}\n")
    recent = h.recent()
    assert len(recent) == 3
    assert {e.uri for e in recent} == {"file:///f0.py", "file:///f1.py"}
    assert recent[-1].new_lines == ("x5",)


def test_diff_hunks_number_lines_like_diff_u():
    a = [f"l{i}" for i in range(20)]
    b = list(a)
    b[10] = "new"
    assert diff_hunks(a, b).split("\n")[0] == "@@ -8,7 +8,7 @@"


def test_region_is_21_lines_clamped():
    lines = [str(i) for i in range(100)]
    r = region_around(lines, 50, 0)
    assert (r.start, r.end, len(r.lines)) == (40, 61, 21)
    r = region_around(lines, 2, 0)
    assert (r.start, r.end) == (0, 13)


@pytest.mark.parametrize(
    "new",
    [
        ["a"],
        ["a", "x", "b", "y", "end", "more"],
        ["z", "a", "  x = w"],
        ["a", "  x = width", "b", "  y = width", "end"],
        [],
    ],
)
def test_rewrite_to_edits_round_trips(new):
    lines = ["a", "  x = w", "b", "  y = w", "end"]
    edits = rewrite_to_edits(region_around(lines, 0, 0), new, len(lines))
    assert apply_edits(lines, edits) == (new or [""])


def test_a_rename_is_a_word_edit_off_the_cursor_line():
    lines = ["def f(width):", "    x = w + 1", "    return x"]
    edits = rewrite_to_edits(region_around(lines, 0, 7), ["def f(width):", "    x = width + 1",
                                                          "    return x"], 3)  # fmt: skip
    assert edits == [TextEdit(1, 8, 1, 9, "width")]


def test_postprocess_drops_noops_retypes_and_outside():
    lines = ["a", "b", "c"]
    region = region_around(lines, 0, 0, above=0, below=1)  # lines 0-1
    kept = postprocess(
        lines,
        region,
        [
            TextEdit(0, 0, 0, 1, "a"),  # no-op
            TextEdit(1, 0, 1, 0, "b\n"),  # re-types the line below it
            TextEdit(2, 0, 2, 1, "C"),  # outside the region
            TextEdit(1, 0, 1, 1, "B"),  # a real edit
        ],
    )
    assert kept == [TextEdit(1, 0, 1, 1, "B")]


def test_apply_edits_refuses_overlaps_and_outside():
    with pytest.raises(ValueError):
        apply_edits(["ab"], [TextEdit(0, 0, 0, 2, "x"), TextEdit(0, 1, 0, 2, "y")])
    with pytest.raises(ValueError):
        apply_edits(["ab"], [TextEdit(3, 0, 3, 1, "x")])


def test_rejoin_waits_for_a_change_and_a_strong_anchor():
    original = ["def f(a):", "    x = a + 1", "    y = a * 2", "    z = x + y", "    return z", "}"]
    assert rejoined(original, "def f(a):\n    x = a + 1\n") is None  # still copying
    changed = "def f(a):\n    x = b + 1\n"
    assert rejoined(original, changed) is None
    assert rejoined(original, changed + "    y = a * 2\n") is None  # one anchor line only
    spliced = rejoined(original, changed + "    y = a * 2\n    z = x + y\n    ret")
    assert spliced == (["def f(a):", "    x = b + 1", "    y = a * 2", "    z = x + y",
                        "    return z", "}"], 2)  # fmt: skip
    # an inserted line, then the original again
    ins = "def f(a):\n    assert a\n    x = a + 1\n    y = a * 2\n"
    assert rejoined(original, ins)[0] == original[:1] + ["    assert a"] + original[1:]


def test_format_detection():
    assert detect_format(["/m/sweep-next-edit-1.5b.q8_0.v2.gguf"]) == "sweep"
    assert detect_format(["zed-industries/zeta", None]) == "zeta"
    assert detect_format(["gemma-3-270m-q4_k_m.gguf"], ["<start_of_turn>"]) == "generic"
    assert choose_format("zeta", ["sweep-next-edit"]).name == "zeta"
    with pytest.raises(ValueError):
        format_by_name("nope")


def test_sweep_prompt_layout():
    spec = format_by_name("sweep").build(build_input(_request()))
    p = spec.prompt
    assert p.startswith("<|file_sep|>a.py.diff\noriginal:\ndef area(w, h):")
    assert "\nupdated:\ndef area(width, h):" in p
    o, c, u = (p.index(f"<|file_sep|>{k}/a.py\n") for k in ("original", "current", "updated"))
    assert o < c < u and p.endswith("<|file_sep|>updated/a.py\n")
    assert p[o:c].split("\n")[1] == "def area(w, h):"  # the window before the newest edit
    assert p[c:u].split("\n")[1] == "def area(width, h):"
    assert "<|file_sep|>" in spec.stop


def test_zeta_prompt_layout():
    p = format_by_name("zeta").build(build_input(_request())).prompt
    assert p.startswith("### Instruction:\nYou are a code completion assistant")
    assert "### User Edits:\n\nUser edited a.py:\n```diff\n@@ -1,4 +1,4 @@\n-def area(w, h):" in p
    assert "### User Excerpt:\n\n```a.py\n<|start_of_file|>\n<|editable_region_start|>\n" in p
    assert "def area(width<|user_cursor_is_here|>, h):" in p
    assert p.endswith("    return result\n<|editable_region_end|>\n```\n\n### Response:\n")


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_render_parse_round_trip(name):
    fmt = format_by_name(name)
    inp = build_input(_request())
    new = TARGET.split("\n")
    assert fmt.parse(fmt.render(inp, new)) == new


def test_reserved_tokens_refuse_the_request():
    req = _request()
    bad = NextEditRequest(req.uri, req.path, req.lines + ("s = '<|file_sep|>'",), 0, 0, req.recent)
    result = asyncio.run(predict(rename_engine(), format_by_name("sweep"), bad))
    assert result.edits == [] and result.reason == "reserved_tokens"


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_predict_proposes_the_rename_lines_away_and_stops_early(name):
    result = asyncio.run(predict(rename_engine(), format_by_name(name), _request()))
    assert apply_edits(AFTER.split("\n"), result.edits) == TARGET.split("\n")
    assert {e.start_line for e in result.edits} == {2, 4, 5}
    # two anchor lines after the last change (lines 6 and 7), then line 8 spliced in
    assert result.stats.stopped_early and result.stats.spliced_lines == 1
    assert result.stats.saved_tokens > 0


def test_an_outside_cancel_is_no_suggestion():
    engine = ScriptedEngine(lambda r: "def area(width, h):\n" * 5, chunk=4, delay_s=0.01)

    async def run():
        task = asyncio.ensure_future(predict(engine, format_by_name("generic"), _request()))
        await asyncio.sleep(0)
        while not engine.generations:
            await asyncio.sleep(0)
        engine.generations[0].cancel()
        return await task

    result = asyncio.run(run())
    assert result.edits == [] and result.reason == "cancelled"
