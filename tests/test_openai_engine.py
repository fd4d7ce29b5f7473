"""OpenAIEngine against a real (tiny, in-test) HTTP server on 127.0.0.1: real sockets, no mocks.

The fake server speaks just enough of the OpenAI streaming protocol; each test picks a behaviour
through the model name ("ok", "slow", "hang", "http500", ...), and the server records what it
saw so tests can check connection counts and closed streams.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from inference.base import EngineError, GenerationCancelled, GenerationRequest
from inference.openai import OpenAIEngine, normalize_endpoint
from inference.openai.engine import error_text
from inference.openai.metrics import SpecCounters, parse_samples_simple
from inference.openai.sse import SSEDecoder, iter_sse_data

METRICS_BEFORE = """\
# HELP vllm:spec_decode_num_drafts_total Number of spec decoding drafts.
# TYPE vllm:spec_decode_num_drafts_total counter
vllm:spec_decode_num_drafts_total{engine="0",model_name="m"} 10.0
vllm:spec_decode_num_draft_tokens_total{engine="0",model_name="m"} 40.0
vllm:spec_decode_num_accepted_tokens_total{engine="0",model_name="m"} 20.0
vllm:spec_decode_num_accepted_tokens_per_pos_total{engine="0",model_name="m",position="0"} 8.0
vllm:spec_decode_num_accepted_tokens_per_pos_total{engine="0",model_name="m",position="1"} 6.0
vllm:num_requests_running{engine="0",model_name="m"} 0.0
"""


class FakeState:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []
        self.closed_early = threading.Event()
        self.metrics_calls = 0
        self.lock = threading.Lock()
        #: The process "crashed": a request on a connection kept alive from before is reset.
        self.dead = False
        #: Model "late": the headers go out at once, the text only after this is set.
        self.release_text = threading.Event()


def make_handler(state: FakeState):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes

        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

        def _json(self, status: int, obj: dict) -> None:
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/v1/models":
                self._json(200, {"data": [{"id": "ok", "max_model_len": 2048}]})
            elif self.path == "/metrics":
                with state.lock:
                    state.metrics_calls += 1
                    n = state.metrics_calls
                text = METRICS_BEFORE
                if n % 2 == 0:  # the "after" snapshot: 3 drafts, 12 drafted, 9 accepted
                    text = (
                        text.replace("} 10.0", "} 13.0")
                        .replace("} 40.0", "} 52.0")
                        .replace("} 20.0", "} 29.0")
                    )
                body = text.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self._json(404, {"detail": "Not Found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            if state.dead:  # RST, no answer: what a killed server's kept-alive socket does
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
                self.close_connection = True
                return
            with state.lock:
                state.requests.append((self.path, body))
            if self.path == "/tokenize":
                n = 1 if body["prompt"] in ("<fim_prefix>", "<fim_suffix>", "<fim_middle>") else 3
                self._json(200, {"tokens": list(range(n)), "count": n})
                return
            behaviour = body.get("model")
            if behaviour == "http400":
                self._json(400, {"error": {"message": "max_tokens is too large", "code": 400}})
                return
            if behaviour == "http500":
                self.send_response(500)
                self.send_header("Content-Length", "14")
                self.end_headers()
                self.wfile.write(b"internal oops!")
                return
            if behaviour == "hang":
                time.sleep(3)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            if behaviour == "late":
                state.release_text.wait(30)
            chat = self.path.endswith("/chat/completions")
            pieces = ["Hel", "lo", ", ", "wor", "ld", "!"]
            if behaviour == "slow":
                pieces = [f"t{i} " for i in range(200)]
            try:
                for i, p in enumerate(pieces):
                    choice = {"index": 0, "finish_reason": None}
                    if chat:
                        choice["delta"] = {"content": p}
                    else:
                        choice["text"] = p
                    self.wfile.write(f"data: {json.dumps({'choices': [choice]})}\n\n".encode())
                    self.wfile.flush()
                    if behaviour == "slow":
                        time.sleep(0.05)
                    if behaviour == "die" and i == 2:
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    if behaviour == "stall" and i == 1:
                        time.sleep(3)
                    if behaviour == "abort" and i == 1:
                        break
                reason = "abort" if behaviour == "abort" else "length"
                end = {"choices": [{"index": 0, "finish_reason": reason, "text": ""}]}
                usage = {
                    "choices": [],
                    "usage": {
                        "prompt_tokens": 7,
                        "completion_tokens": len(pieces),
                        "prompt_tokens_details": {"cached_tokens": 4},
                    },
                }
                self.wfile.write(f"data: {json.dumps(end)}\n\n".encode())
                self.wfile.write(f": keep-alive\n\ndata: {json.dumps(usage)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                state.closed_early.set()

    return Handler


@pytest.fixture
def fake_server():
    state = FakeState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", state
    server.shutdown()
    server.server_close()


def dead_url() -> str:
    """A loopback port with nothing listening (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# -- pure functions ------------------------------------------------------------------------------


def test_sse_decoder_follows_the_spec():
    d = SSEDecoder()
    events = []
    for line in [
        ": comment",
        "event: message",
        'data: {"a": 1}',
        "",
        "data:no-space",
        "data:  two spaces",
        "id: 7",
        "",
        "",
        "data: [DONE]\r",
        "\r",
        "data: tail without blank line",
    ]:
        ev = d.feed(line)
        if ev is not None:
            events.append(ev)
    events.append(d.flush())
    assert events == ['{"a": 1}', "no-space\n two spaces", "[DONE]", "tail without blank line"]


async def test_iter_sse_data_from_async_lines():
    async def lines():
        for line in ["data: x", "", "data: y", "data: z", ""]:
            yield line

    assert [e async for e in iter_sse_data(lines())] == ["x", "y\nz"]


def test_metrics_parser_and_deltas():
    samples = parse_samples_simple(
        METRICS_BEFORE + 'odd{a="x\\"y",b="2"} +Inf\nbad line here x\nx_total 3 1700000000\n'
    )
    names = [s[0] for s in samples]
    assert "vllm:num_requests_running" in names
    assert ("odd", {"a": 'x"y', "b": "2"}, float("inf")) in samples
    assert ("x_total", {}, 3.0) in samples
    before = SpecCounters.from_metrics_text(METRICS_BEFORE)
    assert (
        before.present
        and before.draft_tokens == 40
        and before.accepted_per_position
        == {
            0: 8.0,
            1: 6.0,
        }
    )
    after = SpecCounters.from_metrics_text(METRICS_BEFORE.replace("} 40.0", "} 55.0"))
    d = after.minus(before)
    assert d.draft_tokens == 15 and d.accepted_tokens == 0 and d.present
    restarted = SpecCounters.from_metrics_text(METRICS_BEFORE.replace("} 40.0", "} 5.0"))
    assert restarted.minus(before).draft_tokens == 5  # counter reset: count since restart
    assert not SpecCounters.from_metrics_text("vllm:other 1\n").present


def test_error_text_and_endpoints():
    assert error_text(b'{"error": {"message": "bad model"}}') == "bad model"
    assert error_text(b'{"object": "error", "message": "vllm style"}') == "vllm style"
    assert error_text(b'{"detail": "Not Found"}') == "Not Found"
    assert error_text(b"plain text") == "plain text"
    assert normalize_endpoint("localhost:8000/v1/") == "http://localhost:8000"


def test_count_tokens_approximation_without_tokenizer():
    eng = OpenAIEngine(["http://127.0.0.1:9"], model="m")
    assert eng.count_tokens("") == 0
    assert eng.count_tokens("abcdef") == 2
    assert eng.count_tokens("é") == 1  # bytes, not characters


# -- against the fake server ------------------------------------------------------------------


async def test_completion_stream_and_stats(fake_server):
    url, state = fake_server
    eng = OpenAIEngine([url + "/v1"], model="ok")
    gen = eng.start(GenerationRequest(prompt="<fim_prefix>a<fim_suffix>b<fim_middle>"))
    assert not gen.accepted.is_set()
    assert await gen.text() == "Hello, world!"
    assert gen.accepted.is_set()
    s = gen.stats
    assert (s.prompt_tokens, s.generated_tokens, s.prefix_tokens_reused) == (7, 6, 4)
    assert s.finish_reason == "length" and s.ttft_ms > 0 and s.total_ms >= s.ttft_ms
    # /metrics is read in the background (MetricsPoller): the request never waited for it,
    # and its speculative numbers are the difference of the polls around it (none yet here)
    assert s.drafted_tokens >= s.accepted_tokens >= 0
    path, body = state.requests[-1]
    assert path == "/v1/completions" and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True} and "suffix" not in body
    await eng.close()


