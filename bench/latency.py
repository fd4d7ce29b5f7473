"""`tandem bench latency`: what a user feels between a keystroke and a suggestion.

Three measurements, each side by side in one run:

* **KV prefix reuse**, in the engine: time to first token for a ~1.5k-token FIM prompt, cold (a
  fresh cache) vs the next keystroke (the same document with one more character typed, so only
  the new tokens are prefilled).
* **Typing storm**, through the real `tandem lsp` over stdio: 30 keystrokes 40 ms apart, each a
  didChange plus an inlineCompletion request, the previous request cancelled with
  $/cancelRequest as VS Code does. How many generations ran to completion, how many were
  cancelled, and the time from the last keystroke to its suggestion.
* **Server overhead** on a 10k-line document: client round trip minus the engine's own time
  (debounce off for this one: it measures the server's work, not its deliberate wait).
* **Completion with a CodeChat answer in flight**, in the engine: a FIM completion's latency
  idle and while a long chat generation streams, paired trial by trial; the ratio shows whether
  completions wait behind CodeChat (the priority gate of inference/scheduling.py).
* **Typing storm under load**: the storm again while a CPU hog (one spinning process per core,
  started by the benchmark, bounded in time, stopped after) keeps every core busy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import inspect
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from completion import CompletionContext, prepare
from completion.templates import choose_mode
from inference.base import Engine, GenerationRequest
from lsp_server.protocol import STATUS_NOTIFICATION

#: The file typed into: real code, with a cursor mid-file so prefix and suffix both matter.
SOURCE_MODULE = "textwrap"
CURSOR_MARKER = "            # If the last chunk on this line is all whitespace, drop it."
STORM_TEXT = "if self.drop_whitespace and cur_line and cur_line[-1].strip() == '':"


def _source(module: str) -> str:
    return inspect.getsource(importlib.import_module(module))


def _median(xs: list[float]) -> float:
    return round(statistics.median(xs), 2) if xs else 0.0


# --- 1. KV prefix reuse --------------------------------------------------------------------


async def ttft_prefix_reuse(engine: Engine, trials: int, log: Callable[[str], None]) -> dict:
    text = _source(SOURCE_MODULE)
    at = text.index(CURSOR_MARKER)
    template = choose_mode(engine.info.special_tokens).template

    def request(offset: int, key: str) -> GenerationRequest:
        line = text.count("\n", 0, offset)
        col = offset - (text.rfind("\n", 0, offset) + 1)
        doc = text[:offset] + text[at:]  # the user typed text[at:offset] so far
        ctx = CompletionContext("file:///bench/textwrap.py", "python", doc, line, col, [])
        plan = prepare(ctx, template, engine.count_tokens, 1536, 16)
        return GenerationRequest(
            prompt=plan.prompt, stop=plan.stop, max_tokens=8, kind="fim", cache_key=key,
            strategy="plain",
        )  # fmt: skip

    async def run(req: GenerationRequest) -> dict:
        gen = engine.start(req)
        await gen.text()
        return gen.stats.to_dict()

    await run(request(at, "warm-up"))
    cold, warm, reused, prompt_tokens = [], [], [], []
    for i in range(trials):
        key = f"doc-{i}"
        c = await run(request(at + i, key))  # a fresh key: nothing cached
        w = await run(request(at + i + 1, key))  # the next keystroke on the same document
        cold.append(c["ttft_ms"])
        warm.append(w["ttft_ms"])
        reused.append(w["prefix_tokens_reused"])
        prompt_tokens.append(w["prompt_tokens"])
    out = {
        "prompt_tokens": int(statistics.median(prompt_tokens)),
        "cold_ttft_ms": _median(cold),
        "next_keystroke_ttft_ms": _median(warm),
        "ratio": round(statistics.median(warm) / statistics.median(cold), 3),
        "prefix_tokens_reused": int(statistics.median(reused)),
        "trials": trials,
    }
    log(f"bench latency: ttft cold {out['cold_ttft_ms']} ms, next keystroke "
        f"{out['next_keystroke_ttft_ms']} ms ({out['ratio']}x), {out['prefix_tokens_reused']}/"
        f"{out['prompt_tokens']} prompt tokens reused")  # fmt: skip
    return out


# --- 2 + 3. Through the real server --------------------------------------------------------


class _Session:
    """A pygls client driving `tandem lsp` over stdio, recording `tandem/status`."""

    def __init__(self) -> None:
        self.client = LanguageClient("tandem-bench", "0.1")
        self.statuses: list[dict] = []
        self.ids = itertools.count(10_000)

        @self.client.feature(STATUS_NOTIFICATION)
        def on_status(params) -> None:
            self.statuses.append(_as_dict(params))

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def on_log(params) -> None:
            pass

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def on_show(params) -> None:
            pass

    async def start(self, options: dict) -> None:
        await self.client.start_io(
            sys.executable, "-m", "lsp_server", "lsp", "--log-level", "WARNING"
        )
        caps = types.ClientCapabilities(
            text_document=types.TextDocumentClientCapabilities(
                inline_completion=types.InlineCompletionClientCapabilities()
            ),
            general=types.GeneralClientCapabilities(position_encodings=["utf-16"]),
        )
        await self.client.initialize_async(
            types.InitializeParams(capabilities=caps, initialization_options=options)
        )
        self.client.initialized(types.InitializedParams())

    def open(self, uri: str, text: str) -> None:
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
            )
        )

    def insert(self, uri: str, version: int, line: int, col: int, text: str) -> None:
        pos = types.Position(line, col)
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                [types.TextDocumentContentChangePartial(range=types.Range(pos, pos), text=text)],
            )
        )

    def request(self, uri: str, line: int, col: int) -> tuple[int, asyncio.Future]:
        msg_id = next(self.ids)
        params = types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line, col),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic
            ),
        )
        fut = self.client.protocol.send_request(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id=msg_id
        )
        return msg_id, asyncio.wrap_future(fut)

    def cancel(self, msg_id: int) -> None:
        self.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))

    def requests_done(self) -> list[dict]:
        return [_as_dict(s["request"]) for s in self.statuses if s.get("request")]

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


async def typing_storm(
    options: dict, keystrokes: int, gap_ms: float, log, during=contextlib.nullcontext
) -> dict:
    """`during()`: a context manager entered for the keystrokes only (after the model loaded)."""
    text = _source(SOURCE_MODULE)
    at = text.index(CURSOR_MARKER)
    line = text.count("\n", 0, at)
    col = len(CURSOR_MARKER) - len(CURSOR_MARKER.lstrip())
    typed = (STORM_TEXT * 2)[:keystrokes]
    uri = "file:///bench/storm.py"
    s = _Session()
    await s.start(options)
    try:
        s.open(uri, text[:at] + " " * col + "\n" + text[at:])  # a fresh, indented line
        warm_id, warm = s.request(uri, line, col)  # load the model before the clock starts
        await warm
        s.statuses.clear()
        futures: list[asyncio.Future] = []
        previous: int | None = None
        t_last = 0.0
        with during():
            for i, ch in enumerate(typed):
                s.insert(uri, i + 2, line, col + i, ch)
                if previous is not None:
                    s.cancel(previous)  # the editor drops the outdated request
                t_last = time.perf_counter()
                previous, fut = s.request(uri, line, col + i + 1)
                futures.append(fut)
                if i < len(typed) - 1:
                    await asyncio.sleep(gap_ms / 1000)
            results = await asyncio.gather(*futures, return_exceptions=True)
        t_done = time.perf_counter()
        await asyncio.sleep(0.2)  # the last status notification
        done = s.requests_done()
    finally:
        await s.stop()
    generated = [d for d in done if not d.get("cached") and d.get("stats")]
    completed = [
        d for d in generated if _as_dict(d["stats"]).get("finish_reason") in ("stop", "length")
    ]
    answered = sum(1 for r in results if r is not None and not isinstance(r, BaseException))
    last = results[-1]
    out = {
        "keystrokes": len(typed),
        "gap_ms": gap_ms,
        "generations_completed": len(completed),
        "generations_cancelled_or_superseded": len(typed) - len(generated),
        "typeahead_answers": sum(1 for d in done if d.get("cached")),
        "requests_answered_with_a_suggestion": answered,
        "last_keystroke_to_suggestion_ms": round((t_done - t_last) * 1000, 1),
        "last_request_got_a_suggestion": last is not None and not isinstance(last, BaseException),
    }
    log(f"bench latency: storm {out['generations_completed']}/{len(typed)} generations "
        f"completed, last keystroke → suggestion {out['last_keystroke_to_suggestion_ms']} ms")  # fmt: skip
    return out


async def typing_latency(options: dict, keystrokes: int, pause_ms: float, log) -> dict:
    """A suggestion while typing, end to end through the LSP: each keystroke (didChange) asks
    for a suggestion and waits for it, then the user pauses `pause_ms` before the next one.
    Every request reuses the KV prefix of the one before (the same document, one more
    character). p50/p90 of keystroke -> suggestion, as the client sees it, debounce included
    (the server's defaults)."""
    text = _source(SOURCE_MODULE)
    at = text.index(CURSOR_MARKER)
    line = text.count("\n", 0, at)
    col = len(CURSOR_MARKER) - len(CURSOR_MARKER.lstrip())
    typed = (STORM_TEXT * 2)[:keystrokes]
    uri = "file:///bench/typing.py"
    s = _Session()
    await s.start(options)
    latencies: list[float] = []
    #: The latencies of the keystrokes the model answered (not typeahead: the user typed what
    #: the shown suggestion said, and the server kept showing the rest of it).
    generated_ms: list[float] = []
    suggested = 0
    try:
        s.open(uri, text[:at] + " " * col + "\n" + text[at:])
        _, warm = s.request(uri, line, col)  # load the model and prefill the document
        await warm
        for i, ch in enumerate(typed):
            s.insert(uri, i + 2, line, col + i, ch)
            seen = len(s.requests_done())
            t0 = time.perf_counter()
            _, fut = s.request(uri, line, col + i + 1)
            result = await fut
            latencies.append((time.perf_counter() - t0) * 1000)
            items = getattr(result, "items", result) or []
            suggested += any(getattr(it, "insert_text", None) for it in items)
            await asyncio.sleep(pause_ms / 1000)  # its status (cached or not) has arrived
            if any(not d.get("cached") for d in s.requests_done()[seen:]):
                generated_ms.append(latencies[-1])
        done = s.requests_done()
    finally:
        await s.stop()
    reused = [
        _as_dict(d["stats"]).get("prefix_tokens_reused", 0)
        for d in done
        if d.get("stats") and not d.get("cached")
    ]
    every = _percentiles(latencies)
    out = {
        "keystrokes": len(typed),
        "pause_ms": pause_ms,
        "p50_ms": every["p50_ms"],
        "p90_ms": every["p90_ms"],
        "max_ms": every["max_ms"],
        "with_a_suggestion": suggested,
        "typeahead_answers": sum(1 for d in done if d.get("cached")),
        "median_prefix_tokens_reused": int(statistics.median(reused)) if reused else 0,
        # the keystrokes the model answered (typeahead left out): what a suggestion costs
        "generated": _percentiles(generated_ms),
    }
    gen = out["generated"]
    log(f"bench latency: typing, keystroke → suggestion p50 {out['p50_ms']} ms, p90 "
        f"{out['p90_ms']} ms ({suggested}/{len(typed)} with a suggestion, "
        f"{out['typeahead_answers']} by typeahead); the model's answers alone "
        f"({gen['n']}): p50 {gen['p50_ms']} ms, p90 {gen['p90_ms']} ms")  # fmt: skip
    return out


def _percentiles(values: list[float]) -> dict:
    """n, p50, p90 and max of `values` in ms (None where there are none)."""
    if not values:
        return {"n": 0, "p50_ms": None, "p90_ms": None, "max_ms": None}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p90_ms": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 1),
        "max_ms": round(ordered[-1], 1),
    }


