"""Run one CodeChat task against an engine: prompt → stream → clean → extract → check → edits.

Nothing here applies anything: the outcome lists file changes that already passed the checks,
and the caller (LSP glue, benchmark) decides how to apply them.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from codechat.checks import check_edit
from codechat.diff import Change, fit_code, minimal_changes
from codechat.extract import extract_code
from codechat.prompts import FALLBACK_FORMAT, Prompt, build_prompt
from codechat.tasks import ACTION_SPECS, EDIT_ACTIONS, ChatTask, line_span
from codechat.testfiles import (
    OutsideWorkspace,
    TestTarget,
    contained_path,
    join_tests,
    rust_tests_module,
    test_target,
)
from codechat.thinking import ThinkFilter, strip_think
from inference.base import (
    Engine,
    EngineError,
    GenerationCancelled,
    GenerationRequest,
    GenerationStats,
)
from textkit.repetition import Loop, find_loop

log = logging.getLogger(__name__)


def _noun(action: str) -> str:
    return ACTION_SPECS[action].noun  # type: ignore[index]


@dataclass
class FileChange:
    """Checked edits to one file. `changes` are offsets into `old_text` ("" when created)."""

    path: str
    create: bool
    old_text: str
    new_text: str
    changes: list[Change]


@dataclass
class ChatOutcome:
    ok: bool
    message: str
    #: "rejected" (a check failed), "no_code", "no_change", "empty", "cancelled",
    #: "engine_error", "too_large", "bad_request", "outside_workspace", "repetition" (the model
    #: looped and was stopped; `markdown` holds the answer up to the loop); "" when ok.
    reason: str = ""
    markdown: str | None = None
    files: list[FileChange] = field(default_factory=list)
    answer: str = ""
    checks_passed: list[str] = field(default_factory=list)
    stats: dict | None = None
    prompt_format: str = ""
    #: The engine's stats object behind `stats`: some engines fill numbers in after the text
    #: (speculative counts from vLLM; see `GenerationStats.on_settled`).
    generation_stats: GenerationStats | None = None


OnText = Callable[[str, str], None]


async def run_task(
    engine: Engine,
    task: ChatTask,
    *,
    prompt_format: str = "auto",
    max_tokens: int = 768,
    temperature: float = 0.0,
    on_text: OnText | None = None,
    read_file: Callable[[str], str | None] | None = None,
) -> ChatOutcome:
    """Run `task`; `on_text(delta, visible_so_far)` sees the streamed, think-free answer.

    Cancelling the awaiting asyncio task cancels the generation (and re-raises).
    """
    if task.action == "ask" and not task.instruction.strip():
        return ChatOutcome(False, "ask needs an instruction (the question)", "bad_request")
    start, end = task.start, task.end
    if task.action in ("refactor", "docs"):
        start, end = line_span(task.text, start, end)
    code = task.text[start:end]
    if not code.strip():
        return ChatOutcome(False, "the selection is empty", "bad_request")
    target = None
    if task.action == "tests":
        target = test_target(task.path, task.language_id, task.text)
        if not target.same_file:
            try:  # before any generation or read: a path outside the workspace is refused
                target.path = contained_path(
                    target.path, task.roots or (os.path.dirname(task.path),)
                )
            except OutsideWorkspace as exc:
                return ChatOutcome(
                    False, f"the test file cannot go there: {exc}", "outside_workspace"
                )
    prompt = build_prompt(
        task, code, prompt_format, engine.render_chat, target, engine.info.chat_endpoint
    )
    if prompt.note:
        log.info("codechat: %s", prompt.note)

    budget = engine.info.max_context_tokens - engine.count_tokens(prompt.text)
    if budget < 16:
        return ChatOutcome(
            False,
            "the selection is too large for the model's context; select less code",
            "too_large",
            prompt_format=prompt.format,
        )
    edit = task.action in EDIT_ACTIONS
    request = GenerationRequest(
        prompt=None if prompt.send_messages else prompt.text,
        messages=prompt.messages if prompt.send_messages else None,
        kind="edit" if edit else "chat",
        max_tokens=min(max_tokens, budget),
        temperature=temperature,
        stop=prompt.stop,
        lookup_text=code if edit else "",
        # keyed like completions: re-running the same action on the same file replaces the
        # older run, and the engine keeps its KV cache apart from the document's completions
        cache_key=f"codechat:{task.action}:{task.path}",
    )
    raw, live = await _generate(engine, request, prompt, on_text, allowed=code)
    if _no_server_template(raw, prompt):
        # a base model behind the server (vLLM refuses chat without a template): the plain
        # format through the completions endpoint, as for a local model without a template
        log.info("codechat: the server has no chat template; using %r", FALLBACK_FORMAT)
        prompt = build_prompt(task, code, FALLBACK_FORMAT, engine.render_chat, target)
        prompt.note = "the server has no chat template for this model"
        request.prompt, request.messages, request.stop = prompt.text, None, prompt.stop
        raw, live = await _generate(engine, request, prompt, on_text, allowed=code)
    stats = live.to_dict() if live is not None else None
    if isinstance(raw, ChatOutcome):
        raw.prompt_format = prompt.format
        raw.stats, raw.generation_stats = stats, live
        return raw
    # A model that opens its own fence despite the prefilled one: keep only its fence.
    prefill = "" if raw.lstrip().startswith(("```", "~~~")) else prompt.prefill
    answer = strip_think(prefill + raw, prompt.starts_thinking)
    out = _finish(task, prompt, answer, code, start, end, target, read_file)
    out.answer, out.stats, out.prompt_format = answer, stats, prompt.format
    out.generation_stats = live
    return out


async def _generate(
    engine: Engine,
    request: GenerationRequest,
    prompt: Prompt,
    on_text: OnText | None,
    allowed: str = "",
) -> tuple[str | ChatOutcome, GenerationStats | None]:
    """The raw answer, or the outcome that ends the run early (error, cancel, a loop).

    The visible answer is watched for degenerate repetition (`textkit.repetition`): once it
    ends in the same sentence or lines repeated, the generation is cancelled (a base model
    would otherwise loop until `max_tokens`) and the run reports the loop, never "ready".
    Repetition already in the selection (`allowed`) is not a loop.
    """
    try:
        gen = engine.start(request)
    except EngineError as exc:
        return ChatOutcome(False, f"the engine failed: {exc}", "engine_error"), None
    chunks: list[str] = []
    visible: list[str] = []
    think = ThinkFilter(prompt.starts_thinking)
    loop: Loop | None = None

    def show(shown: str) -> None:
        if shown:
            visible.append(shown)
            if on_text is not None:
                on_text(shown, "".join(visible))

    try:
        async for delta in gen:
            if loop is not None:
                continue  # cancelled: drain what the engine still hands over
            chunks.append(delta)
            if think.unknown and gen.reasoning_apart:
                show(think.settle(False))  # the server keeps reasoning out of the text
            # the raw text: a model that loops while its text is held (reasoning, or not
            # known yet) is stopped as well
            loop = find_loop("".join(chunks), allowed)
            if loop is not None:
                gen.cancel()
                continue
            show(think.feed(delta))
    except asyncio.CancelledError:
        gen.cancel()
        raise
    except GenerationCancelled:
        if loop is None:
            return ChatOutcome(False, "cancelled; nothing was changed", "cancelled"), None
    except EngineError as exc:
        return ChatOutcome(False, f"the engine failed: {exc}", "engine_error"), None
    if loop is None:
        show(think.flush())  # text held back while it was not known to be answer
    else:
        raw = "".join(chunks)[: loop.keep_until]
        # what came before the loop, when it is known not to be reasoning
        head = "" if think.unknown else strip_think(raw, prompt.starts_thinking)
        return _looped(request, head, loop), gen.stats
    return "".join(chunks), gen.stats


def _no_server_template(raw: str | ChatOutcome, prompt: Prompt) -> bool:
    """The chat endpoint refused the messages because the model has no chat template."""
    return (
        prompt.send_messages
        and isinstance(raw, ChatOutcome)
        and raw.reason == "engine_error"
        and "chat template" in raw.message.lower()
    )


def _looped(request: GenerationRequest, head: str, loop: Loop) -> ChatOutcome:
    """The model repeated itself: stopped, nothing applied; the text before the loop is kept
    for the user to read (it is often a fair start)."""
    head = head.strip()
    unit = " ".join(loop.unit.split())
    quoted = unit if len(unit) <= 60 else unit[:57] + "..."
    what = "nothing was changed" if request.kind == "edit" else "the answer is cut there"
    return ChatOutcome(
        False,
        f'the model repeated itself ({loop.copies}x "{quoted}") and was stopped; {what}. '
        "A small or base model does this: configure an instruction-tuned model for CodeChat",
        "repetition",
        markdown=(head or None) if request.kind != "edit" else None,
        answer=head,
    )


def _finish(
    task: ChatTask,
    prompt: Prompt,
    answer: str,
    code: str,
    start: int,
    end: int,
    target: TestTarget | None,
    read_file: Callable[[str], str | None] | None,
) -> ChatOutcome:
    if task.action in ("explain", "ask"):
        text = answer.strip()
        if not text:
            return ChatOutcome(False, f"the model returned an empty {_noun(task.action)}", "empty")
        return ChatOutcome(True, f"{_noun(task.action)} ready", markdown=text)

    new_code = extract_code(answer, task.language_id)
    if new_code is None:
        return ChatOutcome(False, "the answer contains no code; nothing was changed", "no_code")

    if task.action in ("refactor", "docs"):
        new_span = fit_code(new_code, code)
        if new_span == code:
            return ChatOutcome(False, "the model proposed no changes", "no_change")
        new_text = task.text[:start] + new_span + task.text[end:]
        check = check_edit(task.action, task.language_id, task.text, new_text)
        if not check.ok:
            return _rejected(task.action, check.reason, check.passed)
        fc = FileChange(
            task.path, False, task.text, new_text, minimal_changes(task.text, start, end, new_span)
        )
        return _accepted(task.action, [fc], check.passed)

    # tests
    assert target is not None  # run_task computed it for "tests"
    if target.same_file:
        old = task.text
        new_text = join_tests(old, rust_tests_module(old, new_code))
        create = False
    else:
        existing = read_file(target.path) if read_file is not None else None
        old = existing or ""
        create = existing is None
        new_text = join_tests(old, new_code)
    check = check_edit("tests", task.language_id, old, new_text, target.module)
    if not check.ok:
        return _rejected("tests", check.reason, check.passed)
    changes = [Change(0, 0, new_text)] if create else minimal_changes(old, 0, len(old), new_text)
    return _accepted(
        "tests", [FileChange(target.path, create, old, new_text, changes)], check.passed
    )


def _rejected(action: str, reason: str, passed: list[str]) -> ChatOutcome:
    return ChatOutcome(
        False,
        f"the {_noun(action)} was not applied: {reason}. Nothing was changed.",
        "rejected",
        checks_passed=passed,
    )


def _accepted(action: str, files: list[FileChange], passed: list[str]) -> ChatOutcome:
    n = sum(len(f.changes) for f in files)
    where = ", ".join(("new file " if f.create else "") + f.path.rsplit("/", 1)[-1] for f in files)
    return ChatOutcome(
        True,
        f"{_noun(action)}: {n} change{'s' if n != 1 else ''} to {where} "
        f"(checks passed: {', '.join(passed)})",
        files=files,
        checks_passed=passed,
    )