async def test_accepted_is_set_by_the_headers_before_any_text(fake_server):
    """vLLM on a CPU may send its text in one burst at the end: `accepted` must not wait for it
    (the crash test kills the server once a request is accepted)."""
    url, state = fake_server
    eng = OpenAIEngine([url], model="late", spec_metrics=False)
    gen = eng.start(GenerationRequest(prompt="x"))
    await asyncio.wait_for(gen.accepted.wait(), 20)  # times out when it waits for the text
    state.release_text.set()
    assert await gen.text() == "Hello, world!"
    await eng.close()


async def test_chat_stream_and_client_side_stop(fake_server):
    url, state = fake_server
    eng = OpenAIEngine([url], model="ok", spec_metrics=False)
    gen = eng.start(
        GenerationRequest(messages=[{"role": "user", "content": "hi"}], kind="chat", stop=["wor"])
    )
    assert await gen.text() == "Hello, "
    assert gen.stats.finish_reason == "stop"
    assert state.requests[-1][0] == "/v1/chat/completions"
    assert state.requests[-1][1]["stop"] == ["wor"]
    assert state.metrics_calls == 0
    await eng.close()


async def test_discovery_model_and_special_tokens(fake_server):
    url, _ = fake_server
    from completion.templates import TEMPLATES, detection_tokens

    eng = OpenAIEngine([url], probe_tokens=detection_tokens())
    info = await eng.connect()
    assert info.model == "ok" and info.max_context_tokens == 2048
    assert {"<fim_prefix>", "<fim_suffix>", "<fim_middle>"} <= set(info.special_tokens)
    assert "<|fim_prefix|>" not in info.special_tokens
    from completion.templates import detect_template

    assert detect_template(info.special_tokens).prefix == "<fim_prefix>"
    override = OpenAIEngine([url], model="ok", fim_tokens=TEMPLATES["qwen"].tokens).info
    assert detect_template(override.special_tokens).name == "qwen"
    await eng.close()


