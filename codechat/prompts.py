"""Task → chat messages → the prompt text in the model's format.

Formats: the tokenizer's chat template ("auto"), or a configured plain one: "chatml",
"deepseek" (DeepSeek LLM chat: `User: … Assistant:`, no system role), "alpaca"
(### Instruction / ### Response) and "question" (### Question / ### Response). Edit actions
prefill the opening code fence so even a base model answers with code, and stop at the closing
fence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from codechat.diff import dedent
from codechat.extract import fence_tag
from codechat.language import NAMES, detect_language
from codechat.tasks import ChatTask
from codechat.testfiles import TestTarget

log = logging.getLogger(__name__)

#: End-of-turn markers of the chat templates Tandem knows (Qwen/ChatML, Gemma 2/3, Gemma 4,
#: Llama 3, Phi-3, Granite, Command-R). A marker the rendered prompt closes a turn with is a
#: stop: it is often not the tokenizer's EOS (Gemma's is <eos>), so without it the model would
#: write the next turn itself.
END_OF_TURN = (
    "<|im_end|>",
    "<end_of_turn>",
    "<turn|>",
    "<|eot_id|>",
    "<|end|>",
    "<|end_of_text|>",
    "<|END_OF_TURN_TOKEN|>",
)

#: The response section of the `alpaca` / `question` formats ends where a base model starts a
#: next section: any `### ` header (`### Instruction:`, `### Explanation:`, `### Answer:`; on
#: Gemma 3 270M base such a section was where it began to loop, repeating its answer block), or
#: writes an end-of-text marker as text. Only models without a chat template get this format.
SECTION_STOPS = ("\n### ", "<eos>", "<end_of_turn>", "<|endoftext|>")

PLAIN_FORMATS = ("chatml", "deepseek", "alpaca", "question")
FORMATS = ("auto",) + PLAIN_FORMATS
#: Used when "auto" finds no chat template: base models follow it best.
FALLBACK_FORMAT = "alpaca"


@dataclass
class Prompt:
    text: str
    #: "template", "template (system folded into user)", or one of PLAIN_FORMATS.
    format: str
    messages: list[dict[str, str]]
    stop: list[str] = field(default_factory=list)
    #: Text the prompt already started the answer with (prepend it to the output).
    prefill: str = ""
    #: Why this format was chosen, when it was not the configured one (for the log).
    note: str | None = None
    #: The template opened a `<think>` block in the prompt (reasoning models); None: not known
    #: (a server renders a template Tandem cannot see: the answer is held until it is clear).
    starts_thinking: bool | None = False
    answer_language: str = "en"
    #: Send `messages` (the server renders its chat template: `/v1/chat/completions`), not
    #: `text`. `text` is then the local rendering when there is one, for token counts.
    send_messages: bool = False


_ROLE = (
    "You are Tandem, an expert {lang} programmer working inside the user's editor. "
    "Be precise and keep the user's style."
)

_ACTION = {
    "refactor": (
        "Refactor the code below{how}. Keep its behaviour and every public name (functions, "
        "classes, methods). Reply with the complete new code in one ```{tag} block and nothing "
        "else."
    ),
    "docs": (
        "Add or improve the documentation of the code below: docstrings / doc comments and short "
        "comments where they help. Do not change any code. Reply with the complete code in one "
        "```{tag} block and nothing else."
    ),
    "tests": (
        "Write unit tests with {framework} for the code below, from `{path}`. The tests go in "
        "`{test_path}`; {import_hint}. Cover normal cases and edge cases. Reply with the "
        "test code in one ```{tag} block and nothing else."
    ),
    "explain": "Explain what the code below does, how it works, and anything surprising in it.",
    "ask": "{instruction}",
}


def build_messages(
    task: ChatTask, code: str, test_target: TestTarget | None = None
) -> tuple[list[dict[str, str]], str]:
    """(system + user messages, answer language code)."""
    answer_lang = detect_language(task.instruction)
    tag = fence_tag(task.language_id)
    system = _ROLE.format(lang=task.language_id)
    if task.action in ("explain", "ask"):
        system += f" Answer in {NAMES[answer_lang]}, in Markdown."
    else:
        system += f" Write any prose, comments and docstrings in {NAMES[answer_lang]}."
    tt = test_target
    hint = ""
    if tt is not None:
        hint = f"start with `{tt.import_hint}`" if tt.import_hint else "import the code under test"
    ask = _ACTION[task.action].format(
        how=f" as follows: {task.instruction}" if task.instruction else "",
        tag=tag,
        framework=tt.framework if tt else "",
        path=task.path.rsplit("/", 1)[-1] or "the current file",
        test_path=tt.path.rsplit("/", 1)[-1] if tt else "",
        import_hint=hint,
        instruction=task.instruction,
    )
    if task.action == "explain" and task.instruction:
        ask += f" Focus on: {task.instruction}"
    user = f"{ask}\n\n```{tag}\n{dedent(code).rstrip()}\n```"
    if task.action in ("explain", "ask") and answer_lang != "en":
        user += f"\n\n(Answer in {NAMES[answer_lang]}.)"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}], answer_lang


def fold_system(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """DeepSeek LLM chat was trained without a system role: put it in the first user turn."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if system and rest and rest[0]["role"] == "user":
        rest[0]["content"] = f"{system}\n\n{rest[0]['content']}"
    elif system:
        rest.insert(0, {"role": "user", "content": system})
    return rest


