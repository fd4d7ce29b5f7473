"""`tandem stats`: what the local events log says about your suggestions.

Reads the JSONL written by `lsp_server/events_log.py` (nothing is ever sent anywhere) and
prints suggestions shown, acceptance rate, accepted characters, latency percentiles, speculative
acceptance, overall and per language. `--json` prints the same numbers for scripts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lsp_server.events_log import resolve_path
from lsp_server.session_stats import percentile


def read_events(path: Path, since: float | None = None) -> Iterator[dict[str, Any]]:
    """Events from the log; lines that are not JSON objects are skipped (a torn last line)."""
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(event, dict) or "event" not in event:
                continue
            if since is not None and float(event.get("ts") or 0) < since:
                continue
            yield event


def _empty() -> dict[str, Any]:
    return {
        "suggestions": 0, "shown": 0, "accepted": 0, "partiallyAccepted": 0, "acceptedChars": 0,
        "latencies": [], "draftedTokens": 0, "acceptedTokens": 0,
        "_accepted_ids": set(), "_partial_ids": set(),
    }  # fmt: skip


def summarize(events: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Totals and per-language numbers. Acceptance rate = suggestions accepted fully or in part
    / suggestions shown."""
    groups: dict[str, dict[str, Any]] = {}

    def bump(language: str) -> list[dict[str, Any]]:
        return [groups.setdefault("*", _empty()), groups.setdefault(language or "?", _empty())]

    for e in events:
        kind, sid = e.get("event"), e.get("id")
        for g in bump(str(e.get("language") or "?")):
            if kind == "suggestion":
                g["suggestions"] += 1
                if not e.get("cached") and isinstance(e.get("latencyMs"), int | float):
                    g["latencies"].append(float(e["latencyMs"]))
                g["draftedTokens"] += int(e.get("draftedTokens") or 0)
                g["acceptedTokens"] += int(e.get("acceptedTokens") or 0)
            elif kind == "speculation":  # late counts of a logged suggestion
                g["draftedTokens"] += int(e.get("draftedTokens") or 0)
                g["acceptedTokens"] += int(e.get("acceptedTokens") or 0)
            elif kind == "shown":
                g["shown"] += 1
            elif kind == "accepted":
                g["accepted"] += 1
                g["_accepted_ids"].add(sid)
                g["acceptedChars"] += int(e.get("chars") or 0)
            elif kind == "partial":
                g["_partial_ids"].add(sid)
                g["acceptedChars"] += int(e.get("chars") or 0)
    out: dict[str, Any] = {}
    for language, g in groups.items():
        partial_only = g["_partial_ids"] - g["_accepted_ids"]
        taken = g["accepted"] + len(partial_only)
        lat = g["latencies"]
        out[language] = {
            "suggestions": g["suggestions"],
            "shown": g["shown"],
            "accepted": g["accepted"],
            "partiallyAccepted": len(partial_only),
            "acceptanceRate": round(taken / g["shown"], 4) if g["shown"] else None,
            "acceptedChars": g["acceptedChars"],
            "latencyMs": {
                f"p{p}": (round(v, 1) if (v := percentile(lat, p)) is not None else None)
                for p in (50, 90, 99)
            },
            "speculativeAcceptance": (
                round(g["acceptedTokens"] / g["draftedTokens"], 4) if g["draftedTokens"] else None
            ),
        }
    total = out.pop("*", None) or _empty_summary()
    return {"total": total, "languages": dict(sorted(out.items()))}


def _empty_summary() -> dict[str, Any]:
    return {
        "suggestions": 0, "shown": 0, "accepted": 0, "partiallyAccepted": 0,
        "acceptanceRate": None, "acceptedChars": 0,
        "latencyMs": {"p50": None, "p90": None, "p99": None}, "speculativeAcceptance": None,
    }  # fmt: skip


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}"


def format_summary(summary: dict[str, Any], path: Path) -> str:
    header = (
        f"{'language':<14}{'shown':>7}{'accepted':>10}{'partial':>9}{'rate':>8}"
        f"{'chars':>8}{'p50 ms':>8}{'p90 ms':>8}{'p99 ms':>8}{'spec':>8}"
    )

    def row(name: str, s: dict[str, Any]) -> str:
        lat = s["latencyMs"]
        return (
            f"{name:<14}{s['shown']:>7}{s['accepted']:>10}{s['partiallyAccepted']:>9}"
            f"{_pct(s['acceptanceRate']):>8}{s['acceptedChars']:>8}{_ms(lat['p50']):>8}"
            f"{_ms(lat['p90']):>8}{_ms(lat['p99']):>8}{_pct(s['speculativeAcceptance']):>8}"
        )

    t = summary["total"]
    lines = [
        f"Tandem suggestions, from {path}",
        f"  suggestions computed: {t['suggestions']}   shown: {t['shown']}   "
        f"accepted: {t['accepted']} (+{t['partiallyAccepted']} in part)   "
        f"acceptance rate: {_pct(t['acceptanceRate'])}",
        f"  accepted characters: {t['acceptedChars']}   latency p50/p90/p99: "
        f"{_ms(t['latencyMs']['p50'])}/{_ms(t['latencyMs']['p90'])}/{_ms(t['latencyMs']['p99'])} ms"
        f"   speculative acceptance: {_pct(t['speculativeAcceptance'])}",
        "",
        header,
    ]
    lines += [row(lang, s) for lang, s in summary["languages"].items()]
    lines.append(row("all", t))
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log", help="events log (default: ~/.local/state/tandem/events.jsonl)")
    p.add_argument("--days", type=float, help="only the last N days")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="tandem stats", description=__doc__.split("\n")[0])
    add_arguments(p)
    return run(p.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    path = resolve_path(args.log)
    if not path.exists():
        print(
            f"tandem stats: no events log at {path}. The server keeps one only when asked: set "
            "`eventsLogEnabled: true` (or `eventsLog` to a file) in your editor's Tandem "
            "settings; or nothing was recorded yet, or `--log` should point elsewhere",
            file=sys.stderr,
        )
        return 1
    since = time.time() - args.days * 86400 if args.days else None
    try:
        summary = summarize(read_events(path, since))
    except OSError as exc:
        print(f"tandem stats: cannot read {path}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary, path))
    return 0
