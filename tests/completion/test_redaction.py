"""Secret redaction is fast on big documents and masks exactly what the `\\b` patterns did.

`redact_secrets` runs on the whole document for every completion request. Its patterns check
the word boundary in code rather than with a leading `\\b` (which made the regex engine try every
position: 70 ms on a 360 kB document); this checks the rewrite against the straightforward
patterns on generated text full of near-misses."""

from __future__ import annotations

import random
import re

from completion.context.privacy import redact_secrets

#: The straightforward reference: every pattern as a `\b`-anchored regex.
REFERENCE = (
    (re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----[\s\S]*?"
                r"(?:-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|\Z)"), 0),
    (re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"), 0),
    (re.compile(r"(?i)(?<=aws_secret_access_key)(\s*[\"']?\s*[=:]\s*[\"']?)"
                r"[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"), 1),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"), 0),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), 0),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), 0),
    (re.compile(r"\b[rs]k_live_[0-9A-Za-z]{20,}"), 0),
    (re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}"), 0),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), 0),
)  # fmt: skip


def reference_redact(text: str) -> tuple[str, int]:
    chars, count = list(text), 0
    for pattern, skip_group in REFERENCE:
        for m in pattern.finditer(text):
            start = m.end(1) if skip_group else m.start()
            for i in range(start, m.end()):
                if chars[i] not in "\r\n":
                    chars[i] = "*"
            count += 1
    return "".join(chars), count


PIECES = [
    "AKIA", "ASIA", "ghp_", "gho_", "github_pat_", "glpat-", "xoxb-", "sk_live_", "rk_live_",
    "sk-", "sk-proj-", "AIza", "aws_secret_access_key", "AWS_SECRET_ACCESS_KEY = '", "x", "_",
    "Z9", "ABCDEFGHIJKLMNOP", "abcdefghijklmnopqrstuvwxyz0123456789", "-", "/+=", " ", "\n",
    "\r\n", "é", "'", '"', ": ", "=", "-----BEGIN RSA PRIVATE KEY-----", "MIIbody",
    "-----END RSA PRIVATE KEY-----", "def f(x):\n    return x\n",
]  # fmt: skip


def test_matches_the_reference_patterns_on_generated_near_misses():
    rng = random.Random(7)
    found = 0
    for _ in range(3000):
        text = "".join(rng.choice(PIECES) * rng.choice((1, 1, 1, 2, 3)) for _ in range(40))
        got = redact_secrets(text)
        assert got == reference_redact(text), text
        found += got[1]
    assert found > 500  # the generator does produce tokens, not only misses


def test_a_token_inside_a_word_is_not_masked_but_one_after_it_is():
    token = "ghp_" + "A" * 36
    assert redact_secrets("xghp_" + "A" * 36)[1] == 0
    masked, n = redact_secrets(f"x{token} {token}")
    assert n == 1 and masked.startswith("x" + token + " ****")


def test_a_long_document_redacts_chunk_by_chunk_like_the_whole():
    """Past the chunk size the text is redacted in line-aligned chunks; tokens near every chunk
    boundary, and an edit that shifts the boundaries, give what the whole-text patterns give."""
    rng = random.Random(11)
    lines = []
    while sum(len(x) for x in lines) < 120_000:
        lines.append("".join(rng.choice(PIECES) for _ in range(6)).replace("\n", " ") + "\n")
    text = "".join(lines)
    assert redact_secrets(text) == reference_redact(text)
    edited = text[:20_000] + "ghp_" + "Q" * 40 + "\n" + text[20_000:]
    got = redact_secrets(edited)
    assert got == reference_redact(edited) and got[1] > 50
