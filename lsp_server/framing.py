"""A robust reader for LSP's base protocol (`Content-Length: N` + blank line + N bytes of JSON).

pygls's own reader matches `^Content-Length: (\\d+)\\r\\n$` exactly and reads whatever length
it is told: one lowercase header, LF-only line ends or a wrong length and it never finds a frame
again (the server stays alive but deaf); `Content-Length: 10**15` ends in MemoryError. This one:

* accepts header names in any case and lines ending in LF or CRLF;
* caps a frame at `max_bytes` (64 MiB by default, `--max-message-bytes` /
  `TANDEM_MAX_MESSAGE_BYTES`); a bigger one is skipped without being buffered;
* resynchronizes after garbage, a wrong length or a bad header on the next valid header. A header
  followed by a raw line break can never occur inside a valid JSON body (JSON strings cannot hold
  raw line breaks), so finding one inside a body proves the length was wrong;
* logs one clear line per bad frame and answers undecodable JSON with a Parse error (-32700).

It is transport-agnostic: `serve_frames` pulls bytes from any `read(n)` coroutine (stdin via a
thread, or an asyncio TCP stream).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Awaitable, Callable

log = logging.getLogger("lsp_server.framing")

DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
CHUNK = 64 * 1024
#: Longest header block we accept (real clients send ~60 bytes).
MAX_HEADER_BYTES = 8 * 1024

#: A Content-Length header line, anywhere in the stream (frames follow each other directly).
HEADER = re.compile(rb"content-length[ \t]*:[ \t]*(\d{1,20})[ \t]*\r?\n", re.IGNORECASE)
#: The start of a header name, for "is this maybe a partial header?" when scanning.
_OTHER_HEADER = re.compile(rb"[A-Za-z][A-Za-z0-9-]*[ \t]*:[^\r\n]*\r?\n")
_BLANK = re.compile(rb"\r?\n")


def max_message_bytes_from_env(default: int = DEFAULT_MAX_MESSAGE_BYTES) -> int:
    raw = os.environ.get("TANDEM_MAX_MESSAGE_BYTES", "")
    try:
        value = int(raw)
    except ValueError:
        return default
    return value if value > 0 else default


class FrameReader:
    """Turns a byte stream into message bodies; never raises on bad input, never over-buffers."""

    def __init__(
        self, read: Callable[[int], Awaitable[bytes]], max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    ) -> None:
        self._read = read
        self.max_bytes = max_bytes
        self._buf = bytearray()
        self._eof = False
        #: Counters, for tests and the log.
        self.frames = 0
        self.bad_frames = 0

    async def _fill(self) -> bool:
        """Read one more chunk; False at end of stream."""
        if self._eof:
            return False
        data = await self._read(CHUNK)
        if not data:
            self._eof = True
            return False
        self._buf += data
        return True

    def _bad(self, reason: str) -> None:
        self.bad_frames += 1
        log.warning("bad LSP frame skipped: %s", reason)

    async def _seek_header(self) -> re.Match[bytes] | None:
        """Drop bytes up to the next Content-Length header; None at end of stream."""
        while True:
            m = HEADER.search(self._buf)
            if m is not None:
                if m.start() > 0:
                    junk = bytes(self._buf[: m.start()])
                    if junk.strip():
                        self._bad(f"{len(junk)} bytes of garbage before a header: {junk[:60]!r}")
                    del self._buf[: m.start()]
                return HEADER.match(self._buf)
            # keep a tail that may be the start of a header split across reads
            if len(self._buf) > 256:
                junk = bytes(self._buf[:-256])
                if junk.strip():
                    self._bad(f"{len(junk)} bytes without a Content-Length header: {junk[:60]!r}")
                del self._buf[:-256]
            if not await self._fill():
                if bytes(self._buf).strip():
                    self._bad(f"stream ended inside a header: {bytes(self._buf[:60])!r}")
                return None

    async def next_body(self) -> bytes | None:
        """The next frame's body, or None at end of stream."""
        while True:
            m = await self._seek_header()
            if m is None:
                return None
            length = int(m.group(1))
            pos = m.end()
            # remaining header lines, up to the blank line
            ok = True
            while True:
                while b"\n" not in self._buf[pos:] and len(self._buf) - pos < MAX_HEADER_BYTES:
                    if not await self._fill():
                        return None
                blank = _BLANK.match(self._buf, pos)
                if blank is not None:
                    pos = blank.end()
                    break
                other = HEADER.match(self._buf, pos)
                if other is not None:  # a repeated Content-Length: the last one wins
                    length = int(other.group(1))
                    pos = other.end()
                    continue
                other = _OTHER_HEADER.match(self._buf, pos)
                if other is None or other.end() - m.start() > MAX_HEADER_BYTES:
                    line = bytes(self._buf[pos : pos + 60])
                    self._bad(f"malformed header line {line!r}")
                    ok = False
                    break
                pos = other.end()
            if not ok:
                del self._buf[: m.end()]  # resync on a header after this one
                continue
            if length > self.max_bytes:
                self._bad(
                    f"Content-Length {length} exceeds the {self.max_bytes}-byte limit "
                    "(TANDEM_MAX_MESSAGE_BYTES); skipping to the next header"
                )
                del self._buf[:pos]
                continue
            del self._buf[:pos]
            # the body: stop early if a header shows up inside it (the length was too long)
            checked = 0
            wrong = None
            while len(self._buf) < length:
                wrong = HEADER.search(self._buf, max(0, checked - 40), length)
                if wrong is not None:
                    break
                checked = len(self._buf)
                if not await self._fill():
                    if self._buf.strip():
                        self._bad(f"stream ended {length - len(self._buf)} bytes short of a body")
                    return None
            if wrong is None:
                wrong = HEADER.search(self._buf, 0, length)
            if wrong is not None:
                # The length was too long: the message is what comes before the next header
                # (it is decoded as usual; if it is not JSON, it gets a parse error).
                self._bad(
                    f"Content-Length {length} is wrong: the next header starts at byte "
                    f"{wrong.start()} of the body; resynchronizing there"
                )
                body = bytes(self._buf[: wrong.start()])
                del self._buf[: wrong.start()]
                if body.strip():
                    self.frames += 1
                    return body
                continue
            body = bytes(self._buf[:length])
            del self._buf[:length]
            self.frames += 1
            return body


def decode_body(body: bytes, structure: Callable[[object], object]) -> tuple[object | None, str]:
    """(message, "") or (None, reason) for a body that is not JSON in UTF-8.

    `structure` sees the top-level value only. (pygls passes it to `json.loads` as the
    `object_hook`, which calls it on every nested object too: a request-shaped object inside
    `arguments` or `initializationOptions` was then treated as a message of its own and
    answered, under an id the client never sent.)"""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"body is not UTF-8 ({exc})"
    try:
        data = json.loads(text)
    except RecursionError:
        return None, "JSON nested too deeply"
    except ValueError as exc:
        return None, f"body is not valid JSON ({exc})"
    return structure(data), ""
