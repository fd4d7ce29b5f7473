"""`OpenAIEngine`: the `Engine` interface over an OpenAI-compatible HTTP server (vLLM first).

Raw prompts (FIM prompts rendered by `completion/`) go to `/v1/completions`, chat messages to
`/v1/chat/completions`, both streamed as server-sent events. Failure policy, in one place:

* connect errors (refused, DNS, connect timeout) are retried with exponential backoff on the same
  endpoint; then, like HTTP 5xx/429, a timeout before the first token, or a connection lost
  before the first token, the next endpoint is tried (failover). Generation has no side effects,
  so re-sending it is safe until text was handed to the caller; after that nothing is retried;
* every request kind has deadlines (`Deadlines`: completions a few seconds, chat minutes): one
  for the first token and one for the whole answer, so a hung or trickling server costs at most
  the deadline, never a minute per request or forever;
* a circuit breaker skips an endpoint for `breaker_cooldown` seconds after it failed (tried
  again only when every endpoint is cooling down), so a dead first endpoint does not tax every
  request;
* HTTP 4xx (with the server's own error text), deadlines passed, and connections lost
  mid-stream become an `EngineError` with a message meant for the user;
* the next request starts from the last endpoint that worked, and a server that comes back is
  used again without a restart of Tandem;
* a request that fails before any byte of the answer on a pooled keep-alive connection (the
  server crashed or restarted since) is sent once more on a fresh connection, so the error is
  the true one ("connection refused"), not the dead socket's ReadError.

Cancellation closes the HTTP stream; vLLM aborts the request when its client disconnects.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from inference.base import (
    Engine,
    EngineError,
    EngineInfo,
    Generation,
    GenerationCancelled,
    GenerationRequest,
    GenerationStats,
)
from inference.openai.metrics import MetricsPoller, SpecCounters, SpecTicket
from inference.openai.sse import DONE, iter_sse_data
from inference.stop import StopTextStream

#: OpenAI's limit on `stop` strings, which vLLM enforces (HTTP 400 beyond it).
MAX_SERVER_STOPS = 4

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Without a tokenizer, `count_tokens` assumes this many UTF-8 bytes per token. Code BPEs average
#: 3.5-4; 3 over-counts a little, which is the safe side for context budgets.
APPROX_BYTES_PER_TOKEN = 3.0

_CONNECT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout)
#: How a request fails on a kept-alive connection the server side already dropped: writing the
#: request (WriteError), reading the reply (ReadError: reset), or the reply never coming
#: (RemoteProtocolError: "Server disconnected without sending a response").
_STALE_CONNECTION_ERRORS = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class Deadlines:
    """Per request kind: seconds until the first token, and for the whole answer."""

    first_token_s: float
    total_s: float


#: Completions are worthless after a few seconds (the user typed on); chat answers are long.
DEFAULT_DEADLINES: dict[str, Deadlines] = {
    "fim": Deadlines(first_token_s=4.0, total_s=6.0),
    "chat": Deadlines(first_token_s=60.0, total_s=600.0),
    "edit": Deadlines(first_token_s=60.0, total_s=600.0),
}


class _TryNext(Exception):
    """This endpoint failed before the request could have produced output: try the next one."""


class CircuitBreaker:
    """Remembers which endpoints failed recently, so requests skip them for a while."""

    def __init__(self, cooldown: float = 30.0) -> None:
        self.cooldown = cooldown
        self._open_until: dict[str, float] = {}

    def failed(self, base: str) -> None:
        self._open_until[base] = time.monotonic() + self.cooldown

    def succeeded(self, base: str) -> None:
        self._open_until.pop(base, None)

    def is_open(self, base: str) -> bool:
        return self._open_until.get(base, 0.0) > time.monotonic()


def normalize_endpoint(url: str) -> str:
    """`http://h:8000`, `http://h:8000/` and `http://h:8000/v1` all mean the server root."""
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        url = "http://" + url
    if url.endswith("/v1"):
        url = url[: -len("/v1")]
    return url


def error_text(response_body: bytes, limit: int = 500) -> str:
    """The server's own error message from an OpenAI-style (or FastAPI) error body."""
    text = response_body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:limit] or "(empty body)"
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            msg = err.get("message") or err.get("detail") or err.get("msg")
            if msg:
                return str(msg)[:limit]
        elif isinstance(err, str):
            return err[:limit]
        if "detail" in data:
            return str(data["detail"])[:limit]
    return text[:limit]