def _big_document(lines: int) -> str:
    mods = ["textwrap", "shlex", "json.decoder", "json.encoder", "fnmatch", "difflib", "heapq",
            "string", "base64", "calendar", "ipaddress", "statistics", "argparse"]  # fmt: skip
    body: list[str] = []
    for m in itertools.cycle(mods):
        body += _source(m).splitlines()
        if len(body) >= lines:
            return "\n".join(body[:lines]) + "\n"
    raise AssertionError("unreachable")


async def server_overhead(options: dict, lines: int, requests: int, log) -> dict:
    text = _big_document(lines)
    doc_lines = text.splitlines()
    uri = "file:///bench/big.py"
    s = _Session()
    await s.start(options)
    rows = []
    stages: list[dict] = []
    try:
        s.open(uri, text)
        # cursors at the end of non-empty lines spread over the file (distinct: no typeahead)
        step = len(doc_lines) // (requests + 1)
        cursors = [
            (i, len(doc_lines[i])) for i in range(step, len(doc_lines), step) if doc_lines[i]
        ][: requests + 1]
        _, warm = s.request(uri, *cursors[0])
        await warm
        # After its first request on a document the server counts all its lines' tokens once,
        # in the background (~0.2 s for these 10k lines): measure the steady state after it.
        await asyncio.sleep(1.0)
        for line, col in cursors[1:]:
            s.statuses.clear()
            t0 = time.perf_counter()
            _, fut = s.request(uri, line, col)
            await fut
            wall = (time.perf_counter() - t0) * 1000
            for _ in range(50):
                if s.requests_done():
                    break
                await asyncio.sleep(0.01)
            done = s.requests_done()
            if not done or not done[-1].get("stats"):
                continue
            st = _as_dict(done[-1]["stats"])
            rows.append((wall, done[-1]["latencyMs"], st["total_ms"]))
            stages.append(_as_dict(done[-1].get("timingsMs") or {}))
    finally:
        await s.stop()
    out = {
        "document_lines": lines,
        "document_bytes": len(text.encode()),
        "requests": len(rows),
        "round_trip_ms": _median([r[0] for r in rows]),
        # the server's own clock: from the request's frame arriving to its response handed
        # to pygls to write out
        "server_latency_ms": _median([r[1] for r in rows]),
        "engine_ms": _median([r[2] for r in rows]),
        # what the server adds to the engine's time (the "server overhead")
        "overhead_ms": _median([r[1] - r[2] for r in rows]),
        "overhead_share": round(statistics.median((r[1] - r[2]) / r[0] for r in rows), 3)
        if rows
        else None,
        # the same seen from this client: plus the pipes and this Python client's own JSON work
        "round_trip_overhead_ms": _median([r[0] - r[2] for r in rows]),
        "client_and_transport_ms": _median([r[0] - r[1] for r in rows]),
        # the server's own report per stage (p50): receive = JSON, params check, dispatch;
        # context = snapshot, positions, redaction; other = between the stages, the LSP items
        "stages_ms": {
            k: _median([st[k] for st in stages if k in st])
            for k in ("receive", "context", "prepare", "generate", "finalize", "other")
        },
    }
    log(f"bench latency: {lines}-line document: round trip {out['round_trip_ms']} ms, engine "
        f"{out['engine_ms']} ms, server overhead {out['overhead_ms']} ms (round trip overhead "
        f"{out['round_trip_overhead_ms']} ms)")  # fmt: skip
    return out


