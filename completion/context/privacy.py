"""Which other documents may be quoted into a prompt: never secrets, never git-ignored files.

A prompt may go to a remote server (the OpenAI-compatible engine) and is logged; quoting an open
`.env` or private key there would leak it. `.gitignore` rules are applied the way git reads
them (per directory, last match wins, `!` re-includes, a directory rule hides everything in it).
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

#: File names (glob, lower case) that hold secrets.
SECRET_NAMES = (
    ".env",
    ".env.*",
    "*.env",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "credentials",
    "credentials.*",
    "*credentials*.json",
    ".netrc",
    ".npmrc",
    ".pypirc",
    ".git-credentials",
    ".htpasswd",
    "secrets.*",
    "*.secret",
    "*.secrets",
)
#: Directories whose files are all secret.
SECRET_DIRS = (".ssh", ".aws", ".gnupg", ".docker", ".kube")
SECRET_LANGUAGE_IDS = ("dotenv", "properties-secret")


def uri_to_path(uri: str) -> str | None:
    """Filesystem path of a file:// URI (None for untitled: and other schemes)."""
    if uri.startswith("/"):
        return uri
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    path = unquote(parsed.path)
    if re.match(r"^/[A-Za-z]:/", path):  # file:///C:/x on Windows
        path = path[1:]
    return path


def is_secret(uri: str, language_id: str = "") -> bool:
    if language_id.lower() in SECRET_LANGUAGE_IDS:
        return True
    path = uri_to_path(uri) or urlparse(uri).path or uri
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if not parts:
        return False
    name = parts[-1].lower()
    if any(fnmatch.fnmatchcase(name, pat) for pat in SECRET_NAMES):
        return True
    return any(p.lower() in SECRET_DIRS for p in parts[:-1])


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


def _translate(glob: str) -> str:
    """gitignore glob -> regex over a '/'-separated relative path."""
    out, i, n = [], 0, len(glob)
    while i < n:
        c = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("/**", i) and i + 3 == n:
            out.append("/.*")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            j = glob.find("]", i + 2)
            if j == -1:
                out.append(re.escape(c))
                i += 1
            else:
                body = glob[i + 1 : j].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = j + 1
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(glob[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def parse_gitignore(text: str) -> list[_Rule]:
    rules = []
    for raw in text.splitlines():
        line = raw.rstrip("\n\r")
        if not line or line.startswith("#"):
            continue
        # trailing spaces are ignored unless escaped
        line = re.sub(r"(?<!\\)\s+$", "", line)
        negate = line.startswith("!")
        if negate:
            line = line[1:]
        if line.startswith("\\"):
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        body = _translate(line)
        regex = f"^{body}$" if anchored else f"^(?:.*/)?{body}$"
        rules.append(_Rule(re.compile(regex), negate, dir_only))
    return rules


@lru_cache(maxsize=256)
def _rules_for(path: str, mtime_ns: int) -> tuple[_Rule, ...]:
    try:
        return tuple(parse_gitignore(Path(path).read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return ()


def _load(path: Path) -> tuple[_Rule, ...]:
    try:
        st = path.stat()
    except OSError:
        return ()
    return _rules_for(str(path), st.st_mtime_ns)


class GitIgnore:
    """The ignore rules of one workspace (root .gitignore, nested ones, .git/info/exclude)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def _decide(self, rel_parts: tuple[str, ...], is_dir: bool) -> bool | None:
        """Last matching rule over every .gitignore from the root down to the path's folder."""
        verdict: bool | None = None
        sources = [(self.root / ".git" / "info" / "exclude", 0)]
        sources += [
            (self.root.joinpath(*rel_parts[:depth]) / ".gitignore", depth)
            for depth in range(len(rel_parts))
        ]
        for file, depth in sources:
            rel = "/".join(rel_parts[depth:])
            for rule in _load(file):
                if rule.dir_only and not is_dir:
                    continue
                if rule.regex.match(rel):
                    verdict = not rule.negate
        return verdict

    def ignored(self, path: str | os.PathLike[str]) -> bool:
        try:
            rel = Path(path).resolve().relative_to(self.root)
        except ValueError:
            return False  # outside the workspace: not ours to judge
        parts = rel.parts
        if ".git" in parts:
            return True
        # a file inside an ignored directory cannot be re-included (git's rule)
        for i in range(1, len(parts)):
            if self._decide(parts[:i], is_dir=True):
                return True
        return bool(self._decide(parts, is_dir=False))


def may_quote(uri: str, language_id: str = "", workspace_root: str | None = None) -> bool:
    """True when the document may appear in a prompt."""
    if is_secret(uri, language_id):
        return False
    if workspace_root:
        path = uri_to_path(uri)
        if path and GitIgnore(workspace_root).ignored(path):
            return False
    return True