class OpenAIGeneration(Generation):
    """One streamed request, run as an asyncio task that feeds a queue.

    `cancel()` cancels the task, which closes the HTTP response (and so the connection), and wakes
    the consumer at once.
    """

    _DONE = object()

    def __init__(self, engine: OpenAIEngine, request: GenerationRequest) -> None:
        super().__init__("openai")
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._error: BaseException | None = None
        self.cancelled = False
        #: Set once a server accepted the request (HTTP 200 headers in): the model is working.
        self.accepted = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(engine, request))

    async def _run(self, engine: OpenAIEngine, request: GenerationRequest) -> None:
        try:
            async for delta in engine._stream(
                request, self.stats, self._started, self.accepted.set
            ):
                self._queue.put_nowait(delta)
        except asyncio.CancelledError:
            self.stats.finish_reason = "cancelled"
        except EngineError as exc:
            self.stats.finish_reason = "error"
            self._error = exc
        except Exception as exc:  # never let a bug kill the consumer silently
            log.exception("openai generation failed")
            self.stats.finish_reason = "error"
            self._error = EngineError(f"generation failed: {exc}")
        finally:
            self.stats.total_ms = (time.perf_counter() - self._started) * 1000
            self._queue.put_nowait(self._DONE)

    def cancel(self) -> None:
        if self._task.done():
            return
        self.cancelled = True
        self._task.cancel()
        self._queue.put_nowait(self._DONE)

    async def wait_closed(self) -> None:
        """Wait until the HTTP stream is really closed (tests and benchmarks use it)."""
        await asyncio.gather(self._task, return_exceptions=True)

    async def __aiter__(self) -> AsyncIterator[str]:  # type: ignore[override]
        while True:
            item = await self._queue.get()
            if item is self._DONE or self.cancelled:  # drop text queued before cancel()
                break
            yield item  # type: ignore[misc]
        if self.cancelled:
            raise GenerationCancelled()
        if self._error is not None:
            raise self._error


