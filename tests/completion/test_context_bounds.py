"""One huge document open never slows the others (issue 26, defect 7): cross-file context reads
a bounded prefix of each document, never quotes or looks up over-long lines, and remembers its
windows per document version. Measured as work counted (characters scanned for identifiers,
characters tokenized, lookup text), not time."""

from __future__ import annotations

import pytest

from completion import CompletionContext
from completion.context import snippets
from completion.context.snippets import MAX_DOC_CHARS, MAX_LINE_CHARS, context_note
from completion.pipeline import prepare
from completion.templates import template_by_name
from completion.types import OpenDocument

HERE = "total = 0\n\n\ndef add_total_value(a, b):\n    total = a + b\n"
NEIGHBOUR = "def add_total_value(a, b):\n    total = a + b\n    return total\n"
_IDENTIFIERS = snippets.identifiers
_QUERY = snippets.query_text(HERE)


class Work:
    """Counts the characters of documents scanned for identifiers (the query aside) and the
    characters tokenized."""

    def __init__(self, monkeypatch) -> None:
        self.scanned = self.tokenized = 0

        def counted(text: str) -> frozenset[str]:
            if text != _QUERY:
                self.scanned += len(text)
            return _IDENTIFIERS(text)

        monkeypatch.setattr(snippets, "identifiers", counted)
        snippets._windows.cache_clear()
        snippets.context_lines.cache_clear()

    def count_tokens(self, text: str) -> int:
        self.tokenized += len(text)
        return len(text) // 4 + 1


def _plan(work: Work, others: list[OpenDocument]):
    ctx = CompletionContext("file:///w/main.py", "python", HERE, 5, 0, other_documents=others)
    return prepare(ctx, template_by_name("starcoder2"), work.count_tokens, workspace_root="/w")


@pytest.mark.parametrize("size", [900_000, 6_000_000])
def test_a_huge_one_line_document_adds_no_work_to_other_files(monkeypatch, size):
    small = [OpenDocument("file:///w/util.py", "python", NEIGHBOUR)]
    base = Work(monkeypatch)
    _plan(base, small)
    line = "VALUES = [" + "add_total_value, " * (size // 17) + "]\n"  # shares the identifiers
    with_huge = Work(monkeypatch)
    plan = _plan(with_huge, [OpenDocument("file:///w/huge.py", "python", line), *small])
    assert with_huge.scanned == base.scanned  # the huge line is never scanned
    assert with_huge.tokenized == base.tokenized  # nor tokenized for the prompt
    assert "VALUES" not in plan.prompt and "VALUES" not in plan.lookup_text
    assert "util.py" in plan.prompt  # the ordinary neighbour is still quoted
    assert context_note(line).startswith(f"1 line over {MAX_LINE_CHARS} characters")


def test_a_huge_many_line_document_is_read_only_up_to_the_bound(monkeypatch):
    big = "".join(f"def add_total_value_{i}(a, b):\n    return a + b\n" for i in range(60_000))
    work = Work(monkeypatch)
    plan = _plan(work, [OpenDocument("file:///w/big.py", "python", big)])
    assert len(big) > 10 * MAX_DOC_CHARS
    assert work.scanned <= 2 * MAX_DOC_CHARS  # windows overlap by half: each line twice at most
    assert len(plan.lookup_text) <= MAX_DOC_CHARS
    assert context_note(big) == f"everything past its first {MAX_DOC_CHARS} characters"
    assert context_note(NEIGHBOUR) is None


def test_windows_are_computed_once_per_document_version(monkeypatch):
    work = Work(monkeypatch)
    others = [OpenDocument("file:///w/util.py", "python", NEIGHBOUR * 50)]
    _plan(work, others)
    first = work.scanned
    for _ in range(3):  # three more keystrokes: nothing of the neighbour is scanned again
        _plan(work, others)
    assert first > 0 and work.scanned == first
