"""Deadlines on every user-visible path of the openai engine (issue 26, item 6).

One real `tandem lsp` per test, against a fake backend that hangs at one point: model discovery
(/v1/models, /tokenize), the TCP connect, the response headers, mid-stream; and failover from a
hanging endpoint to a healthy one. Completions and CodeChat are sent a few at a time, and the
test counts the answers that reached the client later than the documented limit
(`completionTimeoutS`, `chatTimeoutS`, from the request's arrival) plus a generous margin.

A count, not a timing assertion: on a loaded 2-core machine one answer may be late for reasons
of its own, so one late answer in a path is tolerated; a path without a deadline makes every
answer late (before the fix: 15 s per completion with /v1/models hung, 60 s for CodeChat).
"""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from tests.fuzz.harness import SUM_PY, Backend, LspProcess, count, openai_settings

#: The configured limits (short, so the suite stays quick) and the margin on top of them.
LIMIT_S = 3.0
MARGIN_S = 4.0
#: A request never answered within this counts as late too (and ends the wait).
GIVE_UP_S = 25.0
COMPLETIONS = 3
#: Late answers a path may have (a starved machine), of COMPLETIONS + 1.
TOLERATED_LATE = 1


class Blackhole:
    """A port whose connects hang: a listener with a full accept queue (Linux drops further
    SYNs, so a client's connect waits for its own timeout)."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        addr = self.listener.getsockname()
        self.fillers: list[socket.socket] = []
        for _ in range(4):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(addr)
            except BlockingIOError:
                pass
            self.fillers.append(s)
        self.url = f"http://127.0.0.1:{addr[1]}"

    def hangs(self) -> bool:
        probe = socket.socket()
        probe.settimeout(0.5)
        try:
            probe.connect(self.listener.getsockname())
        except TimeoutError:
            return True
        except OSError:
            return False
        finally:
            probe.close()
        return False

    def close(self) -> None:
        for s in [*self.fillers, self.listener]:
            s.close()


@pytest.fixture
def backends():
    made: list = []

    def make(mode: str = "ok") -> Backend:
        b = Backend(mode, hang_s=GIVE_UP_S + 5)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


async def _completion(lsp: LspProcess, uri: str) -> tuple[float, dict | None]:
    t0 = time.monotonic()
    res = await lsp.complete(uri, 1, 0, timeout=GIVE_UP_S)
    return time.monotonic() - t0, res


async def _chat(lsp: LspProcess, uri: str) -> tuple[float, str | None]:
    """Time until the CodeChat outcome (this client gets it as window/showMessage)."""
    seen = len(lsp.notifications)
    t0 = time.monotonic()
    res = await lsp.request(
        "workspace/executeCommand",
        {"command": "tandem.explain", "arguments": [{"uri": uri}]},
        timeout=GIVE_UP_S,
    )
    assert res is not None and res.get("result", {}).get("pending"), res
    while time.monotonic() - t0 < GIVE_UP_S:
        for n in lsp.notifications[seen:]:
            if n.get("method") == "window/showMessage" and "Explain" in n["params"]["message"]:
                return time.monotonic() - t0, n["params"]["message"]
        await asyncio.sleep(0.02)
    return time.monotonic() - t0, None


async def _run_path(
    tmp_path, urls: list[str], expect_text: bool, warm: bool = False
) -> tuple[int, list[str]]:
    """Send COMPLETIONS completions and one CodeChat request at once; (late answers, notes)."""
    settings = openai_settings(*urls, completionTimeoutS=LIMIT_S, chatTimeoutS=LIMIT_S)
    lsp = await LspProcess.start(settings)
    try:
        await lsp.initialize(str(tmp_path), ready=warm)  # warm: the fault is after discovery
        uris = [f"file://{tmp_path}/f{i}.py" for i in range(COMPLETIONS)]
        for uri in uris:
            lsp.open(uri, SUM_PY)
        results = await asyncio.gather(
            *(_completion(lsp, uri) for uri in uris), _chat(lsp, uris[0])
        )
        late, notes = 0, []
        for i, (took, answer) in enumerate(results):
            kind = "chat" if i == COMPLETIONS else "completion"
            on_time = answer is not None and took <= LIMIT_S + MARGIN_S
            if kind == "completion" and answer is not None:
                items = (answer.get("result") or {}).get("items") or []
                got_text = bool(items) and "a + b" in items[0]["insertText"]
                on_time = on_time and got_text == expect_text and "error" not in answer
            elif kind == "chat" and answer is not None:
                on_time = on_time and (("failed" in answer) != expect_text)
            late += not on_time
            notes.append(f"{kind} {took:.1f} s: {str(answer)[:160]}")
        if not expect_text:  # the error reached the user: a status error names the cause
            errors = [n["params"]["message"] for n in lsp.notifications
                      if n.get("method") == "tandem/status" and n["params"]["state"] == "error"]  # fmt: skip
            assert errors, notes
        assert lsp.alive()
        print("\n".join(notes))
        return late, notes
    finally:
        await lsp.stop()


@pytest.mark.parametrize("mode", ["hang_models", "hang_tokenize", "hang_headers", "stall"])
async def test_a_hung_backend_is_answered_within_the_deadline(backends, tmp_path, mode):
    warm = mode in ("hang_headers", "stall")
    late, notes = await _run_path(tmp_path, [backends(mode).url], expect_text=False, warm=warm)
    assert late <= TOLERATED_LATE, notes
    count("deadlines", mode)


async def test_a_hung_connect_is_answered_within_the_deadline(tmp_path):
    hole = Blackhole()
    try:
        if not hole.hangs():
            pytest.skip("this kernel refuses instead of dropping connects to a full queue")
        late, notes = await _run_path(tmp_path, [hole.url], expect_text=False)
        assert late <= TOLERATED_LATE, notes
        count("deadlines", "hung connect")
    finally:
        hole.close()


async def test_failover_from_a_hung_endpoint_answers_within_the_deadline(backends, tmp_path):
    hung, good = backends("hang_headers"), backends("ok")
    late, notes = await _run_path(tmp_path, [hung.url, good.url], expect_text=True, warm=True)
    assert late <= TOLERATED_LATE, notes
    assert good.hits["/v1/completions"] >= 1
    count("deadlines", "failover")