async def test_http_errors_carry_status_and_server_text(fake_server):
    url, state = fake_server
    eng = OpenAIEngine([url], model="http400")
    with pytest.raises(EngineError, match=r"HTTP 400: max_tokens is too large"):
        await eng.start(GenerationRequest(prompt="x")).text()
    eng.model = "http500"
    gen = eng.start(GenerationRequest(prompt="x"))
    with pytest.raises(EngineError, match=r"HTTP 500: internal oops!"):
        await gen.text()
    assert gen.stats.finish_reason == "error"
    assert sum(1 for p, _ in state.requests if p == "/v1/completions") == 2  # never retried
    await eng.close()


async def test_a_request_the_server_aborted_is_an_error_not_an_answer(fake_server):
    url, _ = fake_server
    eng = OpenAIEngine([url], model="abort")
    gen = eng.start(GenerationRequest(prompt="x"))
    with pytest.raises(EngineError, match=r"aborted the request mid-generation"):
        await gen.text()
    assert gen.stats.finish_reason == "error"
    await eng.close()


async def test_connect_refused_fails_over_to_second_endpoint(fake_server):
    url, state = fake_server
    eng = OpenAIEngine([dead_url(), url], model="ok", retry_backoff=0.01)
    assert await eng.start(GenerationRequest(prompt="x")).text() == "Hello, world!"
    assert eng.endpoints[eng._preferred] == url  # the next request starts at the healthy one
    await eng.close()


