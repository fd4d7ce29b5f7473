"""Postprocessing on the stream: stop generating once the completion is known to be over.

The filters cut what a model writes past the end of the middle: the block ends at a lower
indentation, the output runs into the suffix, or it starts repeating. Waiting for the model to
reach `max_tokens` or an EOS only to throw that text away costs decode time, so the stream is
watched: at every completed line the text so far goes through the same `postprocess` (without
the syntax cut, which moves while an answer is incomplete); once its result has stopped
changing while the model kept writing lines that are cut (`SETTLE_LINES` complete non-blank
lines past the kept text, the same result at each of them; one line mid-line), the generation
is cancelled. Mid-line it stops sooner: the complete line that closes the cursor line's
statement ends the suggestion whatever follows (`block_end.statement_closed`), so its newline
is enough. The kept text is then the same text full postprocessing of the
longer output gives (the cut filters look back, not forward; the property tests check this).

Single-line suggestions stop at the first newline already (a stop string), so only multi-line
modes are watched.
"""

from __future__ import annotations

from dataclasses import dataclass

from completion.cursor import Cursor
from completion.postprocess import block_end, postprocess, prefix_overrun, stop_strings
from inference.base import Generation, GenerationCancelled
from textkit.repetition import find_loop

#: Complete non-blank lines past the kept text, with the same kept text at each, before the
#: stream is cut: one line alone may still turn out to be part of the answer.
SETTLE_LINES = 2


@dataclass
class StreamWatch:
    """Feeds on the raw text as it grows; `over` says when the rest cannot change the result."""

    cur: Cursor
    _checked_lines: int = 0
    _kept: str | None = None
    _same: int = 0

    def over(self, raw: str) -> bool:
        if not self.cur.multiline:
            return False
        text = stop_strings.apply(raw, self.cur)
        if len(text) < len(raw.replace("\r\n", "\n")):
            return True  # a stop string arrived (some backends do not stop there themselves)
        complete = text[: text.rfind("\n") + 1]
        lines = complete.count("\n")
        if lines == self._checked_lines:
            return False
        self._checked_lines = lines
        if prefix_overrun.cut_index(complete, self.cur) is not None:
            return True  # prefix mode: the line that ends the suggestion has arrived
        if block_end.statement_closed(complete, self.cur):
            return True  # mid-line: a complete line closed the statement; the rest is cut
        # the syntax cut is left out: a partial answer parses worse than the whole one, so
        # where it cuts moves as lines arrive; the block end, the suffix and repetition do not
        kept = postprocess(complete, self.cur, skip=("syntax_truncate",))
        past = _nonblank(complete) - _nonblank(kept)
        if kept == self._kept and past >= 1:
            self._same += 1
        else:
            self._same = 0
        self._kept = kept
        settle = 1 if self.cur.mode == "inline" else SETTLE_LINES
        return past >= settle and self._same >= settle - 1


def _nonblank(text: str) -> int:
    return sum(1 for x in text.split("\n") if x.strip())


@dataclass
class StreamResult:
    raw: str
    #: True when the watcher cancelled the generation before the engine finished.
    stopped_early: bool = False


async def collect(gen: Generation, cur: Cursor, watch: bool = True) -> StreamResult:
    """The generation's text, cancelled as soon as the completion is over.

    After the cancel the same iterator is read to its end (the engine stops within a decode
    step), so the engine's stats are final; the text that still arrives is not used. A
    cancellation that did not come from here (a newer request won) propagates. A model stuck
    repeating itself (`textkit.repetition`, also within one line, which no newline stop ends)
    is stopped too, its text cut to the first copy.
    """
    watcher = StreamWatch(cur) if watch else None
    raw = ""
    stopped = False
    try:
        async for chunk in gen:
            if stopped:
                continue
            raw += chunk
            loop = None
            if watch and (loop := find_loop(raw)) is not None:
                raw = raw[: loop.keep_until]  # one copy, as the repetition filter keeps
            if loop is not None or (watcher is not None and "\n" in chunk and watcher.over(raw)):
                stopped = True
                gen.cancel()
    except GenerationCancelled:
        if not stopped:
            raise
    return StreamResult(raw, stopped_early=stopped)
