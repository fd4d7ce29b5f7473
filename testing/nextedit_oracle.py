"""Stand-ins for next-edit tests and the `tandem bench nextedit` oracle run. Not models.

* `oracle_engine(answers)` answers each request with the text a perfect next-edit model would
  write (the benchmark renders it from the git history's real next hunk, per format): the
  pipeline must then reproduce every target, which shows that the formats, the diffing and
  the early-stop splice are right.
* `rename_engine()` reads the prompt like a model would: it finds the newest edit's renamed
  word and renames it throughout the region. Editor tests use it as the "model" that proposes
  the matching change a few lines away (TANDEM_TEST_ENGINE_FACTORY=testing.nextedit_oracle:
  rename_engine).

Both stream in small pieces, so the early stop and the splice run as with a real model.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from inference.base import GenerationRequest
from nextedit.formats import generic, sweep, zeta
from testing.scripted import ScriptedEngine

#: Characters per streamed piece (a few tokens' worth).
CHUNK = 6


def oracle_engine(answers: dict[str, str]) -> ScriptedEngine:
    """Answers `answers[request.cache_key]` (the benchmark keys them by case)."""

    def respond(req: GenerationRequest) -> str:
        return answers.get(req.cache_key or "", "")

    return ScriptedEngine(respond, chunk=CHUNK)


def _prompt_text(req: GenerationRequest) -> str:
    if req.prompt is not None:
        return req.prompt
    return "\n".join(m.get("content", "") for m in req.messages or [])


def _region_and_diff(text: str) -> tuple[str, list[str], list[str], str] | None:
    """(format, region lines, removed lines, added lines) read back from a prompt."""
    if f"{sweep.FILE_SEP}updated/" in text:
        cur = text.rfind(f"{sweep.FILE_SEP}current/")
        body = text[text.index("\n", cur) + 1 : text.rfind(f"{sweep.FILE_SEP}updated/")]
        region = body[:-1].split("\n") if body.endswith("\n") else body.split("\n")
        at = text.rfind(".diff\noriginal:\n")
        if at == -1:
            return "sweep", region, [], []
        block = text[at + len(".diff\noriginal:\n") : text.index(sweep.FILE_SEP, at)]
        old, _, new = block.partition("\nupdated:\n")
        pairs = [
            (a, b)
            for a, b in zip(old.split("\n"), new.rstrip("\n").split("\n"), strict=False)
            if a != b
        ]
        return "sweep", region, [a for a, _ in pairs], [b for _, b in pairs]
    if zeta.REGION_START in text:
        body = text[text.index(zeta.REGION_START) + len(zeta.REGION_START) + 1 :]
        body = body[: body.index("\n" + zeta.REGION_END)].replace(zeta.CURSOR, "")
        fmt = "zeta"
    else:
        found = re.findall(r"<region>\n(.*?)\n</region>", text, flags=re.S)
        if not found:
            return None
        body = found[-1].replace(generic.CURSOR, "")
        fmt = "generic"
    diffs = re.findall(r"```diff\n(.*?)```", text, flags=re.S)
    # the newest edit: the last file section of the last diff block (one block may list
    # several recent edits, oldest first)
    newest = re.split(r"^--- ", diffs[-1], flags=re.M)[-1] if diffs else ""
    lines = newest.split("\n")
    minus = [x[1:] for x in lines if x.startswith("-") and not x.startswith("---")]
    plus = [x[1:] for x in lines if x.startswith("+") and not x.startswith("+++")]
    return fmt, body.split("\n"), minus, plus


def _rename(old: str, new: str) -> tuple[str, str] | None:
    """The one word `old` → `new` replaced (a parameter rename), if that is what changed."""
    a, b = re.findall(r"\w+|\W", old), re.findall(r"\w+|\W", new)
    ops = [op for op in difflib.SequenceMatcher(None, a, b).get_opcodes() if op[0] != "equal"]
    if len(ops) != 1 or ops[0][0] != "replace":
        return None
    _, i1, i2, j1, j2 = ops[0]
    if i2 - i1 != 1 or j2 - j1 != 1 or not re.fullmatch(r"\w+", a[i1] + b[j1]):
        return None
    return a[i1], b[j1]


def render(fmt: str, lines: list[str], chat: bool = False) -> str:
    if fmt == "sweep":
        return "\n".join(lines) + "\n" + sweep.FILE_SEP
    if fmt == "zeta":
        body = "\n".join(lines)
        return f"```file\n{zeta.REGION_START}\n{body}\n{zeta.REGION_END}\n```"
    return ("<region>\n" if chat else "") + "\n".join(lines) + "\n" + generic.CLOSE


def is_next_edit_prompt(req: GenerationRequest) -> bool:
    """Whether `req` is a next-edit prompt (any of the three formats), not CodeChat's."""
    return req.kind == "edit" and _region_and_diff(_prompt_text(req)) is not None


def rename_responder(req: GenerationRequest) -> str:
    parsed = _region_and_diff(_prompt_text(req))
    if parsed is None:
        return ""
    fmt, region, minus, plus = parsed
    out = list(region)
    for old, new in zip(minus, plus, strict=False):
        pair = _rename(old, new)
        if pair is not None:
            pattern = re.compile(rf"\b{re.escape(pair[0])}\b")
            out = [pattern.sub(pair[1], x) for x in out]
            break
    return render(fmt, out, chat=req.messages is not None)


def rename_engine(settings: Any = None) -> ScriptedEngine:
    """TANDEM_TEST_ENGINE_FACTORY entry point: the rename-propagating stand-in."""
    del settings
    return ScriptedEngine(rename_responder, chunk=CHUNK)