# --- 4. A completion while a CodeChat answer streams --------------------------------------


async def chat_in_flight(engine: Engine, trials: int, log: Callable[[str], None]) -> dict:
    """FIM latency idle vs with a long chat generation running, paired per trial."""
    text = _source(SOURCE_MODULE)
    at = text.index(CURSOR_MARKER)
    template = choose_mode(engine.info.special_tokens).template

    def fim(i: int) -> GenerationRequest:
        offset = at + i
        line = text.count("\n", 0, offset)
        col = offset - (text.rfind("\n", 0, offset) + 1)
        ctx = CompletionContext("file:///bench/chat.py", "python", text, line, col, [])
        plan = prepare(ctx, template, engine.count_tokens, 1536, 16)
        return GenerationRequest(
            prompt=plan.prompt, stop=[], max_tokens=16, kind="fim", strategy="plain",
            cache_key=None,
        )  # fmt: skip

    chat_prompt = (
        "### Instruction:\nExplain this code in detail.\n\n" + text[:4000] + "\n### Response:\n"
    )

    async def timed(req: GenerationRequest) -> float:
        t0 = time.perf_counter()
        gen = engine.start(req)
        await gen.text()
        return (time.perf_counter() - t0) * 1000

    await timed(fim(0))  # warm-up
    idle, busy, overlapped = [], [], 0
    for i in range(trials):
        idle.append(await timed(fim(i + 1)))
        chat = engine.start(
            GenerationRequest(
                prompt=chat_prompt,
                kind="chat",
                max_tokens=768,
                strategy="plain",
                cache_key=f"codechat:explain:bench-{i}",
            )  # fmt: skip
        )
        first = asyncio.Event()
        ended = asyncio.Event()

        async def drain(gen=chat, first=first, ended=ended) -> None:
            try:
                async for _ in gen:
                    first.set()
            except Exception:  # cancelled below
                pass
            finally:
                first.set()
                ended.set()

        drainer = asyncio.ensure_future(drain())
        await first.wait()  # the chat answer is streaming
        busy.append(await timed(fim(i + 1)))
        overlapped += not ended.is_set()
        chat.cancel()
        await drainer
    ratios = [b / a for a, b in zip(idle, busy, strict=True) if a > 0]
    out = {
        "idle_ms": _median(idle),
        "with_chat_ms": _median(busy),
        "ratio": round(statistics.median(ratios), 3) if ratios else None,
        "trials": trials,
        "chat_still_running_after_completion": overlapped,
    }
    log(f"bench latency: completion idle {out['idle_ms']} ms, with a chat answer streaming "
        f"{out['with_chat_ms']} ms ({out['ratio']}x)")  # fmt: skip
    return out


