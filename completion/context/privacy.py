"""What may reach a model: never secret files, never git-ignored or out-of-workspace context,
never a high-confidence token.

A prompt may go to a remote server (the OpenAI-compatible engine) and is logged; quoting an open
`.env` or private key there would leak it. Three layers, all pure functions here so completion
and CodeChat share them:

* `refusal_reason`: the document being edited is a secret (by name, folder, language id or
  content such as a private key or a service-account JSON) or matches the user's `excludeGlobs`:
  no completion and no CodeChat there at all;
* `may_quote`: another open document may be quoted as context only when it is no secret, not
  excluded, not git-ignored, and inside the workspace;
* `redact_secrets`: tokens that are secrets wherever they appear (AWS keys, GitHub/GitLab/Slack/
  Stripe/OpenAI/Google tokens, private-key blocks) are masked, length for length, in every text
  that goes into a prompt, so positions computed over the text stay valid.

`.gitignore` rules are applied the way git reads them (per directory, last match wins, `!`
re-includes, a directory rule hides everything in it).
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

# Token redaction lives in textkit (CodeChat masks with it too); re-exported for completion.
from textkit.secrets import SECRET_TOKENS, SecretToken, redact_secrets, secret_spans

__all__ = ["SECRET_TOKENS", "SecretToken", "redact_secrets", "secret_spans"]

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
    "secret.yaml",
    "secret.yml",
    "secret.json",
    "secret.toml",
    "*.secret",
    "*.secrets",
    ".envrc",
    ".pgpass",
    ".my.cnf",
    ".s3cfg",
    ".boto",
    ".vault-token",
    "*.tfvars",
    "*.tfvars.json",
    "*.tfstate",
    "*.tfstate.backup",
    "kubeconfig",
    "*.kubeconfig",
    "kubeconfig.*",
    "service-account*.json",
    "service_account*.json",
    "*serviceaccount*.json",
    "*-sa-key.json",
    "*.ovpn",
    "*.gpg",
    "*.asc",
)
#: Directories whose files are all secret.
SECRET_DIRS = (".ssh", ".aws", ".gnupg", ".docker", ".kube", ".password-store", ".vault")
SECRET_LANGUAGE_IDS = ("dotenv", "properties-secret")

#: Contents that make a whole file secret, whatever its name.
#: (a literal the content must hold, the pattern): the literal is a fast check that rules out
#: nearly every document before a regex runs.
_SECRET_CONTENT = (
    ("PRIVATE KEY", re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")),
    ("service_account", re.compile(r'"type"\s*:\s*"service_account"')),  # Google key file
    ("client-key-data", re.compile(r"(?m)^\s*client-key-data\s*:")),  # kubeconfig client key
)


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


@lru_cache(maxsize=32)
def is_secret_content(text: str) -> bool:
    """True when the text itself shows a secret file (a private key, a service-account key).
    Remembered per text: every completion asks it of every open document (a scan of up to
    200 kB each), and a document version's text is one string object, hashed once."""
    head = text[:200_000]
    return any(needle in head and p.search(head) for needle, p in _SECRET_CONTENT)


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


def _relative(path: str, workspace_root: str | None) -> str | None:
    """`path` relative to the workspace ('/'-separated), or None when outside it."""
    if not workspace_root:
        return None
    try:
        rel = Path(path).resolve().relative_to(Path(workspace_root).resolve())
    except (ValueError, OSError, RuntimeError):
        return None
    return rel.as_posix()


def excluded(
    uri: str, exclude_globs: tuple[str, ...] | list[str], workspace_root: str | None
) -> bool:
    """True when the user's `excludeGlobs` (gitignore syntax) match the document's path:
    workspace-relative inside the workspace, else the bare file name and the full path."""
    if not exclude_globs:
        return False
    path = uri_to_path(uri) or urlparse(uri).path or uri
    path = path.replace("\\", "/")
    rules = parse_gitignore("\n".join(g for g in exclude_globs if isinstance(g, str)))
    rel = _relative(path, workspace_root)
    candidates = [rel] if rel else [path.lstrip("/"), PurePosixPath(path).name]
    for cand in candidates:
        parts = cand.split("/")
        verdict = False
        for rule in rules:
            # a rule matches the path itself or any folder above it
            for depth in range(1, len(parts) + 1):
                if rule.dir_only and depth == len(parts):
                    continue
                if rule.regex.match("/".join(parts[:depth])):
                    verdict = not rule.negate
                    break
        if verdict:
            return True
    return False


def refusal_reason(
    uri: str,
    language_id: str = "",
    text: str = "",
    workspace_root: str | None = None,
    exclude_globs: tuple[str, ...] | list[str] = (),
) -> str | None:
    """Why no model may see this document at all (completion or CodeChat), or None.

    The one check both features call for the document being edited; quiet by design (the
    caller shows it as a status, not an error popup)."""
    name = PurePosixPath((uri_to_path(uri) or urlparse(uri).path or uri).replace("\\", "/")).name
    if is_secret(uri, language_id):
        return f"{name or uri} looks like a secrets file: Tandem does not send it to the model"
    if text and is_secret_content(text):
        return f"{name or uri} holds a private key or credentials: Tandem does not send it"
    if excluded(uri, exclude_globs, workspace_root):
        return f"{name or uri} matches tandem.excludeGlobs: Tandem does not send it"
    return None


def may_quote(
    uri: str,
    language_id: str = "",
    workspace_root: str | None = None,
    exclude_globs: tuple[str, ...] | list[str] = (),
    text: str = "",
) -> bool:
    """True when another document may appear in a prompt as context.

    With a workspace root, only files inside it (symlinks resolved) and not git-ignored; without
    one (a client that opened no folder) the rules are unknown and only the secret checks apply.
    Non-file documents (untitled:) are the user's own buffers and may be quoted."""
    if refusal_reason(uri, language_id, text, workspace_root, exclude_globs):
        return False
    path = uri_to_path(uri)
    if workspace_root and path:
        if _relative(path, workspace_root) is None:
            return False  # outside the workspace
        if GitIgnore(workspace_root).ignored(path):
            return False
    return True
