"""Endpoint URLs as shown to people: credentials never appear in a log line, status or error.

A user may write the server's credentials into the URL (`http://user:pw@host:8000`). They are
needed for the requests (HTTP basic auth) and nowhere else: `split_userinfo` takes them out of
the URL once, so every message built from the URL is clean by construction, and `redact_url`
masks them in any text that still quotes a raw setting.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

#: scheme://userinfo@ : the userinfo part (RFC 3986: no "/", "?", "#" or "@" inside it).
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^/?#@\s]*)@")


def split_userinfo(url: str) -> tuple[str, tuple[str, str] | None]:
    """(`url` without its userinfo, (user, password) percent-decoded, or None if it had none)."""
    m = _USERINFO.match(url.strip())
    if m is None:
        return url, None
    user, _, password = m.group("info").partition(":")
    clean = m.group("scheme") + url.strip()[m.end() :]
    return clean, (unquote(user), unquote(password))


def redact_url(text: str) -> str:
    """`text` with the userinfo of every URL in it replaced by `***`."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}***@", text)