# --- 5. The typing storm with every core busy ----------------------------------------------

_HOG = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


class CpuHog:
    """One spinning process per core, each ending by itself after `seconds` at the latest."""

    def __init__(self, seconds: float, processes: int | None = None) -> None:
        self.seconds = seconds
        self.processes = processes or os.cpu_count() or 2
        self._procs: list[subprocess.Popen] = []

    def __enter__(self) -> CpuHog:
        code = _HOG.format(seconds=self.seconds)
        self._procs = [
            subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL)
            for _ in range(self.processes)
        ]
        return self

    def __exit__(self, *exc) -> None:
        for p in self._procs:
            p.terminate()
        for p in self._procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


async def typing_storm_under_load(
    options: dict, keystrokes: int, gap_ms: float, log, hog_seconds: float = 60.0
) -> dict:
    """The hog runs only while the keys are typed (the model is loaded before), and each of its
    processes ends by itself after `hog_seconds` even if this process dies."""
    hog = CpuHog(hog_seconds)
    out = await typing_storm(options, keystrokes, gap_ms, log, during=lambda: hog)
    out["cpu_hog_processes"] = hog.processes
    return out


def _as_dict(obj):
    if isinstance(obj, dict):
        return obj
    if hasattr(obj, "_asdict"):
        return {k: _as_dict(v) for k, v in obj._asdict().items()}
    if hasattr(obj, "__dict__"):
        return {k: _as_dict(v) for k, v in vars(obj).items()}
    return obj


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="tandem bench latency", description=__doc__.split("\n")[0])
    p.add_argument("--model", help="target model dir (default: the shipped demo model)")
    p.add_argument("--gguf", help="a GGUF file on the llama.cpp engine (the default model: "
                   "~/.cache/tandem/models/gemma-3-270m-q4_k_m.gguf)")  # fmt: skip
    p.add_argument("--threads", type=int, default=0, help="llama.cpp threads (0: all cores)")
    p.add_argument("--only", choices=["typing"], help="only the typing measurement")
    p.add_argument("--pause-ms", type=float, default=150.0,
                   help="typing: the pause after each suggestion before the next key")  # fmt: skip
    p.add_argument("--draft-model", help="draft model dir (default: the demo draft)")
    p.add_argument("--device", default="auto")
    p.add_argument("--trials", type=int, default=5, help="cold/next-keystroke pairs")
    p.add_argument("--keystrokes", type=int, default=30)
    p.add_argument("--gap-ms", type=float, default=40.0)
    p.add_argument("--lines", type=int, default=10_000, help="size of the big document")
    p.add_argument("--requests", type=int, default=24, help="requests on the big document")
    p.add_argument("--json", action="store_true", help="print only the JSON report on stdout")
    p.add_argument("--out", help="also write the JSON report here")
    a = p.parse_args(argv)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    from inference.defaults import demo_model
    from inference.local import LocalEngine

    model, draft = a.gguf or a.model, a.draft_model
    if model is None:
        d = demo_model()
        log(d.notice)
        model, draft = str(d.target), (str(d.draft) if d.draft else None)
    options = {"model": model, **({"draftModel": draft} if draft else {})}
    if a.threads:
        options["threads"] = a.threads

    def load() -> Engine:
        if str(model).endswith(".gguf"):
            from inference.llamacpp import LlamaCppEngine

            return LlamaCppEngine.load(model, draft, n_threads=a.threads or None)
        return LocalEngine.load(model, draft, device=a.device)

    async def go() -> dict:
        typing = await typing_latency(options, min(a.keystrokes, 20), a.pause_ms, log)
        if a.only == "typing":
            return {"typing": typing}
        engine = load()
        try:
            reuse = await ttft_prefix_reuse(engine, a.trials, log)
            in_flight = await chat_in_flight(engine, a.trials, log)
        finally:
            await engine.close()
        del engine  # free it before the server loads its own copy
        storm = await typing_storm(options, a.keystrokes, a.gap_ms, log)
        loaded = await typing_storm_under_load(options, a.keystrokes, a.gap_ms, log)
        overhead = await server_overhead({**options, "debounce": False}, a.lines, a.requests, log)
        return {
            "typing": typing,
            "ttft_prefix_reuse": reuse,
            "chat_in_flight": in_flight,
            "typing_storm": storm,
            "typing_storm_under_load": loaded,
            "server_overhead": overhead,
        }

    t0 = time.perf_counter()
    load_before = [round(x, 2) for x in os.getloadavg()]
    report = {
        "bench": "latency",
        "model": model,
        "draft": draft,
        "threads": a.threads or "all cores",
        **asyncio.run(go()),
        "load_average": {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(report, indent=None if a.json else 2))
    if a.out:
        with open(a.out, "w", encoding="utf-8") as f:
            f.write(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
