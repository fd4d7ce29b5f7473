"""`make run`: start `tandem lsp`, drive it through a real LSP client, show what it does.

Opens a sample file, asks for inline completions at a few cursor positions (the second one a
"next keystroke" that reuses the KV prefix), prints each suggestion with its latency and
speculative stats from the `tandem/status` notification, then explains how to connect an editor.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from lsp_server.protocol import STATUS_NOTIFICATION

SAMPLE = '''import os


def read_lines(path):
    """Return the lines of a text file, without newlines."""
    with open(path) as f:
        return [line.rstrip("\\n") for line in f]


def count_words(text):
    """Count the words in a string."""
    return len(text.split())


def file_size(path):
    """Return the size of a file in bytes."""
    return os.path.
'''

CURSORS = [
    ("end of `return os.path.`", 17, len("    return os.path.")),
    ("next keystroke: `return os.path.g`", 17, len("    return os.path.g")),
    ("new line in count_words", 12, 4),
]


def _bar(title: str) -> None:
    print(f"\n\033[1m{title}\033[0m", flush=True)


async def run(args: argparse.Namespace) -> int:
    client = LanguageClient("tandem-demo", "0.1")
    statuses: list[dict] = []
    messages: list[str] = []

    @client.feature(STATUS_NOTIFICATION)
    def on_status(params) -> None:
        statuses.append(params if isinstance(params, dict) else _as_dict(params))

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def on_message(params: types.ShowMessageParams) -> None:
        messages.append(params.message)
        print(f"  [server] {params.message}", flush=True)

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def on_log(params: types.LogMessageParams) -> None:
        pass  # shown on stderr by the server already

    options: dict = {}
    if args.model:
        options["model"] = args.model
    if args.draft_model:
        options["draftModel"] = args.draft_model
    _bar("Starting `tandem lsp` (stdio) and initializing…")
    await client.start_io(sys.executable, "-m", "lsp_server", "lsp", "--log-level", "WARNING")
    caps = types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            inline_completion=types.InlineCompletionClientCapabilities()
        ),
        general=types.GeneralClientCapabilities(position_encodings=["utf-16"]),
    )
    result = await client.initialize_async(
        types.InitializeParams(capabilities=caps, initialization_options=options)
    )
    client.initialized(types.InitializedParams())
    provider = result.capabilities.inline_completion_provider
    print(f"  server: {result.server_info.name} {result.server_info.version}; "
          f"inlineCompletionProvider={bool(provider)}; "
          f"positionEncoding={result.capabilities.position_encoding}")  # fmt: skip

    uri = "file:///tmp/tandem-demo/sample.py"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=SAMPLE
            )
        )
    )
    print("  opened sample.py:\n")
    for i, line in enumerate(SAMPLE.splitlines()):
        print(f"  {i:3} | {line}")

    version = 1
    for label, line, char in CURSORS:
        if "keystroke" in label:  # type one character, like a user would
            version += 1
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[
                        types.TextDocumentContentChangePartial(
                            range=types.Range(
                                types.Position(line, char - 1), types.Position(line, char - 1)
                            ),
                            text="g",
                        )
                    ],
                )
            )
        _bar(f"Inline completion at {line}:{char} ({label})")
        before = len(statuses)
        t0 = time.perf_counter()
        res = await client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=line, character=char),
                context=types.InlineCompletionContext(
                    trigger_kind=types.InlineCompletionTriggerKind.Invoked
                ),
            )
        )
        wall = (time.perf_counter() - t0) * 1000
        items = res.items if isinstance(res, types.InlineCompletionList) else (res or [])
        text = items[0].insert_text if items else ""
        text = text if isinstance(text, str) else text.value
        print(f"  suggestion: {text!r}" if text else "  (no suggestion)")
        await asyncio.sleep(0.05)
        req = next(
            (s.get("request") for s in reversed(statuses[before:]) if s.get("request")), None
        )
        print(f"  round trip {wall:.0f} ms", end="")
        if req:
            st = req.get("stats") or {}
            print(f"; server latency {req['latencyMs']:.0f} ms; typeahead={req['cached']}")
            if st:
                print(
                    f"  engine={st.get('engine')} strategy={st.get('strategy')} "
                    f"ttft={st.get('ttft_ms')} ms tokens={st.get('generated_tokens')} "
                    f"tok/s={st.get('tokens_per_second')} drafted={st.get('drafted_tokens')} "
                    f"accepted={st.get('accepted_tokens')} "
                    f"acceptance={st.get('acceptance_rate'):.0%} "
                    f"prefix reused={st.get('prefix_tokens_reused')}/{st.get('prompt_tokens')} tokens"
                )
        else:
            print()

    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    _bar("Connect an editor")
    print(
        "  VS Code:   editors/vscode (build the .vsix, set tandem.serverPath)\n"
        "  Neovim:    require('tandem').setup{ cmd = { 'tandem', 'lsp' } }  (editors/neovim)\n"
        "  JetBrains: LSP4IJ custom server, command `tandem lsp` (editors/jetbrains)\n"
        "  Any LSP client: run `tandem lsp` (stdio) or `tandem lsp --tcp 127.0.0.1:2087`,\n"
        '  with initializationOptions {"model": "/path/to/Qwen2.5-Coder-1.5B", '
        '"draftModel": "/path/to/Qwen2.5-Coder-0.5B"}.\n'
        "  See README.md for details."
    )
    return 0


def _as_dict(obj) -> dict:
    if isinstance(obj, dict):
        return obj
    if hasattr(obj, "_asdict"):
        return {k: _as_dict(v) for k, v in obj._asdict().items()}
    return obj


def main(args: argparse.Namespace) -> int:
    return asyncio.run(run(args))
