"""The one small async interface every engine implements: stream tokens, cancel, report stats.

An engine turns a `GenerationRequest` into a `Generation`: an async iterator of text deltas that
can be cancelled at any time and carries `GenerationStats` once it ends. The embedded
(transformers) engine and the OpenAI-compatible HTTP engine both implement it, so `completion/`,
`codechat/` and `lsp_server/` never know which one they talk to.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

#: What the output is for. It drives the speculative strategy: "edit" outputs copy the input
#: (prompt lookup wins), "fim" is short and novel (a draft model, when one pays off).
TaskKind = Literal["fim", "chat", "edit"]

#: Speculative strategies an engine may use. "auto" lets the engine choose and adapt.
Strategy = Literal["auto", "plain", "prompt_lookup", "draft"]


class EngineError(RuntimeError):
    """A failure the user should see as a clear message (backend down, model dir broken, ...)."""


class GenerationCancelled(Exception):
    """Raised from a cancelled `Generation` iterator."""


@dataclass
class GenerationRequest:
    """One generation. Exactly one of `prompt` (raw text) or `messages` (chat) is set."""

    prompt: str | None = None
    messages: list[dict[str, str]] | None = None
    max_tokens: int = 64
    temperature: float = 0.0
    stop: list[str] = field(default_factory=list)
    kind: TaskKind = "fim"
    strategy: Strategy = "auto"
    #: Key of the KV-prefix cache slot (usually the document URI): the next request with the
    #: same key only prefills the tokens after the longest common prefix.
    cache_key: str | None = None
    #: Extra text (open documents) that n-gram prompt lookup may copy from, besides the prompt.
    lookup_text: str = ""

    def __post_init__(self) -> None:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("GenerationRequest needs exactly one of prompt or messages")
        if self.max_tokens < 1:
            raise ValueError("max_tokens must be >= 1")


@dataclass
class GenerationStats:
    """Per-request numbers, shown in the editor's status line and the logs."""

    engine: str = ""
    strategy: str = "plain"
    prompt_tokens: int = 0
    prefix_tokens_reused: int = 0
    generated_tokens: int = 0
    drafted_tokens: int = 0
    accepted_tokens: int = 0
    target_forward_passes: int = 0
    ttft_ms: float = 0.0
    total_ms: float = 0.0
    finish_reason: str = ""  # "stop" | "length" | "cancelled" | "error"
    #: Draft-model work before the first token (its prefill and first draft). It hides inside
    #: TTFT, so the strategy selector adds it back when it charges the draft for a request.
    draft_prefill_ms: float = 0.0
    #: Tokens of the generated text the suggestion kept after postprocessing (set by the
    #: completion service; generated_tokens - kept_tokens is decode work thrown away).
    kept_tokens: int = 0
    #: The completion service cancelled the generation once the suggestion was known to be
    #: over (postprocessing on the stream), before the engine's own stop.
    stopped_early: bool = False

    def __post_init__(self) -> None:
        # Not dataclass fields: to_dict() and comparisons ignore them.
        self._late = False
        self._on_settled: list[Callable[[GenerationStats], None]] = []

    # -- numbers that arrive after the text ------------------------------------------------
    # Some numbers are only known after the text ended: the openai engine learns speculative
    # counts from vLLM's /metrics, read in the background so no request waits for it. The
    # engine calls `defer()` before the text ends and `settle()` once they landed (or never
    # will); readers that care (session numbers, benchmarks) use `on_settled`/`wait_settled`.
    # Engines that know everything at the end never defer: their stats are settled at once.

    @property
    def settled(self) -> bool:
        """False while the engine still owes numbers for a generation whose text has ended."""
        return not self._late

    def defer(self) -> None:
        """Engine side: some numbers will be filled in after the text ends."""
        self._late = True

    def settle(self) -> None:
        """Engine side: the numbers are final; calls the `on_settled` callbacks once."""
        self._late = False
        callbacks, self._on_settled = self._on_settled, []
        for callback in callbacks:
            try:
                callback(self)
            except Exception:  # one reader's bug must not keep the others waiting
                logging.getLogger(__name__).exception("on_settled callback failed")

    def on_settled(self, callback: Callable[[GenerationStats], None]) -> None:
        """Call `callback(stats)` once the numbers are final: now if they are, else from the
        thread that settles them (the event loop for the openai engine)."""
        if self._late:
            self._on_settled.append(callback)
        else:
            callback(self)

    async def wait_settled(self, timeout: float | None = None) -> bool:
        """Wait (up to `timeout` seconds) for late numbers; True when they are final."""
        if not self._late:
            return True
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def wake(_stats: GenerationStats) -> None:
            loop.call_soon_threadsafe(lambda: done.done() or done.set_result(None))

        self.on_settled(wake)
        try:
            await asyncio.wait_for(asyncio.shield(done), timeout)
        except TimeoutError:
            return False
        return True

    @property
    def acceptance_rate(self) -> float:
        return self.accepted_tokens / self.drafted_tokens if self.drafted_tokens else 0.0

    @property
    def tokens_per_second(self) -> float:
        decode_ms = self.total_ms - self.ttft_ms
        if self.generated_tokens <= 1 or decode_ms <= 0:
            return 0.0
        return (self.generated_tokens - 1) / (decode_ms / 1000.0)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["acceptance_rate"] = round(self.acceptance_rate, 4)
        d["tokens_per_second"] = round(self.tokens_per_second, 2)
        d["ttft_ms"] = round(self.ttft_ms, 2)
        d["total_ms"] = round(self.total_ms, 2)
        return d


