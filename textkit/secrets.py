"""Tokens that are secrets wherever they appear, and masking them length for length.

Shared by completion (`completion.context.privacy` re-exports it) and CodeChat, which may not
import each other: both mask the same tokens the same way. Pure and dependency-free.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class SecretToken:
    """A token that is a secret wherever it appears.

    Found fast: the regex engine scans quickly only for a pattern that starts with a literal; a
    leading `\\b`, a character class or `(?i)` makes it try every position (5-9 ms each on a
    360 kB document, 70 ms in all, on every completion request). So `anchor` is a literal-led
    regex found first, the token starts `back` characters before it, and `pattern` is matched
    there; `boundary` (the token does not continue a word, what a leading `\\b` says) is checked
    in code. Only the `secret` group is masked when the pattern has one.
    """

    name: str
    pattern: re.Pattern[str]
    boundary: bool = True
    anchor: re.Pattern[str] | None = None
    back: int = 0
    #: May span lines: searched in the whole text, not line-aligned chunk by chunk.
    multiline: bool = False


#: Tokens that are secrets wherever they appear (few false positives: fixed prefixes + lengths).
SECRET_TOKENS: tuple[SecretToken, ...] = (
    SecretToken(
        "private key",
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----[\s\S]*?"
            r"(?:-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|\Z)"
        ),
        boundary=False,
        multiline=True,
    ),
    SecretToken("AWS access key id", re.compile(r"(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b")),
    SecretToken(
        "AWS secret key",  # the value only: `aws_secret_access_key = ` stays readable
        re.compile(
            r"(?i)aws_secret_access_key\s*[\"']?\s*[=:]\s*[\"']?"
            r"(?P<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
        boundary=False,
        anchor=re.compile(r"_(?i:secret_access_key)"),
        back=3,
        multiline=True,  # `\s*` between the name and the value may hold a line break
    ),
    SecretToken(
        "GitHub token",
        re.compile(r"(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
    ),
    SecretToken("GitLab token", re.compile(r"glpat-[A-Za-z0-9_-]{20,}")),
    SecretToken("Slack token", re.compile(r"xox[abposr]-[A-Za-z0-9-]{10,}")),
    SecretToken(
        "Stripe key",
        re.compile(r"[rs]k_live_[0-9A-Za-z]{20,}"),
        anchor=re.compile(r"k_live_"),
        back=1,
    ),
    SecretToken("OpenAI key", re.compile(r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}")),
    SecretToken("Google API key", re.compile(r"AIza[0-9A-Za-z_-]{35}")),
)
_WORD_CHAR = re.compile(r"\w")


def redact_secrets(text: str) -> tuple[str, int]:
    """`text` with every high-confidence token masked by '*' (line breaks kept, so the length
    and every position stay the same); plus how many were masked.

    Every completion request redacts the whole document, so the result is remembered for the
    last few texts: a second request on an unchanged document (a manual trigger, a retry, the
    other completion kind) costs a dictionary lookup."""
    if not text:
        return text, 0
    return _redact(text)


#: Line-aligned chunks of about this many characters are redacted (and remembered) one by one.
_CHUNK = 16_384


@lru_cache(maxsize=4)
def _redact(text: str) -> tuple[str, int]:
    spans = _spans(text)
    if not spans:
        return text, 0
    chars = list(text)
    for start, end in spans:
        for i in range(start, end):
            if chars[i] not in "\r\n":
                chars[i] = "*"
    return "".join(chars), len(spans)


def secret_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Where `redact_secrets` masks: (start, end) of each secret, in text order."""
    return _spans(text) if text else ()


@lru_cache(maxsize=4)
def _spans(text: str) -> tuple[tuple[int, int], ...]:
    """A keystroke changes one chunk of a big document: the other chunks' spans are remembered
    (`_chunk_spans`), so redacting a 360 kB document again costs well under a millisecond.
    Chunks end right after a line break, where no single-line token can continue, and start at
    the first line break after a multiple of `_CHUNK`, so an edit rarely moves a boundary."""
    spans = [span for token in SECRET_TOKENS if token.multiline for span in _find(token, text)]
    pos = 0
    while pos < len(text):
        cut = text.find("\n", pos + _CHUNK)
        end = len(text) if cut < 0 else cut + 1
        spans += [(pos + s, pos + e) for s, e in _chunk_spans(text[pos:end])]
        pos = end
    return tuple(sorted(spans))


@lru_cache(maxsize=2048)
def _chunk_spans(chunk: str) -> tuple[tuple[int, int], ...]:
    return tuple(
        span for token in SECRET_TOKENS if not token.multiline for span in _find(token, chunk)
    )


def _find(token: SecretToken, text: str) -> list[tuple[int, int]]:
    """Spans to mask for one kind of token (see `SecretToken` for the anchor and boundary)."""
    out: list[tuple[int, int]] = []
    anchor = token.anchor or token.pattern
    # a token starts `back` characters before its anchor, and not before the last one ended
    pos = token.back
    while (hit := anchor.search(text, pos)) is not None:
        start = hit.start() - token.back
        m = token.pattern.match(text, start)
        if m is None or (token.boundary and start > 0 and _WORD_CHAR.match(text, start - 1)):
            pos = hit.start() + 1  # not a token here: look again one further on
            continue
        out.append(m.span("secret") if "secret" in token.pattern.groupindex else m.span())
        pos = m.end() + token.back
    return out