async def test_all_endpoints_down_is_a_clear_error_then_recovers(fake_server):
    url, _ = fake_server
    dead = dead_url()
    eng = OpenAIEngine([dead], model="ok", connect_retries=2, retry_backoff=0.01)
    t0 = time.perf_counter()
    with pytest.raises(EngineError, match=r"cannot reach the inference server.*connection refused"):
        await eng.start(GenerationRequest(prompt="x")).text()
    assert time.perf_counter() - t0 < 20  # bounded by the timeout, not 60 s (loaded CI: slack)
    eng.endpoints = [dead, url]  # "the server came back" (on another port): no sticky state
    assert await eng.start(GenerationRequest(prompt="x")).text() == "Hello, world!"
    await eng.close()


async def test_retries_connect_errors_with_backoff(fake_server):
    url, _ = fake_server
    # Reserve a port, start listening on it only after the first attempts failed.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    eng = OpenAIEngine(
        [f"http://127.0.0.1:{port}"], model="ok", connect_retries=5, retry_backoff=0.1
    )
    from http.server import ThreadingHTTPServer as Srv

    state = FakeState()

    def late_start() -> None:
        time.sleep(0.25)
        srv = Srv(("127.0.0.1", port), make_handler(state))
        srv.daemon_threads = True
        late.append(srv)
        srv.serve_forever()

    late: list[ThreadingHTTPServer] = []
    threading.Thread(target=late_start, daemon=True).start()
    try:
        assert await eng.start(GenerationRequest(prompt="x")).text() == "Hello, world!"
    finally:
        await eng.close()
        for srv in late:
            srv.shutdown()
            srv.server_close()


async def test_read_timeout_is_a_clear_error_and_not_retried(fake_server):
    url, state = fake_server
    eng = OpenAIEngine([url], model="hang", read_timeout=0.3, spec_metrics=False)
    t0 = time.perf_counter()
    with pytest.raises(EngineError, match=r"did not answer within 0.3 s \(read timeout\)"):
        await eng.start(GenerationRequest(prompt="x")).text()
    assert time.perf_counter() - t0 < 20  # bounded by the timeout, not 60 s (loaded CI: slack)
    assert sum(1 for p, _ in state.requests if p == "/v1/completions") == 1
    eng.model = "stall"  # timeout after bytes were streamed: error, never a retry
    gen = eng.start(GenerationRequest(prompt="x"))
    got = []
    with pytest.raises(EngineError, match=r"read timeout\) mid-generation"):
        async for piece in gen:
            got.append(piece)
    assert "".join(got) == "Hello"
    assert sum(1 for p, _ in state.requests if p == "/v1/completions") == 2
    await eng.close()


async def test_connection_lost_mid_stream(fake_server):
    url, _ = fake_server
    eng = OpenAIEngine([url], model="die", spec_metrics=False)
    with pytest.raises(EngineError, match=r"lost the connection .* mid-generation"):
        await eng.start(GenerationRequest(prompt="x")).text()
    await eng.close()


async def test_cancel_closes_the_stream_promptly(fake_server):
    url, state = fake_server
    eng = OpenAIEngine([url], model="slow", spec_metrics=False)
    gen = eng.start(GenerationRequest(prompt="x", max_tokens=200))
    got = []
    with pytest.raises(GenerationCancelled):
        async for piece in gen:
            got.append(piece)
            if len(got) == 3:
                t0 = time.perf_counter()
                gen.cancel()
    assert time.perf_counter() - t0 < 0.5
    await gen.wait_closed()
    assert gen.stats.finish_reason == "cancelled"
    # The server notices the closed socket on its next write.
    assert await asyncio.to_thread(state.closed_early.wait, 5)
    await eng.close()