class OpenAIEngine(Engine):
    """Talks to one or more OpenAI-compatible servers serving the same model.

    `info` needs the model's special tokens (for FIM template detection). With `tokenizer_dir`
    they come from the local tokenizer (as in `LocalEngine`); otherwise `await engine.connect()`
    (or the first request) probes the server's `/tokenize` endpoint for `probe_tokens`, and
    reads the model name and context length from `/v1/models`. The caller passes the tokens as
    data (the FIM templates' markers and stops: `completion.templates.detection_tokens()`), so
    this package never imports the completion pipeline and the list cannot drift from it.
    Servers without `/tokenize` (not vLLM) give no special tokens: pass `fim_tokens` then, the
    tokens of the template the user chose.

    BOS: FIM prompts go out as text and the server tokenizes them with its own tokenizer's
    special-token rules (vLLM's `add_special_tokens` defaults to true for completions, llama.cpp
    follows the GGUF's add_bos_token), so the family's BOS is added exactly once, by the server.

    Speculative stats: vLLM exports its speculative-decoding counters only server-wide, so when
    `spec_metrics` is on the engine reads `/metrics` in the background (at most once a second,
    only around requests; see `MetricsPoller`), and each request's share lands in its stats
    as `drafted_tokens` / `accepted_tokens` after the text ended: `stats.settled` is False
    until then (`stats.on_settled`, `stats.wait_settled`). Exact for a request alone on the
    server; split by generated tokens when several of ours overlap; other users' requests on
    the same server are counted as ours while ours run.
    """

    def __init__(
        self,
        endpoints: list[str] | str,
        api_key: str | None = None,
        model: str | None = None,
        tokenizer_dir: str | Path | None = None,
        fim_tokens: Sequence[str] = (),
        probe_tokens: Sequence[str] = (),
        connect_timeout: float = 3.0,
        read_timeout: float = 60.0,
        connect_retries: int = 2,
        retry_backoff: float = 0.2,
        spec_metrics: bool = True,
        server_strategy: str | None = None,
        extra_body: dict[str, Any] | None = None,
        deadlines: dict[str, Deadlines] | None = None,
        breaker_cooldown: float = 30.0,
        discover_timeout: float = 15.0,
    ) -> None:
        if isinstance(endpoints, str):
            endpoints = [endpoints]
        if not endpoints:
            raise ValueError("OpenAIEngine needs at least one endpoint URL")
        self.endpoints = [normalize_endpoint(e) for e in endpoints]
        self.api_key = api_key
        self.model = model
        #: The chosen FIM template's tokens (markers, stops), reported in `info`.
        self.fim_tokens = [t for t in fim_tokens if t]
        #: Token strings to look up on the server when there is no local tokenizer.
        self.probe_tokens = list(dict.fromkeys(t for t in probe_tokens if t))
        self.timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=10.0, pool=5.0
        )
        self.connect_retries = connect_retries
        self.retry_backoff = retry_backoff
        self.deadlines = {**DEFAULT_DEADLINES, **(deadlines or {})}
        self.breaker = CircuitBreaker(breaker_cooldown)
        #: Bound on model discovery per endpoint (/v1/models and the /tokenize probes).
        self.discover_timeout = discover_timeout
        self.spec_metrics = spec_metrics
        #: Label for `stats.strategy` (e.g. "prompt_lookup" when `tandem serve --ngram` runs it).
        self.server_strategy = server_strategy
        self.extra_body = dict(extra_body or {})
        self._preferred = 0  # index of the endpoint that answered last
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._latest: dict[str, OpenAIGeneration] = {}
        self._has_spec_metrics: dict[str, bool] = {}
        #: /metrics in the background, <= 1/s, only while requests run (never awaited by one)
        self._spec_poller = MetricsPoller(self._read_spec)
        self._probed_specials: list[str] | None = None
        #: A local tokenizer or the server's /tokenize says which tokens exist.
        self._vocab_known = tokenizer_dir is not None
        self._max_context = 4096
        self._tokenizer: Any = None
        if tokenizer_dir is not None:
            self._tokenizer = _load_tokenizer(tokenizer_dir)

    # -- Engine interface ------------------------------------------------------------------

    @property
    def info(self) -> EngineInfo:
        specials: set[str] = set(self._probed_specials or [])
        has_chat = True  # the server renders chat; `tandem serve` always gives it a template
        tok = self._tokenizer
        if tok is not None:
            specials.update(tok.all_special_tokens)
            for t in getattr(tok, "added_tokens_decoder", {}).values():
                specials.add(t.content if hasattr(t, "content") else str(t))
            has_chat = bool(getattr(tok, "chat_template", None)) or has_chat
        if not self._vocab_known:
            # nothing says which tokens the server's vocabulary has: trust the user's template
            # (with a local tokenizer or a /tokenize probe it is checked against the vocabulary)
            specials.update(self.fim_tokens)
        return EngineInfo(
            name="openai",
            model=self.model or "",
            special_tokens=sorted(specials),
            has_chat_template=has_chat,
            max_context_tokens=self._max_context,
        )

    def count_tokens(self, text: str) -> int:
        """Exact with a local tokenizer; otherwise ceil(UTF-8 bytes / 3), a slight over-count."""
        if self._tokenizer is not None:
            return len(self._tokenizer.encode(text, add_special_tokens=False))
        return math.ceil(len(text.encode("utf-8")) / APPROX_BYTES_PER_TOKEN)

    def start(self, request: GenerationRequest) -> Generation:
        gen = OpenAIGeneration(self, request)
        if request.cache_key is not None:
            older = self._latest.get(request.cache_key)
            if older is not None:
                older.cancel()  # only the newest request per document runs
            self._latest[request.cache_key] = gen
            gen._task.add_done_callback(lambda _t, k=request.cache_key: self._forget(k, gen))
        return gen

    def _forget(self, key: str, gen: OpenAIGeneration) -> None:
        if self._latest.get(key) is gen:
            del self._latest[key]

    async def close(self) -> None:
        for g in list(self._latest.values()):
            g.cancel()
        await self._spec_poller.close()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- discovery ---------------------------------------------------------------------------

    async def connect(self, endpoint_timeout: float | None = None) -> EngineInfo:
        """Discover the model name, context length and special tokens; returns `info`.
        Each endpoint gets `endpoint_timeout` (default `discover_timeout`) seconds."""
        bound = self.discover_timeout if endpoint_timeout is None else endpoint_timeout

        async def bounded(base: str) -> None:  # a hung server must not stall failover
            async with asyncio.timeout(bound):
                await self._discover(base)

        await self._with_failover(bounded)
        return self.info

    async def ready(self) -> EngineInfo:
        """`info` once it is complete: probes the server first when nothing has yet (the LSP
        decides the FIM template from it, so it must not look before the probe)."""
        if self.model is None or (self._tokenizer is None and self._probed_specials is None):
            await self.connect()
        return self.info

    def connect_blocking(self) -> EngineInfo:
        """`connect()` for code without a running event loop (e.g. a worker thread that builds
        engines). Raises `EngineError` when no server answers; requests retry discovery later."""

        async def run() -> EngineInfo:
            try:
                return await self.connect()
            finally:  # this loop ends here: do not keep a client bound to it
                if self._client is not None:
                    await self._client.aclose()
                    self._client = None

        return asyncio.run(run())

    async def _discover(self, base: str) -> None:
        client = self._http()
        resp = await client.get(f"{base}/v1/models", headers=self._headers())
        if resp.status_code >= 500 or resp.status_code == 429:
            raise _TryNext(str(_http_error(base, resp.status_code, resp.content)))
        if resp.status_code >= 400:
            raise _http_error(base, resp.status_code, resp.content)
        try:
            resp.json()
        except ValueError:
            raise _TryNext(f"{base} answered /v1/models with no JSON") from None
        models = resp.json().get("data") or []
        if not models:
            raise EngineError(f"inference server {base} serves no models (/v1/models is empty)")
        chosen = models[0]
        if self.model is None:
            self.model = str(chosen.get("id"))
        else:
            chosen = next((m for m in models if m.get("id") == self.model), {})
            if not chosen:  # maybe an alias a proxy understands; the request will tell
                names = ", ".join(str(m.get("id")) for m in models)
                log.warning("%s lists no model %r (it has: %s)", base, self.model, names)
        if isinstance(chosen.get("max_model_len"), int):
            self._max_context = chosen["max_model_len"]
        if self._tokenizer is None and self._probed_specials is None:
            self._probed_specials = await self._probe_specials(base)

    async def _probe_specials(self, base: str) -> list[str]:
        client = self._http()

        async def one(token: str) -> tuple[str, int, int]:
            resp = await client.post(
                f"{base}/tokenize",
                headers=self._headers(),
                json={"model": self.model, "prompt": token, "add_special_tokens": False},
            )
            n = len(resp.json().get("tokens") or []) if resp.status_code == 200 else 0
            return token, resp.status_code, n

        results = await asyncio.gather(*(one(t) for t in self.probe_tokens))
        if any(status == 404 for _, status, _ in results):
            log.info("%s has no /tokenize endpoint: special tokens unknown", base)
        elif results and all(status == 200 for _, status, _ in results):
            self._vocab_known = True
        return [token for token, status, n in results if status == 200 and n == 1]

    # -- HTTP plumbing -----------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop or self._client.is_closed:
            self._client = httpx.AsyncClient(timeout=self.timeout)
            self._client_loop = loop
        return self._client

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def _endpoint_order(self) -> list[int]:
        """Preferred endpoint first; endpoints whose breaker is open are skipped, unless all
        are (then all are tried: one of them may be back)."""
        n = len(self.endpoints)
        order = [(self._preferred + i) % n for i in range(n)]
        healthy = [i for i in order if not self.breaker.is_open(self.endpoints[i])]
        return healthy or order

    async def _with_failover(self, attempt: Callable[[str], Awaitable[T]]) -> T:
        """Run `attempt(base)` on each endpoint in turn until one succeeds.

        Connect errors are retried with backoff on the same endpoint first. Connect errors,
        timeouts, connections lost and `_TryNext` (HTTP 5xx/429, no first token in time) move
        on to the next endpoint and open its breaker; an `EngineError` (HTTP 4xx: the request
        itself is wrong) ends the request at once.
        """
        failures: list[str] = []
        for idx in self._endpoint_order():
            base = self.endpoints[idx]
            for retry in range(self.connect_retries + 1):
                try:
                    result = await attempt(base)
                except _CONNECT_ERRORS as exc:
                    reason = _describe_connect_error(exc)
                    log.info("connect to %s failed (%s), try %d", base, reason, retry + 1)
                    if retry < self.connect_retries:
                        await asyncio.sleep(self.retry_backoff * (2**retry))
                        continue
                    failures.append(f"{base} ({reason})")
                except httpx.TimeoutException:
                    failures.append(
                        f"{base} did not answer within {self.timeout.read:g} s (read timeout)"
                    )
                except TimeoutError:
                    failures.append(f"{base} did not answer in time (overloaded or stuck?)")
                except httpx.TransportError as exc:
                    failures.append(f"{base} ({type(exc).__name__}: {exc or 'connection lost'})")
                except _TryNext as exc:
                    failures.append(str(exc))
                else:
                    self._preferred = idx
                    self.breaker.succeeded(base)
                    return result
                self.breaker.failed(base)
                if len(self.endpoints) > 1:
                    log.warning("inference server %s failed (%s); failing over", base, failures[-1])
                break
        reachable = any("connection refused" not in f and "connect" not in f for f in failures)
        hint = "" if reachable else ". Is it running (`tandem serve --model DIR`)?"
        what = "the inference server failed" if reachable else "cannot reach the inference server"
        raise EngineError(f"{what}: " + "; ".join(failures) + hint)

    async def health_check(self, timeout: float = 10.0) -> EngineInfo:
        """Discovery with a bound: the server status at startup ("ready" only when it answers)."""
        try:
            async with asyncio.timeout(timeout):
                return await self.connect()
        except TimeoutError:
            raise EngineError(
                f"inference server did not answer within {timeout:g} s: {', '.join(self.endpoints)}"
            ) from None

    async def _read_spec(self, base: str) -> SpecCounters | None:
        if not self.spec_metrics or self._has_spec_metrics.get(base) is False:
            return None
        url, headers = f"{base}/metrics", self._headers()
        try:
            try:
                resp = await self._http().get(url, headers=headers, timeout=5.0)
            except _STALE_CONNECTION_ERRORS:  # a kept-alive connection from before a restart
                resp = await self._http().get(url, headers=headers, timeout=5.0)
        except httpx.HTTPError:
            return None
        if resp.status_code != 200:
            self._has_spec_metrics[base] = False
            return None
        counters = SpecCounters.from_metrics_text(resp.text)
        # A server without speculation has no such counters; stop asking it (until it restarts
        # with speculation: a connect failure below clears this memo).
        self._has_spec_metrics[base] = counters.present
        return counters if counters.present else None

    # -- the request ---------------------------------------------------------------------------

    def _body(self, request: GenerationRequest) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.stop:
            # The OpenAI API (and vLLM) accept at most 4 stop strings. Send the 4 shortest (a
            # single-line "\n" ends most often; the model's EOS stops the server anyway) and let
            # the client-side stop stream catch the rest.
            stops = sorted(dict.fromkeys(request.stop), key=len)
            body["stop"] = stops[:MAX_SERVER_STOPS]
        body.update(self.extra_body)
        if request.prompt is not None:
            body["prompt"] = request.prompt
            return "/v1/completions", body
        body["messages"] = request.messages
        return "/v1/chat/completions", body

    async def _stream(
        self,
        request: GenerationRequest,
        stats: GenerationStats,
        started: float,
        on_accepted: Callable[[], None] = lambda: None,
    ) -> AsyncIterator[str]:
        """Yield text deltas; fills `stats`. Raises `EngineError` for anything user-visible."""
        limits = self.deadlines.get(request.kind, DEFAULT_DEADLINES["chat"])
        loop = asyncio.get_running_loop()
        overall_at = loop.time() + limits.total_s
        if self.model is None or (self._tokenizer is None and self._probed_specials is None):
            try:  # once: until it succeeds, every request tries again (within its deadline)
                async with asyncio.timeout_at(overall_at):
                    await self.connect(min(self.discover_timeout, limits.first_token_s))
            except TimeoutError:
                raise EngineError(
                    f"the inference server did not finish model discovery within the "
                    f"{limits.total_s:g} s deadline for {request.kind} requests"
                ) from None
        path, body = self._body(request)
        stats.strategy = self.server_strategy or "plain"
        opened: dict[str, Any] = {}

        async def open_stream(base: str) -> tuple[httpx.Response, AsyncIterator[str], list[str]]:
            """Send the request and read up to the first event with text (or the end), within
            the first-token deadline: until then, any failure may go to the next endpoint."""
            first_at = min(loop.time() + limits.first_token_s, overall_at)
            resp = None
            fresh: list[httpx.AsyncClient] = []  # a one-off client, when the retry needed one
            # Before sending: on an idle server the poller's baseline reading goes out now,
            # ahead of this request's work. Dropped again if this endpoint fails.
            ticket = self._spec_ticket(base, stats)

            async def drop() -> None:
                if resp is not None:
                    await resp.aclose()
                for client in fresh:
                    await client.aclose()
                if ticket is not None:
                    self._spec_poller.abandon(ticket)
                    stats.settle()  # nothing owed from here (another endpoint defers again)

            try:
                async with asyncio.timeout_at(first_at):
                    resp = await self._send(base, path, body, fresh)
                    if resp.status_code >= 400:
                        content = await resp.aread()
                        await resp.aclose()
                        err = _http_error(base, resp.status_code, content)
                        if resp.status_code >= 500 or resp.status_code == 429:
                            raise _TryNext(str(err))
                        raise err
                    on_accepted()  # headers in: the model is working (text may come in bursts)
                    events = iter_sse_data(resp.aiter_lines())
                    head: list[str] = []
                    async for data in events:
                        head.append(data)
                        if data == DONE or _has_output(data):
                            break
                    if head and head[-1] != DONE and (why := _unusable(head[-1])):
                        await resp.aclose()  # nothing was shown yet: another server may do
                        raise _TryNext(f"{base} ({why})")
            except TimeoutError:
                await drop()
                raise _TryNext(
                    f"{base} (no first token within {limits.first_token_s:g} s: "
                    "overloaded or stuck?)"
                ) from None
            except BaseException:  # transport errors, _TryNext, EngineError, cancellation
                await drop()
                raise
            opened.update(base=base, ticket=ticket, fresh=fresh)
            return resp, events, head

        try:
            resp, events, head = await self._with_failover(open_stream)
        except EngineError:
            self._has_spec_metrics.clear()  # the server may come back configured differently
            raise
        base = opened["base"]
        ticket = opened["ticket"]
        stop = StopTextStream(request.stop)
        usage: dict[str, Any] = {}
        finish = ""
        pieces = 0
        full = ""
        complete = False  # saw [DONE], a finish_reason, or stopped on a stop string

        async def all_events() -> AsyncIterator[str]:
            for data in head:
                yield data
            async for data in events:
                yield data

        try:
            async with asyncio.timeout_at(overall_at):
                async for data in all_events():
                    if data == DONE:
                        complete = True
                        break
                    try:
                        event = json.loads(data)
                    except ValueError:
                        raise EngineError(
                            f"inference server {base} sent invalid JSON: {data[:200]}"
                        ) from None
                    if not isinstance(event, dict):
                        raise EngineError(
                            f"inference server {base} sent an unexpected event: {data[:200]}"
                        )
                    if "error" in event or event.get("object") == "error":
                        err = event.get("error", event)
                        msg = err.get("message", err) if isinstance(err, dict) else err
                        raise EngineError(f"inference server {base} failed mid-stream: {msg}")
                    if isinstance(event.get("usage"), dict):
                        usage = event["usage"]
                    choices = event.get("choices")
                    if not isinstance(choices, list):
                        choices = []
                    if choices and not stats.ttft_ms:
                        stats.ttft_ms = (time.perf_counter() - started) * 1000  # first token,
                        # even when it is a special token the server does not show
                    for choice in choices:
                        if not isinstance(choice, dict):
                            continue
                        text = choice.get("text")
                        if text is None:
                            delta = choice.get("delta")
                            text = (delta.get("content") if isinstance(delta, dict) else "") or ""
                        if not isinstance(text, str):
                            text = ""
                        if choice.get("finish_reason"):
                            finish = str(choice["finish_reason"])
                        if not text:
                            continue
                        pieces += 1
                        if ticket is not None:
                            ticket.tokens = pieces  # weighs this request if others overlap
                        full += text
                        delta_text = stop.update(full)
                        if delta_text:
                            yield delta_text
                        if stop.stopped:
                            finish = "stop"
                            break
                    if stop.stopped:
                        complete = True
                        break  # closing the stream below aborts the rest on the server
        except TimeoutError:
            raise EngineError(
                f"inference server {base} did not finish within the {limits.total_s:g} s "
                f"deadline for {request.kind} requests (it may be overloaded or trickling)"
            ) from None
        except httpx.ReadTimeout:
            raise EngineError(
                f"inference server {base} stopped sending for {self.timeout.read:g} s "
                "(read timeout) mid-generation"
            ) from None
        except httpx.TransportError as exc:
            raise EngineError(
                f"lost the connection to inference server {base} mid-generation "
                f"({type(exc).__name__}: {exc or 'closed'}); it may have crashed or restarted"
            ) from None
        finally:
            # answered, failed or cancelled (a completion stopped early): what was generated
            stats.generated_tokens = int(usage.get("completion_tokens") or pieces)
            if ticket is not None:  # its counts come later (stats deferred since the send)
                self._spec_poller.end(ticket, stats.generated_tokens)
            await resp.aclose()
            for client in opened["fresh"]:
                await client.aclose()
        if finish in ("abort", "error"):
            # vLLM ends a request it dropped (engine shutting down or dead, a restart) with
            # finish_reason "abort"; the text so far is not an answer.
            raise EngineError(
                f"inference server {base} aborted the request mid-generation "
                f"(finish_reason {finish!r}); it may be shutting down or restarting"
            )
        if not complete and not finish:
            # A close-delimited body that just ends: the server died (chunked bodies raise above).
            raise EngineError(
                f"lost the connection to inference server {base} mid-generation "
                "(the stream ended without [DONE]); it may have crashed or restarted"
            )
        if not finish:
            # [DONE] with no finish_reason: the server cut this request short. llama-cpp-python's
            # server does it to a running stream when another request arrives (its default
            # `interrupt_requests`); the text so far is not a whole answer.
            raise EngineError(
                f"inference server {base} interrupted the request mid-generation (the stream "
                "ended without a finish_reason, e.g. it started serving another request)"
            )
        tail = stop.flush()
        if tail:
            if not stats.ttft_ms:
                stats.ttft_ms = (time.perf_counter() - started) * 1000
            yield tail
        stats.finish_reason = finish or "stop"
        stats.prompt_tokens = int(usage.get("prompt_tokens") or 0)
        stats.generated_tokens = int(usage.get("completion_tokens") or pieces)
        details = usage.get("prompt_tokens_details") or {}
        stats.prefix_tokens_reused = int(details.get("cached_tokens") or 0)
        stats.target_forward_passes = stats.generated_tokens

    async def _send(
        self, base: str, path: str, body: dict[str, Any], fresh: list[httpx.AsyncClient]
    ) -> httpx.Response:
        """POST `body` and return the streamed response (headers in).

        A failure before any byte of the answer on a pooled keep-alive connection (the server
        crashed, restarted or closed it while idle) is retried once on a fresh connection;
        httpx retries only connect errors. Re-sending a generation is safe, and the error the
        user then sees is the true one ("connection refused" for a server that is down), not
        a ReadError of a socket that died earlier. The one-off client goes into `fresh`; the
        caller closes it with the response.
        """
        client = self._http()
        url, headers = f"{base}{path}", self._headers()
        try:
            return await client.send(
                client.build_request("POST", url, json=body, headers=headers), stream=True
            )
        except _STALE_CONNECTION_ERRORS as exc:
            log.info(
                "%s: %s before any answer (a stale pooled connection?); once more on a fresh "
                "connection", base, type(exc).__name__,
            )  # fmt: skip
        once = httpx.AsyncClient(timeout=self.timeout)
        fresh.append(once)
        return await once.send(
            once.build_request("POST", url, json=body, headers=headers), stream=True
        )

    def _spec_ticket(self, base: str, stats: GenerationStats) -> SpecTicket | None:
        """A claim on `base`'s speculative counters for one request (None when that server has
        none). Its share lands in `stats` after the text, and settles them. The stats are
        deferred from now: a consumer that cancels the generation (a completion stopped early)
        sees its end before this request's task has wound down."""
        if not self.spec_metrics or self._has_spec_metrics.get(base) is False:
            return None
        stats.defer()
        label = self.server_strategy

        def landed(counts: SpecCounters | None) -> None:
            if counts is not None:
                apply_spec_counts(stats, counts, label)
            stats.settle()

        return self._spec_poller.begin(base, landed)


