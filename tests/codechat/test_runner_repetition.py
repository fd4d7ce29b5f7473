"""CodeChat stops a model that loops, and says so: never "explanation ready".

The engine is the scripted stand-in (pure logic): it streams a looping answer, as Gemma 3 270M
base does on explain prompts, and would go on for thousands of characters."""

from __future__ import annotations

import asyncio

from codechat import ChatTask, run_task
from lsp_server.features.codechat.presentation import user_text
from lsp_server.protocol import code_chat_result
from testing.scripted import ScriptedEngine

CODE = "def is_leap(year):\n    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)\n"
INTRO = "This function checks whether a year is a leap year.\n\n"
LOOP = "The code is a function that takes a year as input and returns True. "


def _run(action: str, answer: str, text: str = CODE):
    engine = ScriptedEngine(answer, chunk=5)
    seen: list[str] = []
    task = ChatTask(action, "/w/cal.py", "python", text, 0, len(text))
    outcome = asyncio.run(
        run_task(engine, task, max_tokens=4096, on_text=lambda _d, so_far: seen.append(so_far))
    )
    return outcome, engine.generations[0], seen


def test_a_looping_explanation_is_stopped_and_reported():
    outcome, gen, seen = _run("explain", INTRO + LOOP * 200)
    assert gen.cancelled  # the engine was told to stop
    streamed = sum(len(s) for s in [seen[-1]]) if seen else 0
    assert streamed < len(INTRO) + 4 * len(LOOP)  # within a few repeats, not 200
    assert not outcome.ok and outcome.reason == "repetition"
    assert "repeated itself" in outcome.message and "ready" not in outcome.message
    # the part before the loop (plus one copy) is kept for the user to read
    assert outcome.markdown == (INTRO + LOOP).strip()
    # what an Eglot/Helix user reads, and what chatResult carries
    result = code_chat_result(False, outcome.message, reason=outcome.reason,
                              markdown=outcome.markdown)  # fmt: skip
    text = user_text("explain", result)
    assert "explanation ready" not in text.lower() and "repeated itself" in text
    assert INTRO.strip() in text


def test_a_looping_edit_is_stopped_and_nothing_applied():
    answer = "```python\ndef is_leap(year):\n" + "    year = year % 4\n" * 300
    outcome, gen, _ = _run("refactor", answer)
    assert gen.cancelled and not outcome.ok and outcome.reason == "repetition"
    assert outcome.files == [] and outcome.markdown is None
    assert "nothing was changed" in outcome.message


def test_repetition_in_the_selection_is_not_a_loop():
    """A refactor that keeps the user's own repeated lines is applied as usual."""
    src = "def reset(c):\n" + "    c.push_default_value(0)\n" * 3 + "    return c\n"
    answer = "def reset(c):\n" + "    c.push_default_value(0)\n" * 3 + "    return c  # same\n```"
    outcome, gen, _ = _run("refactor", answer, src)
    assert not gen.cancelled
    assert outcome.ok, outcome.message


def test_an_answer_without_a_loop_is_ready():
    outcome, gen, _ = _run("explain", INTRO + "It returns True for 2024 and False for 1900.")
    assert outcome.ok and outcome.message == "explanation ready" and not gen.cancelled


def test_a_base_model_answer_ends_with_its_response_section():
    """No chat template: the `alpaca` format; the answer ends where a base model starts the next
    section (`### Instruction:` / `### Response:`) or writes its end-of-text marker as text."""
    tails = ("\n\n### Instruction:\nWrite a poem.", "\n### Response:\nAgain", "<eos>junk",
             "\n\n### Explanation:\nThe code below is")  # fmt: skip
    for tail in tails:
        outcome, _, _ = _run("explain", INTRO + "It is True for 2024." + tail)
        assert outcome.prompt_format == "alpaca"
        assert outcome.ok and outcome.markdown == INTRO + "It is True for 2024.", tail
