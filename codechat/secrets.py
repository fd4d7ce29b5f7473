"""CodeChat on masked text, edits on the real one.

The model only ever sees a document with its secrets masked (`textkit.secrets`, length for
length: `"AKIA…"` becomes `"********************"`), and the user's typed instruction masked the
same way. Explanations keep the masks (the model never saw the values, and the user sees that).
An edit, though, is applied to the user's real file, so a mask the model copied into its code
must not land there as asterisks: where a mask reappears exactly, the secret it stands for is
put back. When that is impossible the edit is refused and nothing is changed:

* two different secrets with the same mask (same length) both could be meant: the edit cannot
  tell which goes where;
* the code holds a long run of asterisks that is no mask and was not in the file before: the
  model garbled a mask, and applying it would overwrite the secret with asterisks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from codechat.diff import Change, apply_changes
from codechat.runner import ChatOutcome, FileChange
from codechat.tasks import ChatTask
from textkit.secrets import redact_secrets, secret_spans

#: A run of asterisks this long in new code, in a document that had secrets, is a garbled mask
#: (the shortest secret Tandem masks in a document CodeChat may edit is 20 characters).
_SUSPECT_RUN = re.compile(r"\*{16,}")


class SecretsUnrestorable(ValueError):
    """The model's edit holds masks that cannot be turned back into the user's secrets."""


@dataclass(frozen=True)
class Secret:
    mask: str
    original: str
    #: Where it is in the document ([start, end) offsets); -1 for one typed in the instruction.
    start: int = -1
    end: int = -1


@dataclass(frozen=True)
class SecretMap:
    """Each mask the model saw, and the secret it stands for."""

    secrets: tuple[Secret, ...] = ()

    @classmethod
    def of(cls, original: str, masked: str | None = None, in_document: bool = True) -> SecretMap:
        if masked is None:
            masked = redact_secrets(original)[0]
        return cls(tuple(
            Secret(masked[s:e], original[s:e], *((s, e) if in_document else (-1, -1)))
            for s, e in secret_spans(original)
        ))  # fmt: skip

    def __add__(self, other: SecretMap) -> SecretMap:
        return SecretMap(self.secrets + other.secrets)

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def restore(self, code: str, before: str = "", where: tuple[int, int] | None = None) -> str:
        """`code` with every exact mask turned back into its secret. `before` is the real text
        the code replaces, at `where` in the document: asterisks already there are the user's
        own, and among secrets sharing one mask the one that stood there is meant."""
        originals: dict[str, set[str]] = {}
        for secret in self.secrets:
            originals.setdefault(secret.mask, set()).add(secret.original)
        # longest masks first: a shorter mask never eats part of a longer one
        for mask in sorted(originals, key=len, reverse=True):
            pattern = re.compile(r"(?<!\*)" + re.escape(mask) + r"(?!\*)")
            if not pattern.search(code):
                continue
            candidates = originals[mask]
            if len(candidates) > 1 and where is not None:
                candidates = {
                    s.original for s in self.secrets
                    if s.mask == mask and where[0] <= s.start and s.end <= where[1]
                }  # fmt: skip
            if len(candidates) != 1:
                raise SecretsUnrestorable(
                    "the model's code uses a masked secret that could stand for "
                    f"{len(originals[mask])} different secrets of the same length"
                )
            (secret,) = candidates
            code = pattern.sub(lambda _m, s=secret: s, code)
        if self.secrets:
            for run in _SUSPECT_RUN.findall(code):
                if run not in before:
                    raise SecretsUnrestorable(
                        "the model's code holds a garbled mask (a run of asterisks where a "
                        "secret was); applying it would overwrite the secret"
                    )
        return code


def mask_task(task: ChatTask, masked_text: str | None = None) -> tuple[ChatTask, SecretMap]:
    """The task as the model may see it (document and instruction masked), and how to undo it.
    `masked_text`: the document's redacted text when the caller already has it (the server
    redacts each document version once)."""
    text = redact_secrets(task.text)[0] if masked_text is None else masked_text
    instruction = redact_secrets(task.instruction)[0]
    secrets = SecretMap.of(task.text, text) + SecretMap.of(
        task.instruction, instruction, in_document=False
    )
    return replace(task, text=text, instruction=instruction), secrets


def restore_outcome(
    outcome: ChatOutcome, secrets: SecretMap, masked: str, real: str
) -> ChatOutcome:
    """`outcome` (computed over the `masked` document) as edits of the `real` files, secrets put
    back where the model kept their masks; a failed outcome when that cannot be done."""
    if not secrets or not outcome.ok or not outcome.files:
        return outcome
    try:
        files = [_restore_file(fc, secrets, masked, real) for fc in outcome.files]
    except SecretsUnrestorable as exc:
        return ChatOutcome(
            False, f"not applied: {exc}. Nothing was changed.", "rejected",
            answer=outcome.answer, stats=outcome.stats, prompt_format=outcome.prompt_format,
            generation_stats=outcome.generation_stats,
        )  # fmt: skip
    files = [fc for fc in files if fc.create or fc.changes]
    if not files:
        return ChatOutcome(False, "the model proposed no changes", "no_change")
    return replace(outcome, files=files)


def _restore_file(fc: FileChange, secrets: SecretMap, masked: str, real: str) -> FileChange:
    """Each change (whole lines) restored on its own: lines the model left alone keep the real
    text, and a mask on a changed line means the secret that stood on the lines it replaces."""
    if fc.create:
        new = secrets.restore(fc.new_text)
        return replace(fc, new_text=new, changes=[replace(c, new_text=new) for c in fc.changes])
    in_document = fc.old_text == masked
    old_real = real if in_document else fc.old_text
    changes = []
    for c in fc.changes:
        before = old_real[c.start : c.end]
        new = secrets.restore(c.new_text, before, (c.start, c.end) if in_document else None)
        if new != before:
            changes.append(Change(c.start, c.end, new))
    return FileChange(fc.path, False, old_real, apply_changes(old_real, changes), changes)
