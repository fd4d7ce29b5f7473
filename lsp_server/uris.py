"""One identity for a document URI, whatever form the client spells it in.

Clients encode URIs differently: VS Code on Windows sends `file:///c%3A/src/a.py`, others
`file:///C:/src/a.py`; a space may arrive as `%20` or raw, `é` as `%C3%A9`, `#` as `%23`. pygls
keys its documents by `unquote(uri)`, and a lookup with the raw string then misses: the request
is answered "document is not open". Every lookup of an open document goes through
`document_key`, and everything sent back to the client (edits, progress) uses the URI the
client itself used in `didOpen` (kept on the document), never this key.

The key is for lookups only: it is decoded, so a `#` in a file name is no longer escaped and the
key must never be parsed as a URI again (paths come from the client's URI, see `fs_path`).
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from pygls import uris as pygls_uris

#: "/C:" at the start of a decoded path: a Windows drive letter.
_DRIVE = re.compile(r"^/[A-Za-z]:")


def document_key(uri: str) -> str:
    """The lookup key of `uri`: scheme lower case, every part percent-decoded, a Windows drive
    letter lower case (the same file, however the client encodes it). Path case is kept:
    POSIX file systems are case-sensitive."""
    if not isinstance(uri, str):
        return ""
    try:
        parts = urlsplit(uri)
    except ValueError:  # e.g. an invalid IPv6 netloc: the raw string is its own key
        return uri
    path = unquote(parts.path)
    if _DRIVE.match(path):
        path = path[0] + path[1].lower() + path[2:]
    elif re.match(r"^[A-Za-z]:", path) and parts.scheme.lower() == "file":  # file:C:/x
        path = "/" + path[0].lower() + path[1:]
    key = f"{parts.scheme.lower()}:"
    if parts.netloc or parts.scheme.lower() == "file":
        key += "//" + unquote(parts.netloc).lower().removeprefix("localhost")
    # escaped again where a decoded character would change what the key says: `a%23b.py` is
    # a file, `a#b.py` a file `a` with a fragment
    key += path.replace("%", "%25").replace("?", "%3F").replace("#", "%23")
    if parts.query:
        key += "?" + unquote(parts.query)
    if parts.fragment:
        key += "#" + unquote(parts.fragment)
    return key


def same_document(a: str, b: str) -> bool:
    return document_key(a) == document_key(b)


def fs_path(uri: str) -> str | None:
    """The file-system path of a `file:` URI (decoded, drive letter lower case), else None."""
    if not isinstance(uri, str) or not uri.lower().startswith("file:"):
        return None
    return pygls_uris.to_fs_path(uri)