async def test_newer_request_for_same_document_cancels_older(fake_server):
    url, _ = fake_server
    eng = OpenAIEngine([url], model="slow", spec_metrics=False)
    first = eng.start(GenerationRequest(prompt="x", cache_key="file:///a.py"))
    await asyncio.sleep(0.1)
    eng.model = "ok"
    second = eng.start(GenerationRequest(prompt="x", cache_key="file:///a.py"))
    with pytest.raises(GenerationCancelled):
        await first.text()
    assert await second.text() == "Hello, world!"
    await eng.close()


def test_connect_blocking_from_a_thread_without_loop(fake_server):
    url, _ = fake_server
    eng = OpenAIEngine([url], probe_tokens=["<fim_prefix>", "<|fim_prefix|>"])
    info = eng.connect_blocking()
    assert info.model == "ok" and "<fim_prefix>" in info.special_tokens
    assert eng._client is None  # nothing left bound to the temporary loop
    with pytest.raises(EngineError, match="cannot reach"):
        OpenAIEngine([dead_url()], retry_backoff=0.01).connect_blocking()


def test_bench_summary_ratios():
    from bench.openai_spec import default_workloads, summarize

    def run(ms: float, text: str) -> dict:
        return {"total_ms": ms, "ttft_ms": 1.0, "tokens_per_second": 10.0, "text": text}

    out = summarize(
        {
            "none": {"fim": run(200, "a"), "edit": run(400, "b")},
            "ngram": {"fim": run(100, "a"), "edit": run(800, "b")},
        },
        {"none": 30.0},
    )
    assert out["speedup_vs_none"] == {"ngram": {"fim": 2.0, "edit": 0.5}}
    assert out["greedy_outputs_identical"] == {"fim": True, "edit": True}
    assert "text" not in out["setups"]["none"]["fim"]
    assert {w.name for w in default_workloads()} == {"fim", "edit", "continue"}


