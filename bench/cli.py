"""`tandem bench {spec,latency,infill,codechat,engines}`: benchmarks, not tests.

Each prints a JSON report of ratios measured side by side in one run (the machines are shared
and noisy, so absolute times from different runs are not comparable).
"""

from __future__ import annotations

import sys

_COMMANDS = {
    "spec": ("bench.spec", "speculative strategies vs plain decoding"),
    "latency": ("bench.latency", "cold vs next-keystroke TTFT, typing storm, overhead"),
    "infill": ("bench.infill", "HumanEval infilling pass@1 through the pipeline"),
    "codechat": ("bench.codechat", "CodeChat actions on stdlib functions, checked"),
    "engines": (
        "bench.engines",
        "transformers vs llama.cpp engines vs llama.cpp itself, same weights",
    ),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in _COMMANDS:
        print("usage: tandem bench {" + ",".join(_COMMANDS) + "} [options]\n", file=sys.stderr)
        for name, (_, what) in _COMMANDS.items():
            print(f"  {name:<9} {what}", file=sys.stderr)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    import importlib

    module = importlib.import_module(_COMMANDS[argv[0]][0])
    if argv[0] == "infill":
        return int(module.main(argv[1:], make_engine=_default_engine) or 0)
    return int(module.main(argv[1:]) or 0)


def _default_engine(model: str | None = None, threads: int = 0):
    """The engine the server would build from its settings for `model` (`--model`; else
    `TANDEM_MODEL` / `TANDEM_DRAFT_MODEL` when set, else the server's default model)."""
    import os

    from lsp_server.engine_manager import build_engine
    from lsp_server.settings import Settings

    settings = Settings(
        model=model or os.environ.get("TANDEM_MODEL"),
        draft_model=os.environ.get("TANDEM_DRAFT_MODEL"),
        threads=threads,
    )
    engine, notice = build_engine(settings)
    if notice:
        print(notice, file=sys.stderr)
    return engine


if __name__ == "__main__":
    sys.exit(main())
