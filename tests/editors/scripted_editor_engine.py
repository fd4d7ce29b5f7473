"""Test-only engine for the editor screen tests (`TANDEM_TEST_ENGINE_FACTORY`): real VS Code
(code-server), Neovim and Emacs in tmux.

A screen test must know exactly what "the model" says so it can assert on what the user sees.
This engine answers a FIM prompt from the line the cursor is on (`FIM_RULES`: a line ending
that the user typed → the raw model output), a next-edit prompt as the rename stand-in does
(testing/nextedit_oracle.py: the newest edit's renamed word, renamed through the region) and a
CodeChat prompt from its action (`CHAT_ANSWERS`). Everything between the editor and this answer is real: the LSP server, the
prompt, postprocessing (closers, indentation), the range, the CodeChat checks and diff.

Explicit requests (cycling) sample alternatives at a temperature above 0: those get the rule's
alternatives in turn, so the candidates are distinct and always the same.
"""

from __future__ import annotations

import itertools

from inference.base import EngineInfo, Generation, GenerationRequest
from testing.nextedit_oracle import is_next_edit_prompt, rename_responder
from testing.scripted import ScriptedEngine, ScriptedGeneration

#: (the cursor line before the cursor ends with, greedy answer, alternatives for cycling)
FIM_RULES: list[tuple[str, str, tuple[str, ...]]] = [
    ("result = comp", "ute(3)\n", ()),
    ("total = add(1, ", "2)\n", ()),  # the editor already has the `)`: it must be replaced
    ("color = ", '"red"\n', ('"green"\n', '"blue"\n')),
    ("values = ", "sorted(items, reverse=True)\nprint(values)\n", ()),
    ("label = ", '"cheap"\n', ()),
    # The cursor on an indented blank line after `def double(x):`: a model that starts its
    # answer with a newline (what small models do there).
    ("<blank after def double>", "\n    return 2 * x\n", ()),
]

#: Where a CodeChat prompt says which action it is (codechat/prompts.py wording).
_ACTIONS = [
    ("refactor", "Refactor the code"),
    ("docs", "documentation of the code"),
    ("tests", "Write unit tests"),
    ("explain", "Explain what the code"),
]

EXPLAIN = "\n".join(
    [
        "`add` returns the **sum** of its two arguments.",
        "",
        *[
            f"- step {i}: it reads `a` and `b` and adds them (line {i} of the answer)"
            for i in range(1, 41)
        ],
        "",
        "That is all it does: no checks, no side effects.",
    ]
)

CHAT_ANSWERS = {
    "explain": EXPLAIN,
    "docs": '```python\ndef add(a, b):\n    """Return the sum of a and b."""\n    return a + b\n```',
    "ask": "It adds two numbers.",
}

FIM_TOKENS = ["<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<|endoftext|>"]


def cursor_line(prompt: str) -> tuple[str, str]:
    """(the text before the cursor on its line, the line above) from a PSM StarCoder prompt."""
    prefix = prompt.split("<fim_prefix>", 1)[-1].split("<fim_suffix>", 1)[0]
    lines = prefix.split("\n")
    return lines[-1], (lines[-2] if len(lines) > 1 else "")


def fim_answer(prompt: str, alternative: int) -> str:
    line, above = cursor_line(prompt)
    key = line
    if line.strip() == "" and above.strip().startswith("def double("):
        key = "<blank after def double>"
    for ending, answer, alternatives in FIM_RULES:
        if key.endswith(ending):
            if alternative and alternatives:
                return alternatives[(alternative - 1) % len(alternatives)]
            return answer
    return ""


def action_of(text: str) -> str:
    return next((a for a, marker in _ACTIONS if marker in text), "ask")


class ScriptedEditorEngine(ScriptedEngine):
    """FIM by rule, CodeChat by action; chat answers stream slowly enough to be seen."""

    def __init__(self) -> None:
        super().__init__(self._answer, chunk=12, delay_s=0.0)
        self._alternatives = itertools.count(1)

    @property
    def info(self) -> EngineInfo:
        return EngineInfo(
            name="scripted",
            model="scripted editor-test stand-in (not a model)",
            special_tokens=FIM_TOKENS,
            has_chat_template=False,
            max_context_tokens=32768,
        )

    def _answer(self, req: GenerationRequest) -> str:
        if req.kind == "fim":
            alt = next(self._alternatives) if req.temperature > 0 else 0
            return fim_answer(req.prompt or "", alt)
        if is_next_edit_prompt(req):
            return rename_responder(req)
        text = req.prompt or "\n".join(m["content"] for m in req.messages or [])
        return CHAT_ANSWERS.get(action_of(text), "")

    def start(self, request: GenerationRequest) -> Generation:
        # Chat answers stream in small pieces a little apart (a user watches them arrive);
        # completions and next edits come at once.
        gen = super().start(request)
        chat = request.kind != "fim" and not is_next_edit_prompt(request)
        if chat and isinstance(gen, ScriptedGeneration):
            gen._delay = 0.04
        return gen


def make_engine(settings) -> ScriptedEditorEngine:
    return ScriptedEditorEngine()


#: Shaped like the default model's notice (several sentences, wider than a terminal): what a
#: client must show without stopping the user's start on "Press ENTER".
LONG_NOTICE = (
    "Using Tandem's shipped demo model (a tiny CPU-trained Python FIM model: a plumbing demo, "
    "not a real assistant).\nSet `tandem.model` to a local model directory or a .gguf file for "
    "real suggestions."
)


def make_engine_with_notice(settings) -> tuple[ScriptedEditorEngine, str]:
    return ScriptedEditorEngine(), LONG_NOTICE
