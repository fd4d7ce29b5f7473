"""Server-sent events: just enough of the spec to read OpenAI-style streams.

OpenAI-compatible servers (vLLM, llama.cpp, TGI, ...) stream `data: {json}` events separated by
blank lines and end with `data: [DONE]`. We follow the SSE rules that matter in practice: fields
after the first colon (one optional leading space stripped), multi-line `data` joined with "\\n",
comments (`:`) and other fields (`event`, `id`, `retry`) ignored, CRLF tolerated.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

DONE = "[DONE]"


class SSEDecoder:
    """Feed lines (without the newline); get the data of each complete event."""

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> str | None:
        line = line.rstrip("\r")
        if not line:  # blank line: dispatch
            if not self._data:
                return None
            data = "\n".join(self._data)
            self._data = []
            return data
        if line.startswith(":"):
            return None  # comment / keep-alive
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        return None

    def flush(self) -> str | None:
        """End of stream: a final event without its blank line still counts."""
        return self.feed("")


async def iter_sse_data(lines: AsyncIterable[str]) -> AsyncIterator[str]:
    """Yield each event's data string from an async iterator of lines (e.g. `aiter_lines()`)."""
    decoder = SSEDecoder()
    async for line in lines:
        data = decoder.feed(line)
        if data is not None:
            yield data
    data = decoder.flush()
    if data is not None:
        yield data
