"""Completions end to end, over any `Engine`: typeahead, debounce, newest-wins, prepare,
generate, finalize.

`complete()` is one completion (the infilling benchmark runs it). `CompletionService` owns the
per-document state the editor's requests share, so the LSP server keeps none of its own:

* **typeahead**: while the user types what the last suggestion says, the rest of it, at once;
* **newest wins**: a newer request for the same document supersedes the running one (its
  generation is cancelled within one decode step), and `$/cancelRequest` cancels it too;
* **adaptive debounce** (completion/debounce.py): a request first waits about one typing gap;
  one superseded or cancelled while it waits never reaches the engine.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from completion.context.budget import MemoCounter
from completion.debounce import AdaptiveDebounce, Trigger
from completion.pipeline import cursor_for, prepare, to_edit
from completion.postprocess import postprocess
from completion.postprocess.stream import collect
from completion.templates import CompletionMode, FimTemplate, choose_mode
from completion.typeahead import TypeaheadCache
from completion.types import CompletionContext, Edit, PromptPlan, TokenCounter
from inference.base import Engine, GenerationCancelled, GenerationRequest, GenerationStats
from textkit.lines import lsp_lines

log = logging.getLogger(__name__)


@dataclass
class CompletionResult:
    text: str
    raw: str = ""
    #: The suggestion as an edit of the cursor line (`text` is its text; None from typeahead,
    #: whose text is inserted at the cursor).
    edit: Edit | None = None
    plan: PromptPlan | None = None
    #: True when typeahead answered (no engine call).
    from_typeahead: bool = False
    stats: GenerationStats | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    #: How long the request waited (adaptive debounce) before it went to the engine.
    debounce_ms: float = 0.0
    #: The completion mode and template the prompt was built with (None from typeahead).
    mode: CompletionMode | None = None

    def as_edit(self) -> Edit:
        """The suggestion as an edit (typeahead's rest is an insertion at the cursor)."""
        return self.edit or Edit(self.text, at_cursor=self.text)


async def complete(
    ctx: CompletionContext,
    engine: Engine,
    template: FimTemplate | None = None,
    *,
    max_prompt_tokens: int = 1536,
    max_tokens: int = 64,
    workspace_root: str | None = None,
    temperature: float = 0.0,
    strategy: str = "auto",
    count_tokens: TokenCounter | None = None,
    stream_stop: bool = True,
) -> CompletionResult:
    """One completion, no per-document state (`CompletionService.request` adds it). Raises
    GenerationCancelled when the engine dropped the request (a newer one for the same document
    won); task cancellation cancels the generation too."""
    template = template or choose_mode(engine.info.special_tokens).template
    t0 = time.perf_counter()
    plan = prepare(
        ctx,
        template,
        count_tokens or engine.count_tokens,
        max_prompt_tokens,
        max_tokens,
        workspace_root=workspace_root,
    )
    t1 = time.perf_counter()
    gen = engine.start(
        GenerationRequest(
            prompt=plan.prompt,
            stop=plan.stop,
            max_tokens=plan.max_tokens,
            temperature=temperature,
            kind="fim",
            strategy=strategy,
            cache_key=ctx.uri,
            lookup_text=plan.lookup_text,
        )
    )
    cur = cursor_for(ctx, plan)
    try:
        # cancels the engine once the suggestion is over (stream_stop=False: benchmarks only)
        streamed = await collect(gen, cur, watch=stream_stop)
    except asyncio.CancelledError:
        gen.cancel()  # stop the engine within one decode step, not just the awaiting task
        raise
    raw = streamed.raw
    t2 = time.perf_counter()
    edit = to_edit(postprocess(raw, cur), raw, cur)
    t3 = time.perf_counter()
    gen.stats.kept_tokens = engine.count_tokens(edit.at_cursor) if edit.at_cursor else 0
    gen.stats.stopped_early = streamed.stopped_early
    return CompletionResult(
        edit.text,
        raw=raw,
        edit=edit,
        plan=plan,
        stats=gen.stats,
        timings_ms={
            "prepare": (t1 - t0) * 1000,
            "generate": (t2 - t1) * 1000,
            "finalize": (t3 - t2) * 1000,
        },
    )


@dataclass
class CompletionOptions:
    """Per-request knobs (from the user's settings)."""

    fim_template: str | None = None
    #: "auto" (FIM when the model has FIM tokens, else prefix), "fim" or "prefix".
    prompt_mode: str = "auto"
    max_prompt_tokens: int = 1536
    max_tokens: int = 64
    workspace_root: str | None = None
    temperature: float = 0.0
    strategy: str = "auto"
    #: False: every request goes to the engine at once (no adaptive debounce).
    debounce: bool = True
    #: The user asked explicitly (invoked, not automatic): no debounce.
    manual: bool = False


class Superseded(Exception):
    """A newer request for the same document took over; this one has no answer."""


class CompletionService:
    """The per-document state of completions; one per server.

    `request()` raises `Superseded` when a newer request for the same document took over,
    `asyncio.CancelledError` when its own task was cancelled ($/cancelRequest), and the
    engine's errors (`EngineError`, `UnknownFimTemplate`) as they are.
    """

    def __init__(
        self,
        debounce: AdaptiveDebounce | None = None,
        typeahead: TypeaheadCache | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.debounce = debounce or AdaptiveDebounce()
        self.typeahead = typeahead or TypeaheadCache()
        self._sleep = sleep
        self._inflight: dict[str, asyncio.Task] = {}
        #: Requests that never reached the engine (superseded or cancelled while waiting).
        self.dropped_before_engine = 0
        #: Token counts of lines seen before, for the engine in use: a document's lines are
        #: tokenized once, a keystroke re-counts only the line it changed.
        self._counter: tuple[Engine, MemoCounter] | None = None
        self._primed: set[str] = set()
        self._mode_logged: tuple | None = None

    async def request(
        self,
        ctx: CompletionContext,
        get_engine: Callable[[], Awaitable[Engine]],
        options: CompletionOptions | None = None,
    ) -> CompletionResult:
        options = options or CompletionOptions()
        trigger = Trigger.at(ctx.prefix, ctx.suffix, manual=options.manual)
        wait_ms = self.debounce.on_request(trigger) if options.debounce else 0.0
        rest = self.typeahead.lookup(ctx.uri, ctx.prefix)
        if rest:
            self._cancel(ctx.uri)  # the user typed on: the older generation is outdated
            return CompletionResult(rest, from_typeahead=True)

        self._cancel(ctx.uri)  # only the newest request per document runs
        task = asyncio.ensure_future(self._debounced(ctx, get_engine, options, wait_ms))
        self._inflight[ctx.uri] = task
        try:
            return await task
        except asyncio.CancelledError:
            task.cancel()
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # $/cancelRequest or shutdown
            raise Superseded() from None
        except GenerationCancelled:  # the engine dropped it for a newer one (same cache key)
            raise Superseded() from None
        finally:
            if self._inflight.get(ctx.uri) is task:
                del self._inflight[ctx.uri]

    async def _debounced(
        self,
        ctx: CompletionContext,
        get_engine: Callable[[], Awaitable[Engine]],
        options: CompletionOptions,
        wait_ms: float,
    ) -> CompletionResult:
        if wait_ms > 0:
            try:
                await self._sleep(wait_ms / 1000)
            except asyncio.CancelledError:
                self.dropped_before_engine += 1
                raise
        engine = await get_engine()
        mode = await self.mode(engine, options)
        t0 = time.perf_counter()
        result = await self._complete(ctx, engine, mode, options)
        if result.stats is not None and result.stats.finish_reason in ("stop", "length"):
            self.debounce.on_response((time.perf_counter() - t0) * 1000)
        self.typeahead.remember(ctx.uri, ctx.prefix, result.as_edit().at_cursor)
        result.debounce_ms = wait_ms
        self._prime(ctx, engine)
        return result

    async def alternative(
        self, ctx: CompletionContext, engine: Engine, options: CompletionOptions
    ) -> CompletionResult:
        """One more completion for `ctx`, outside the per-document state (no typeahead, no
        newest-wins, no debounce): the extra candidates a user cycles through. The template,
        prompt budget and token-count memo are the ones `request` uses."""
        return await self._complete(ctx, engine, await self.mode(engine, options), options)

    async def mode(self, engine: Engine, options: CompletionOptions) -> CompletionMode:
        """The completion mode for this engine and these options (raises `UnknownFimTemplate`
        / `TemplateMismatch` for a template that cannot work). Logged once per change."""
        # After the probe: a server-side tokenizer's FIM tokens are only known once it answered.
        info = await engine.ready()
        mode = choose_mode(info.special_tokens, options.fim_template, options.prompt_mode)
        key = (engine, mode)
        if key != self._mode_logged:
            self._mode_logged = key
            log.info("completion mode: %s (%s)", mode.describe(), info.model or info.name)
        return mode

    async def _complete(
        self,
        ctx: CompletionContext,
        engine: Engine,
        mode: CompletionMode,
        options: CompletionOptions,
    ) -> CompletionResult:
        result = await complete(
            ctx,
            engine,
            mode.template,
            max_prompt_tokens=min(
                options.max_prompt_tokens, engine.info.max_context_tokens - options.max_tokens
            ),
            max_tokens=options.max_tokens,
            workspace_root=options.workspace_root,
            temperature=options.temperature,
            strategy=options.strategy,
            count_tokens=self._count_tokens(engine),
        )
        result.mode = mode
        return result

    def _prime(self, ctx: CompletionContext, engine: Engine) -> None:
        """Once per document, count all its lines in the background (one batch call), so the
        budget fitter finds every line's count wherever the cursor goes next; later versions
        only count the lines they change."""
        if ctx.uri in self._primed:
            return
        self._primed.add(ctx.uri)
        counter = self._count_tokens(engine)
        text, count_many = ctx.text, engine.count_tokens_many
        loop = asyncio.get_running_loop()  # the split too runs off the event loop
        fut = loop.run_in_executor(
            None, lambda: counter.prime(lsp_lines(text, keepends=True), count_many)
        )
        fut.add_done_callback(lambda f: f.cancelled() or f.exception())  # never unobserved

    def _count_tokens(self, engine: Engine) -> MemoCounter:
        if self._counter is None or self._counter[0] is not engine:
            self._counter = (engine, MemoCounter(engine.count_tokens))
            self._primed.clear()
        return self._counter[1]

    def _cancel(self, uri: str) -> None:
        previous = self._inflight.pop(uri, None)
        if previous is not None and not previous.done():
            previous.cancel()

    def forget(self, uri: str) -> None:
        """The document closed: cancel its request, drop its suggestion."""
        self._cancel(uri)
        self.typeahead.forget(uri)
        self._primed.discard(uri)

    def cancel_all(self) -> None:
        for uri in list(self._inflight):
            self._cancel(uri)
