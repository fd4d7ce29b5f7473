"""Next-edit prompt formats, and which one a model speaks.

The choice comes from the `nextEditFormat` setting when it names one, else from the model:
its name (the GGUF's `general.name`, or the file or directory name) and its special tokens.
Sweep's and Zed's models are Qwen2.5-Coder fine-tunes whose vocabularies look like any other
Qwen's, so the name decides; a model that is neither gets the generic format.
"""

from __future__ import annotations

from collections.abc import Iterable

from nextedit.formats.base import NextEditFormat, NextEditInput, PromptSpec
from nextedit.formats.generic import GenericFormat
from nextedit.formats.sweep import SweepFormat
from nextedit.formats.zeta import ZetaFormat

FORMATS: dict[str, type[NextEditFormat]] = {
    "sweep": SweepFormat,
    "zeta": ZetaFormat,
    "generic": GenericFormat,
}
#: Formats of models trained for next-edit prediction (NES is on by default with these).
NES_FORMATS = frozenset({"sweep", "zeta"})


def format_by_name(name: str) -> NextEditFormat:
    try:
        return FORMATS[name]()
    except KeyError:
        raise ValueError(
            f"unknown next-edit format {name!r}; expected one of {sorted(FORMATS)} or 'auto'"
        ) from None


def detect_format(names: Iterable[str | None], special_tokens: Iterable[str] = ()) -> str:
    """The format a model speaks, from its names (any of them may mention it) and tokens."""
    text = " ".join(n for n in names if n).lower().replace("_", "-")
    tokens = set(special_tokens)
    if "sweep" in text and ("next-edit" in text or "nextedit" in text or "<|file_sep|>" in tokens):
        return "sweep"
    if "zeta" in text or "<|editable_region_start|>" in tokens:
        return "zeta"
    return "generic"


def choose_format(
    setting: str, names: Iterable[str | None], special_tokens: Iterable[str] = ()
) -> NextEditFormat:
    """`setting` ("auto" or a format name) resolved against the model."""
    if setting and setting != "auto":
        return format_by_name(setting)
    return format_by_name(detect_format(names, special_tokens))


__all__ = [
    "FORMATS",
    "NES_FORMATS",
    "NextEditFormat",
    "NextEditInput",
    "PromptSpec",
    "choose_format",
    "detect_format",
    "format_by_name",
]
