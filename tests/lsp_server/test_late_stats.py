"""Numbers that land after the answer (the openai engine's share of vLLM's speculative counters)
reach `tandem/status` and the session totals. Drives the real completion glue (`_record`,
`publish`) and a real TandemServer; the stats object is deferred and settled by the test, as the
engine does."""

from __future__ import annotations

import json
import time

from completion.service import CompletionResult
from inference.base import GenerationStats
from lsp_server.features import events
from lsp_server.features.completions import _record, publish
from lsp_server.server import TandemServer
from lsp_server.session_stats import SessionStats
from lsp_server.stats import read_events, summarize


def _answered(ls: TandemServer, generated: int = 20, text: str = "x = 1") -> GenerationStats:
    stats = GenerationStats(engine="openai", generated_tokens=generated, finish_reason="length")
    stats.defer()  # as the openai engine does when vLLM's counters are still to be read
    t0 = time.perf_counter()
    result = CompletionResult(text, stats=stats)
    publish(ls, _record(ls, "inline", t0, t0, result, language="python"), t0)
    return stats


def _land(stats: GenerationStats, drafted: int, accepted: int) -> None:
    stats.drafted_tokens, stats.accepted_tokens = drafted, accepted
    stats.strategy = "speculative"
    stats.target_forward_passes = stats.generated_tokens - accepted
    stats.settle()


def test_late_speculative_counts_update_the_status_and_the_session():
    ls = TandemServer()
    stats = _answered(ls)
    assert ls.last_status["request"]["stats"]["drafted_tokens"] == 0  # sent without waiting
    assert ls.session.summary()["speculativeAcceptance"] is None
    _land(stats, drafted=16, accepted=12)
    request = ls.last_status["request"]  # the status was sent again with the numbers
    assert request["stats"]["drafted_tokens"] == 16 and request["stats"]["accepted_tokens"] == 12
    assert request["stats"]["strategy"] == "speculative"
    assert request["stats"]["target_forward_passes"] == 8
    assert ls.last_status["session"]["speculativeAcceptance"] == 0.75
    assert ls.last_status["state"] == "ready"


def test_a_late_update_never_overwrites_a_newer_status_but_still_counts():
    ls = TandemServer()
    older = _answered(ls)
    newer = _answered(ls, generated=4)
    _land(older, drafted=10, accepted=5)
    assert ls.last_status["request"]["stats"]["generated_tokens"] == 4  # still the newer one
    assert ls.session.summary()["speculativeAcceptance"] == 0.5
    _land(newer, drafted=10, accepted=10)
    assert ls.last_status["request"]["stats"]["drafted_tokens"] == 10
    assert ls.last_status["session"]["speculativeAcceptance"] == 0.75


def test_a_late_update_follows_a_shown_event_but_not_an_error():
    ls = TandemServer()
    stats = _answered(ls)
    ls.send_status("ready", "")  # what a shown/accepted event sends: no request
    _land(stats, drafted=8, accepted=4)
    assert ls.last_status["request"]["stats"]["drafted_tokens"] == 8
    failed = _answered(ls)
    ls.send_status("error", "cannot reach the inference server")  # a newer request failed
    _land(failed, drafted=8, accepted=8)
    assert ls.last_status["state"] == "error" and "request" not in ls.last_status
    assert ls.session.summary()["speculativeAcceptance"] == 0.75  # in the next status


def test_late_counts_reach_the_events_log_for_tandem_stats(tmp_path):
    ls = TandemServer()
    log = tmp_path / "events.jsonl"
    ls.events.configure(True, str(log))
    stats = _answered(ls)
    events.record_suggestion(ls, "python", "inline", ["x = 1"], ls.last_status["request"])
    _land(stats, drafted=10, accepted=6)
    empty = _answered(ls, text="")  # no suggestion was logged: no late event either
    _land(empty, drafted=4, accepted=4)
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["event"] for e in logged] == ["suggestion", "speculation"]
    assert logged[1]["draftedTokens"] == 10 and logged[1]["acceptedTokens"] == 6
    assert summarize(read_events(log))["languages"]["python"]["speculativeAcceptance"] == 0.6


def test_session_counts_only_what_the_late_numbers_add():
    s = SessionStats()
    s.record_request(100, cached=False, stats={"drafted_tokens": 4, "accepted_tokens": 2})
    s.record_late_stats({"drafted_tokens": 4, "accepted_tokens": 2},
                        {"drafted_tokens": 10, "accepted_tokens": 8})  # fmt: skip
    assert (s.drafted_tokens, s.accepted_tokens) == (10, 8)
    s.record_late_stats(None, None)
    assert s.summary()["speculativeAcceptance"] == 0.8
