"""`tandem bench codechat`: the four CodeChat actions over real stdlib functions, IFEval style.

Every answer goes through the same checks the editor path uses; the report counts per action
how many were applied (all checks passed), how many rejected and why, and which verifiable
instructions held. `--scripted` swaps the model for a stand-in that answers known-good code for
half the functions and known-bad code for the rest, to prove both paths. `--set small20` runs
20 small functions written for it (`bench/codechat_functions.py`), and explain answers are also
scored on topic (naming the function or its subject, in prose) and non-repeating (the run was
not stopped for degenerate repetition). `--model FILE.gguf` runs a GGUF on llama.cpp.

    main(argv, make_engine) -> int      # make_engine(settings: Settings) -> Engine
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import json
import re
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable

from bench.codechat_functions import SNIPPETS, on_topic
from codechat import ACTIONS as CODECHAT_ACTIONS
from codechat import ChatTask, run_task
from codechat.language import detect_language
from inference.base import Engine, GenerationRequest
from lsp_server.settings import Settings
from testing.scripted import ScriptedEngine
from textkit.repetition import find_loop

#: Small, self-contained stdlib functions, by dotted name.
FUNCTIONS = [
    "textwrap.indent",
    "shlex.quote",
    "urllib.parse.quote_plus",
    "colorsys.rgb_to_hsv",
    "calendar.isleap",
    "string.capwords",
    "html.escape",
    "glob.has_magic",
    "statistics.median",
    "fnmatch.filter",
]
_SMALL = {f"small20.{x.name}": x for x in SNIPPETS}
SETS = {"stdlib": FUNCTIONS, "small20": list(_SMALL)}

#: Every action but "ask", which needs a question per snippet.
ACTIONS = tuple(a for a in CODECHAT_ACTIONS if a != "ask")


def load_function(dotted: str) -> tuple[str, str]:
    """(module file name stem, dedented source) of a stdlib function, or of a `small20` one."""
    snippet = _SMALL.get(dotted)
    if snippet is not None:
        return snippet.name, snippet.source
    module, _, name = dotted.rpartition(".")
    fn = getattr(importlib.import_module(module), name)
    return name, textwrap.dedent(inspect.getsource(fn))


def _scripted_answer(request: GenerationRequest) -> str:
    """Known-good answers for even-indexed FUNCTIONS, known-bad ones for the others."""
    prompt = request.prompt or ""
    m = re.search(r"```python\n(.*?)\n```", prompt, re.S)
    code = m.group(1) + "\n" if m else ""
    name = re.search(r"def (\w+)", code)
    fname = name.group(1) if name else "f"
    good = fname in {f.rsplit(".", 1)[1] for f in FUNCTIONS[::2]}
    if "Write unit tests" in prompt:
        imp = f"from {fname} import {fname}\n\n\n" if good else ""
        return f"```python\n{imp}def test_{fname}_exists():\n    assert callable({fname})\n```"
    if "documentation of the code" in prompt:
        lines = code.split("\n")
        head = next(i for i, ln in enumerate(lines) if ln.rstrip().endswith(":"))
        doc = ["    # documented by the scripted stand-in"]
        doc += [] if good else ["    _changed = True"]  # bad: code changed in a docs edit
        return "```python\n" + "\n".join(lines[: head + 1] + doc + lines[head + 1 :]) + "```"
    if "Refactor the code" in prompt:
        if good:
            return f"```python\n{code.rstrip()}\n    # reviewed by the scripted stand-in\n```"
        # bad: the public name is dropped
        return "```python\n" + code.replace(f"def {fname}(", f"def {fname}_renamed(", 1) + "```"
    return f"`{fname}` is explained here." if good else ""


def scripted_engine() -> ScriptedEngine:
    return ScriptedEngine(_scripted_answer)


def verifiable(action: str, name: str, outcome) -> dict[str, bool]:
    """IFEval-style checks on the answer itself (besides the apply checks)."""
    if action == "explain":
        md = outcome.markdown or ""
        snippet = _SMALL.get(f"small20.{name}")
        looped = outcome.reason == "repetition" or find_loop(md) is not None
        checks = {
            "non_empty": bool(md.strip()),
            "mentions_function": name in md,
            "answers_in_english": detect_language(md) == "en",
            "non_repeating": not looped,
        }
        if snippet is not None:
            topical = on_topic(snippet, md)
            checks["on_topic"] = topical
            checks["on_topic_and_non_repeating"] = topical and not looped
        return checks
    return {
        "has_code": outcome.reason not in ("no_code", "empty"),
        "passes_checks": outcome.ok,
    }


async def run_bench(
    engine: Engine, functions: list[str], settings: Settings, actions: tuple[str, ...] = ACTIONS
) -> dict:
    report: dict[str, dict] = {}
    for action in actions:
        applied, rejected, passed = 0, Counter(), Counter()
        examples: list[dict] = []
        answers: list[dict] = []
        t0 = time.perf_counter()
        for dotted in functions:
            name, src = load_function(dotted)
            task = ChatTask(action, f"/bench/{name}.py", "python", src, 0, len(src))  # type: ignore[arg-type]
            out = await run_task(
                engine,
                task,
                prompt_format=settings.prompt_format,
                max_tokens=settings.chat_max_tokens,
                temperature=settings.temperature,
                read_file=lambda _p: None,
            )
            if out.ok:
                applied += 1
            else:
                rejected[out.reason] += 1
                if len(examples) < 3:
                    examples.append(
                        {"function": dotted, "reason": out.reason, "message": out.message}
                    )
            print(f"{action} {dotted}: {out.reason or 'ok'}", file=sys.stderr, flush=True)
            answers.append(
                {"function": dotted, "ok": out.ok, "reason": out.reason,
                 "answer": out.markdown or out.answer, "message": out.message,
                 "generated_tokens": (out.stats or {}).get("generated_tokens"),
                 "finish_reason": (out.stats or {}).get("finish_reason")}
            )  # fmt: skip
            for check, ok in verifiable(action, name, out).items():
                passed[check] += int(ok)
        report[action] = {
            "runs": len(functions),
            "applied": applied,
            "rejected": sum(rejected.values()),
            "rejected_by_reason": dict(rejected),
            "rejection_examples": examples,
            "passed_checks": dict(passed),
            "seconds": round(time.perf_counter() - t0, 2),
            "answers": answers,
        }
    return report


def main(
    argv: list[str] | None = None, make_engine: Callable[[Settings], Engine] | None = None
) -> int:
    p = argparse.ArgumentParser(prog="tandem bench codechat", description=__doc__.split("\n")[0])
    p.add_argument("--scripted", action="store_true", help="stand-in model with known answers")
    p.add_argument(
        "--model",
        help="model: a .gguf file (llama.cpp) or a Hugging Face folder (default: the settings' "
        "default model)",
    )
    p.add_argument(
        "--set", choices=sorted(SETS), default="stdlib",
        help="functions: 10 stdlib ones, or 20 small ones written for the bench "
        "(explain answers then also scored on topic and non-repeating)",
    )  # fmt: skip
    p.add_argument("--prompt-format", default="auto")
    p.add_argument("--max-tokens", type=int, default=256)
    p.add_argument("--functions", type=int, default=None, help="how many to use (default all)")
    p.add_argument(
        "--actions", default=",".join(ACTIONS),
        help=f"comma-separated subset of {','.join(ACTIONS)} (default: all)",
    )  # fmt: skip
    p.add_argument("--threads", type=int, default=0, help="CPU threads for a GGUF (0: all)")
    p.add_argument("--out", help="also write the JSON report here")
    args = p.parse_args(argv)
    actions = tuple(a.strip() for a in args.actions.split(",") if a.strip())
    if unknown := [a for a in actions if a not in ACTIONS]:
        p.error(f"unknown action(s) {', '.join(unknown)}; choose from {', '.join(ACTIONS)}")
    settings = Settings(
        model=args.model, prompt_format=args.prompt_format, chat_max_tokens=args.max_tokens,
        threads=args.threads,
    )  # fmt: skip
    if args.scripted:
        engine: Engine = scripted_engine()
    else:
        if make_engine is None:
            from lsp_server.engine_manager import build_engine

            def make_engine(s: Settings) -> Engine:
                return build_engine(s)[0]

        engine = make_engine(settings)

    async def go() -> dict:
        try:
            return await run_bench(engine, SETS[args.set][: args.functions], settings, actions)
        finally:
            await engine.close()

    report = {
        "engine": engine.info.name,
        "model": engine.info.model,
        "scripted": args.scripted,
        "set": args.set,
        "prompt_format": args.prompt_format,
        "max_tokens": args.max_tokens,
        "threads": args.threads,
        "actions": asyncio.run(go()),
    }
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