def _plain(fmt: str, messages: list[dict[str, str]]) -> tuple[str, list[str]]:
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    user = "\n\n".join(m["content"] for m in messages if m["role"] == "user")
    if fmt == "chatml":
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return text + "<|im_start|>assistant\n", ["<|im_end|>"]
    if fmt == "deepseek":
        (first,) = fold_system(messages)[:1]
        return f"User: {first['content']}\n\nAssistant:", ["\nUser:", "<｜end▁of▁sentence｜>"]
    head = "### Question" if fmt == "question" else "### Instruction"
    return f"{system}\n\n{head}:\n{user}\n\n### Response:\n", list(SECTION_STOPS)


def render(
    messages: list[dict[str, str]],
    fmt: str,
    render_chat: Callable[[list[dict[str, str]]], str | None],
    server_chat: bool = False,
) -> Prompt:
    """The prompt text for `fmt`; "auto" uses the chat template, folding the system turn into
    the user turn when the template rejects or drops it, and falls back to a plain format.

    `server_chat`: the engine's server renders the chat template (`/v1/chat/completions`), so
    "auto" sends the messages; a local rendering, when the engine has one (a tokenizer), only
    tells whether the template opens `<think>` in the prompt."""
    note = None
    if fmt not in FORMATS:
        note = f"unknown promptFormat {fmt!r}; using {FALLBACK_FORMAT!r}"
        fmt = FALLBACK_FORMAT
    if fmt == "auto":
        system = next((m["content"] for m in messages if m["role"] == "system"), "")
        rendered, how, failure = None, "template", ""
        try:
            rendered = render_chat(messages)
        except Exception as exc:  # noqa: BLE001 - templates raise on a role they don't support
            # Gemma's "System role not supported" and the like: fold the system turn in.
            log.debug("the chat template rejected the system turn (%s); folding it in", exc)
            rendered = ""
        if rendered is not None and system and system not in rendered:
            folded = fold_system(messages)
            try:
                rendered = render_chat(folded)
            except Exception as exc:  # noqa: BLE001 - a template we cannot use at all
                failure = f"{type(exc).__name__}: {exc}"
                log.debug("the chat template failed also without a system turn: %s", failure)
                rendered = None
            how, messages = "template (system folded into user)", folded
        if rendered:
            starts_thinking = rendered.rstrip().endswith("<think>")
            stop = [t for t in END_OF_TURN if t in rendered]
            if server_chat:  # the server ends the turn itself; its end marker never shows
                return Prompt(rendered, f"server {how}", messages,
                              starts_thinking=starts_thinking, send_messages=True)  # fmt: skip
            return Prompt(rendered, how, messages, stop=stop, starts_thinking=starts_thinking)
        if server_chat and not failure:
            text = "\n\n".join(m["content"] for m in messages)  # for token counts only
            return Prompt(text, "server template", messages, starts_thinking=None,
                          send_messages=True)  # fmt: skip
        if failure:
            note = (
                f"the model's chat template failed ({failure}); using the plain "
                f"{FALLBACK_FORMAT!r} prompt format (set tandem.promptFormat to choose another)"
            )
        else:
            note = (
                f"the model has no chat template; using the plain {FALLBACK_FORMAT!r} prompt "
                "format (set tandem.promptFormat to choose another)"
            )
        fmt = FALLBACK_FORMAT
    text, stop = _plain(fmt, messages)
    return Prompt(text, fmt, messages, stop=stop, note=note)


def build_prompt(
    task: ChatTask,
    code: str,
    fmt: str,
    render_chat: Callable[[list[dict[str, str]]], str | None],
    test_target: TestTarget | None = None,
    server_chat: bool = False,
) -> Prompt:
    messages, lang = build_messages(task, code, test_target)
    prompt = render(messages, fmt, render_chat, server_chat)
    prompt.answer_language = lang
    if prompt.send_messages:  # no prefill through a chat endpoint: the model opens its fence
        return prompt
    if task.action in ("refactor", "docs", "tests") and not prompt.starts_thinking:
        prompt.prefill = f"```{fence_tag(task.language_id)}\n"
        prompt.text += prompt.prefill
        prompt.stop = [*prompt.stop, "\n```"]
    return prompt
