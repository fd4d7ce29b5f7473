"""The `tandem` command: `lsp` (the server), `stats`, `demo`, `bench`, `serve`, `train-demo`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from lsp_server.framing import max_message_bytes_from_env


def _lsp(args: argparse.Namespace) -> int:
    from lsp_server.app import create_server
    from lsp_server.server import CLIENT_LOGGERS, TandemServer, configure_logging
    from lsp_server.tcp import TcpHost

    def new_server() -> TandemServer:
        server = create_server()
        configure_logging(server, args.log_level)
        server.max_message_bytes = args.max_message_bytes
        stderr_level = os.environ.get("TANDEM_STDERR_LOG_LEVEL")
        if stderr_level:  # Neovim logs every stderr line as ERROR: its plugin keeps stderr
            for handler in logging.getLogger().handlers:  # for errors
                handler.setLevel(stderr_level.upper())
        if os.environ.get("TANDEM_STDERR_SKIP_CLIENT_LOGS"):
            # VS Code shows stderr AND window/logMessage in one output channel: send our own
            # lines only through logMessage (at their level), keep stderr for other libraries
            # and crashes
            for handler in logging.getLogger().handlers:
                handler.addFilter(lambda r: not r.name.startswith(tuple(CLIENT_LOGGERS)))
        return server

    server = new_server()
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        host = host or "127.0.0.1"
        if not port.isdigit():
            print(f"tandem lsp: --tcp wants HOST:PORT, got {args.tcp!r}", file=sys.stderr)
            return 2
        token = args.token or os.environ.get("TANDEM_LSP_TOKEN") or None
        log = logging.getLogger("lsp_server")
        if host not in ("127.0.0.1", "localhost", "::1"):
            log.warning("listening on %s: the LSP port is meant for local use only", host)
        if token is None:
            log.info("no --token / TANDEM_LSP_TOKEN: any local process may connect")
        host_ = TcpHost(server, lambda _old: new_server(), token=token)
        try:
            return asyncio.run(host_.serve(host, int(port)))
        except KeyboardInterrupt:
            return 0
        finally:
            host_.server.shutdown()
    else:
        server.start_io()
    return server.exit_code


def _demo(args: argparse.Namespace) -> int:
    # the demo driver lives with the benchmarks (bench/), outside the product: reached by name
    import importlib

    return importlib.import_module("bench.demo").main(args)


def _passthrough(module: str, func: str = "main"):
    def run(args: argparse.Namespace) -> int:
        import importlib

        return importlib.import_module(module).__getattribute__(func)(args.rest)

    return run


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tandem", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    lsp = sub.add_parser("lsp", help="run the language server (stdio by default)")
    lsp.add_argument("--stdio", action="store_true", help="use stdio (the default)")
    lsp.add_argument(
        "--tcp",
        metavar="HOST:PORT",
        help="listen on TCP instead of stdio: local use only, one client at a time (see --token)",
    )
    lsp.add_argument(
        "--token",
        help="with --tcp: require this token as initializationOptions.token in `initialize` "
        "(or set TANDEM_LSP_TOKEN; the environment keeps it off the process list)",
    )
    lsp.add_argument(
        "--max-message-bytes",
        type=int,
        default=max_message_bytes_from_env(),
        help="largest LSP message accepted; bigger ones are skipped with a log line "
        "(default 64 MiB, or TANDEM_MAX_MESSAGE_BYTES)",
    )
    lsp.add_argument("--log-level", default=os.environ.get("TANDEM_LOG_LEVEL", "INFO"))
    lsp.set_defaults(func=_lsp)

    demo = sub.add_parser("demo", help="drive `tandem lsp` through a real LSP client (make run)")
    demo.add_argument(
        "--model",
        help="a .gguf file or model dir (default: none, so the server picks: the fetched "
        "Gemma 3 270M, else the shipped demo pair)",
    )
    demo.add_argument("--draft-model", help="draft model (.gguf file or dir)")
    demo.add_argument(
        "--chat-timeout", type=float, default=300.0, help="seconds to wait for the explain"
    )
    demo.set_defaults(func=_demo)

    from lsp_server import stats

    st = sub.add_parser("stats", help="summarize the local suggestion events log")
    stats.add_arguments(st)
    st.set_defaults(func=stats.run)

    for name, (module, help_) in PASSTHROUGH.items():
        if "{names}" in help_:  # the bench list comes from bench/cli.py, so it cannot go stale
            import importlib

            help_ = help_.format(names=", ".join(importlib.import_module(module).names()))
        sp = sub.add_parser(name, help=help_, add_help=False)
        sp.add_argument("rest", nargs=argparse.REMAINDER)
        sp.set_defaults(func=_passthrough(module))
    return p


#: Subcommands with their own argument parser: everything after the name goes to them as is
#: (argparse's REMAINDER would reject `tandem serve --model DIR` as unrecognized arguments).
PASSTHROUGH = {
    "bench": ("bench.cli", "benchmarks: {names}"),
    "serve": ("inference.serve", "start a vLLM OpenAI-compatible server (see --help)"),
    "train-demo": ("training.cli", "retrain the shipped demo model pair"),
}


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in PASSTHROUGH:
        return int(_passthrough(PASSTHROUGH[argv[0]][0])(argparse.Namespace(rest=argv[1:])) or 0)
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
