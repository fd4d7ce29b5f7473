"""Prints the fuzz/fault suite's summary: cases per category, crashes, unanswered, secrets sent."""

from __future__ import annotations

from tests.fuzz.harness import SUMMARY


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not SUMMARY:
        return
    tr = terminalreporter
    tr.section("tandem fuzz/fault summary")
    totals = {"crashes": 0, "unanswered": 0, "secrets sent": 0}
    for category in sorted(SUMMARY):
        counts = SUMMARY[category]
        for key in totals:
            totals[key] += counts.get(key, 0)
        detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        tr.write_line(f"{category:<22} {detail}")
    tr.write_line(
        f"TOTAL: {totals['crashes']} crashes, {totals['unanswered']} unanswered requests, "
        f"{totals['secrets sent']} secrets sent"
    )