@dataclass
class EngineInfo:
    """What prompt builders need to know about the model behind an engine."""

    name: str
    model: str
    #: Special tokens of the tokenizer (FIM template detection reads these).
    special_tokens: list[str] = field(default_factory=list)
    has_chat_template: bool = False
    max_context_tokens: int = 4096
    #: Where it runs ("cpu", "cuda:0", or the server URL), for reports.
    device: str = ""
    #: Chat goes to a server that renders the model's chat template itself (an OpenAI-style
    #: `/v1/chat/completions`): CodeChat sends `messages` rather than a rendered prompt.
    chat_endpoint: bool = False


class Generation(abc.ABC):
    """A running generation: iterate for text deltas, `cancel()` to stop, `stats` at the end."""

    #: The server streams the model's reasoning apart from the text (`reasoning_content`): the
    #: text is the answer alone. Set by the engine once it saw such a delta.
    reasoning_apart: bool = False

    def __init__(self, engine: str) -> None:
        self.stats = GenerationStats(engine=engine)
        self._started = time.perf_counter()

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[str]: ...

    @abc.abstractmethod
    def cancel(self) -> None:
        """Stop as soon as possible (the embedded engine: within one decode step)."""

    async def text(self) -> str:
        """Collect the whole output."""
        return "".join([chunk async for chunk in self])


class Engine(abc.ABC):
    """An inference backend. Implementations: `inference.local`, `inference.openai`."""

    @property
    @abc.abstractmethod
    def info(self) -> EngineInfo: ...

    @abc.abstractmethod
    def start(self, request: GenerationRequest) -> Generation:
        """Begin generating; never blocks the event loop."""

    @abc.abstractmethod
    def count_tokens(self, text: str) -> int:
        """Token count with the model's tokenizer (context budgets use it)."""

    def count_tokens_many(self, texts: list[str]) -> list[int]:
        """`count_tokens` of each text; engines with a batch tokenizer do it in one call (the
        completion service counts a whole document's lines once, in the background)."""
        return [self.count_tokens(t) for t in texts]

    def render_chat(self, messages: list[dict[str, str]]) -> str | None:
        """The chat prompt as raw text, if the engine renders it client-side (else None)."""
        return None

    async def ready(self) -> EngineInfo:
        """`info` once it is complete (a remote engine probes its server first)."""
        return self.info

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (threads, HTTP clients)."""


class QueueGeneration(Generation):
    """A `Generation` fed from a worker (thread or task) through an asyncio queue.

    The worker calls `push(text)` / `finish()` / `fail(exc)` thread-safely; `cancelled` is a flag
    the worker polls once per decode step.
    """

    _DONE = object()

    def __init__(self, engine: str, loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(engine)
        self._loop = loop or asyncio.get_running_loop()
        self._queue: asyncio.Queue = asyncio.Queue()
        self.cancelled = False
        self._error: BaseException | None = None

    def _put(self, item: object) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # loop closed (server shutting down): nobody is listening
            pass

    def push(self, text: str) -> None:
        if text:
            self._put(text)

    def finish(self) -> None:
        self._put(self._DONE)

    def fail(self, exc: BaseException) -> None:
        self._error = exc
        self._put(self._DONE)

    def cancel(self) -> None:
        self.cancelled = True

    async def __aiter__(self) -> AsyncIterator[str]:  # type: ignore[override]
        while True:
            item = await self._queue.get()
            if item is self._DONE:
                break
            yield item  # type: ignore[misc]
        if self._error is not None:
            raise self._error
        if self.cancelled:
            raise GenerationCancelled()