async def test_more_than_four_stops_are_split_between_server_and_client(fake_server):
    """vLLM rejects more than 4 stop strings: the server gets the 4 shortest, the client
    stream enforces every one of them."""
    url, state = fake_server
    eng = OpenAIEngine([url], model="m")
    stops = ["<|endoftext|>", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", "!", "wor"]
    gen = eng.start(GenerationRequest(prompt="p", kind="fim", stop=stops))
    assert await gen.text() == "Hello, "  # "wor" (sent to the server or not) still cut the text
    sent = state.requests[-1][1]["stop"]
    assert sent == ["!", "wor", "<fim_prefix>", "<fim_suffix>"]
    await eng.close()


async def test_spec_counts_land_in_the_stats_after_the_text(fake_server):
    """Issue 15: /metrics is read in the background, never on the request's path; the
    request's share of vLLM's counters lands in its stats a little after the text (the fake
    server's second read shows 3 drafts, 12 drafted tokens, 9 accepted)."""
    url, state = fake_server
    eng = OpenAIEngine([url], model="ok")
    gen = eng.start(GenerationRequest(prompt="x", kind="edit"))
    assert await gen.text() == "Hello, world!"
    s = gen.stats
    assert not s.settled and s.drafted_tokens == 0  # the text did not wait for /metrics
    landed: list[int] = []
    s.on_settled(lambda st: landed.append(st.drafted_tokens))
    assert await s.wait_settled(timeout=10)
    assert landed == [12]
    assert (s.drafted_tokens, s.accepted_tokens, s.strategy) == (12, 9, "speculative")
    assert s.target_forward_passes == 1  # 6 generated, 9 accepted (the fake's numbers)
    assert state.metrics_calls == 2  # a baseline before the request, one read after it
    await asyncio.sleep(1.2)
    assert state.metrics_calls == 2  # then nothing while idle
    await eng.close()


async def test_a_generation_cancelled_by_its_reader_still_settles_its_spec_counts(fake_server):
    """The completion service cancels a generation once the suggestion is over, and reads the
    stats at once: they must say that counts are still to come, then get them."""
    url, _ = fake_server
    eng = OpenAIEngine([url], model="slow")
    gen = eng.start(GenerationRequest(prompt="x", max_tokens=200))
    with pytest.raises(GenerationCancelled):
        async for _piece in gen:
            gen.cancel()  # after the first piece, like a completion that is already over
    assert not gen.stats.settled
    assert await gen.stats.wait_settled(timeout=10)
    assert gen.stats.finish_reason == "cancelled" and gen.stats.generated_tokens >= 1
    assert gen.stats.drafted_tokens == 12  # the fake's counts, all this request's
    await eng.close()


async def test_a_crashed_servers_kept_alive_connection_reports_connection_refused():
    """After a crash, the pooled keep-alive connection fails the next request before any byte
    (ReadError); the engine retries once on a fresh connection and so reports the true cause."""
    state = FakeState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    eng = OpenAIEngine([url], connect_retries=1, retry_backoff=0.01, spec_metrics=False)
    await eng.connect()  # /v1/models leaves a kept-alive connection in the pool
    state.dead = True
    server.shutdown()
    server.server_close()  # nothing listens now; the kept-alive connection's thread lives on
    with pytest.raises(EngineError, match=r"cannot reach the inference server: .*refused"):
        await eng.start(GenerationRequest(prompt="x")).text()
    await eng.close()


async def test_a_server_without_speculation_counters_is_not_polled_again(fake_server):
    url, state = fake_server
    eng = OpenAIEngine([url], model="ok", spec_metrics=True)
    eng._has_spec_metrics[url] = False  # as learned from a first read without counters
    for _ in range(3):
        gen = eng.start(GenerationRequest(prompt="x"))
        await gen.text()
    assert state.metrics_calls == 0
    await eng.close()


class _VllmLikeCounters(BaseHTTPRequestHandler):
    """vLLM's order of events, slowed down: a request's work grows the server-wide counters at
    once, and /metrics answers with the counters as they are when it finishes (here 0.3 s
    later: a busy server). The CI flake of tests/vllm (drafted_tokens 0): the baseline read
    went out with the request and came back after the request's work, so the work was inside
    the baseline."""

    protocol_version = "HTTP/1.1"
    counts = {"drafts": 0.0, "draft": 0.0, "accepted": 0.0}
    events: list[str] = []

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/metrics":
            time.sleep(0.3)
            c = type(self).counts
            text = (
                f'vllm:spec_decode_num_drafts_total{{engine="0"}} {c["drafts"]}\n'
                f'vllm:spec_decode_num_draft_tokens_total{{engine="0"}} {c["draft"]}\n'
                f'vllm:spec_decode_num_accepted_tokens_total{{engine="0"}} {c["accepted"]}\n'
            )
            type(self).events.append("metrics answered")
            self._send(200, text.encode(), "text/plain")
        else:
            self._send(404, b"{}", "application/json")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).events.append("request")
        c = type(self).counts
        c["drafts"], c["draft"], c["accepted"] = c["drafts"] + 3, c["draft"] + 12, c["accepted"] + 9
        chunk = {"choices": [{"index": 0, "text": "hi", "finish_reason": "stop"}],
                 "usage": {"prompt_tokens": 2, "completion_tokens": 4}}  # fmt: skip
        body = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
        self._send(200, body, "text/event-stream")


async def test_a_requests_speculative_counts_come_after_its_baseline():
    """After an idle spell the baseline /metrics reading is in before the request is sent, so a
    short request gets exactly its own counts (12 drafted, 9 accepted), however slow /metrics."""
    _VllmLikeCounters.counts = {"drafts": 5.0, "draft": 20.0, "accepted": 10.0}
    _VllmLikeCounters.events = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _VllmLikeCounters)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    eng = OpenAIEngine([f"http://127.0.0.1:{server.server_address[1]}"], model="m")
    eng._probed_specials = []  # no /tokenize here
    try:
        gen = eng.start(GenerationRequest(prompt="x", max_tokens=4))
        assert await gen.text() == "hi"
        assert await gen.stats.wait_settled(timeout=10)
        assert _VllmLikeCounters.events[:2] == ["metrics answered", "request"]
        assert (gen.stats.drafted_tokens, gen.stats.accepted_tokens) == (12, 9)
    finally:
        await eng.close()
        server.shutdown()
        server.server_close()