def apply_spec_counts(
    stats: GenerationStats, counts: SpecCounters, server_strategy: str | None = None
) -> None:
    """A request's share of the server's speculative counters, into its stats."""
    stats.drafted_tokens = round(counts.draft_tokens)
    stats.accepted_tokens = min(stats.drafted_tokens, round(counts.accepted_tokens))
    if stats.generated_tokens:
        # Each verification pass yields its accepted tokens plus one of its own.
        stats.target_forward_passes = max(1, stats.generated_tokens - stats.accepted_tokens)
    if counts.drafts >= 0.5 and not server_strategy:
        stats.strategy = "speculative"


def _unusable(data: str) -> str | None:
    """Why a first event cannot start an answer (invalid JSON, an error event), or None."""
    try:
        event = json.loads(data)
    except ValueError:
        return f"sent invalid JSON: {data[:100]}"
    if not isinstance(event, dict):
        return f"sent an unexpected event: {data[:100]}"
    if "error" in event or event.get("object") == "error":
        err = event.get("error", event)
        return f"failed: {err.get('message', err) if isinstance(err, dict) else err}"
    return None


def _has_output(data: str) -> bool:
    """Whether an SSE event carries text or ends the answer (a first token, for the deadline)."""
    try:
        event = json.loads(data)
    except ValueError:
        return True  # let the main loop report it
    if not isinstance(event, dict) or "error" in event:
        return True
    for choice in event.get("choices") or []:
        if not isinstance(choice, dict):
            return True
        delta = choice.get("delta")
        if choice.get("text") or choice.get("finish_reason"):
            return True
        if isinstance(delta, dict) and delta.get("content"):
            return True
    return False


def _describe_connect_error(exc: BaseException) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect timeout"
    seen: BaseException | None = exc
    while seen is not None:  # httpx hides the OS error behind "All connection attempts failed"
        if isinstance(seen, ConnectionRefusedError) or "refused" in str(seen).lower():
            return "connection refused"
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror
        seen = seen.__cause__ or seen.__context__
    return str(exc) or type(exc).__name__


def _http_error(base: str, status: int, content: bytes) -> EngineError:
    return EngineError(f"inference server {base} answered HTTP {status}: {error_text(content)}")


def _load_tokenizer(path: str | Path) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except Exception as exc:  # missing dir, broken files, ...
        raise EngineError(f"cannot load the tokenizer from {path}: {exc}") from exc
