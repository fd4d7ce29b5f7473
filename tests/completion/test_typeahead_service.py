"""Typeahead: the rest of the suggestion while the user types it, with no engine call."""

from __future__ import annotations

from collections.abc import AsyncIterator

from cmpl_helpers import ctx_at_marker

from completion.service import CompletionOptions, CompletionService, complete
from completion.templates import template_by_name
from completion.typeahead import TypeaheadCache
from inference.base import Engine, EngineInfo, Generation, GenerationRequest


def test_lookup_returns_the_rest_while_typed_text_matches():
    c = TypeaheadCache()
    c.remember("a", "x = ", "compute(1)")
    assert c.lookup("a", "x = ") is None  # nothing typed: the editor asked again, generate
    assert c.lookup("a", "x = comp") == "ute(1)"
    assert c.lookup("a", "x = compute(1") == ")"
    assert c.lookup("a", "x = compute(1)") is None  # typed all of it
    assert c.lookup("a", "x = compx") is None  # diverged
    assert c.lookup("a", "y = comp") is None  # a different prefix altogether
    assert c.lookup("b", "x = comp") is None  # another document


def test_remember_replaces_and_capacity_drops_least_recent():
    c = TypeaheadCache(capacity=2)
    c.remember("a", "p", "one")
    c.remember("b", "p", "two")
    assert c.lookup("a", "po") == "ne"  # a is now the most recent
    c.remember("c", "p", "three")
    assert c.lookup("b", "pt") is None and c.lookup("a", "po") == "ne"
    c.remember("a", "q", "four")
    assert c.lookup("a", "po") is None and c.lookup("a", "qf") == "our"
    c.remember("a", "q", "")  # an empty suggestion forgets
    assert c.lookup("a", "qf") is None


class _Gen(Generation):
    def __init__(self, text: str) -> None:
        super().__init__("fake")
        self._text = text

    async def __aiter__(self) -> AsyncIterator[str]:  # type: ignore[override]
        yield self._text

    def cancel(self) -> None:
        pass


class CountingEngine(Engine):
    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.calls: list[GenerationRequest] = []

    @property
    def info(self) -> EngineInfo:
        return EngineInfo("fake", "fake", special_tokens=["<fim_prefix>", "<file_sep>"])

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def start(self, request: GenerationRequest) -> Generation:
        self.calls.append(request)
        return _Gen(self.answer)


async def test_typing_into_a_suggestion_makes_no_engine_calls():
    engine = CountingEngine("total(values)\n")
    service = CompletionService()
    opts = CompletionOptions(debounce=False)

    async def get_engine():
        return engine

    doc = "def total(xs):\n    return sum(xs)\n\nresult = █\n"
    first = await service.request(ctx_at_marker(doc), get_engine, opts)
    assert first.text == "total(values)" and not first.from_typeahead
    assert len(engine.calls) == 1
    req = engine.calls[0]
    # at the end of a line the mid-line policy allows more lines (while the statement is open):
    # no "\n" stop, the suggestion ends where the statement does
    assert req.kind == "fim" and req.cache_key == "file:///ws/main.py" and "\n" not in req.stop
    assert req.prompt.startswith(template_by_name("tandem-demo").prefix)

    for typed in ["t", "to", "tot", "total(", "total(val"]:
        ctx = ctx_at_marker(doc.replace("█", typed + "█"))
        res = await service.request(ctx, get_engine, opts)
        assert res.from_typeahead and res.text == "total(values)"[len(typed) :]
    assert len(engine.calls) == 1  # zero engine calls while typing along

    ctx = ctx_at_marker(doc.replace("█", "tx█"))
    diverged = await service.request(ctx, get_engine, opts)
    assert not diverged.from_typeahead and len(engine.calls) == 2


async def test_without_the_service_every_request_hits_the_engine():
    engine = CountingEngine("1\n")
    for _ in range(3):
        await complete(ctx_at_marker("x = █\n"), engine)
    assert len(engine.calls) == 3
