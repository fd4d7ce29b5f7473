"""Strict type check of structured LSP params, so a wrong-typed value is InvalidParams (-32602).

lsprotocol's converter passes some wrong-typed values through instead of failing: a value for a
`Union[SomeStrEnum, str]` field (e.g. `CodeActionContext.only`) stays an int, and the handler
then fails with a TypeError that the client sees as InternalError (-32603). Checking the
structured object against its own type hints once, on the way in, turns every such case into a
clear InvalidParams naming the field, for every method at once.
"""

from __future__ import annotations

import collections.abc
import enum
import functools
import typing
from typing import Any

import attrs

_MAX_DEPTH = 32


@functools.lru_cache(maxsize=512)
def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # unresolvable forward reference: do not check this class
        return {}


def type_error(value: Any, hint: Any, path: str = "params", depth: int = 0) -> str | None:
    """A message naming the first field whose value does not fit `hint`, or None."""
    if depth > _MAX_DEPTH or hint is Any or hint is object:
        return None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    bad = f"{path}: {type(value).__name__} is not a valid {getattr(hint, '__name__', hint)}"
    if origin is typing.Union:
        if any(type_error(value, a, path, depth + 1) is None for a in args):
            return None
        real = [a for a in args if a is not type(None)]
        if len(real) == 1:  # Optional[X]: say what is wrong inside X
            return type_error(value, real[0], path, depth + 1)
        return f"{path}: {type(value).__name__} fits none of the allowed types"
    if hint is type(None):
        return None if value is None else bad
    if origin is typing.Literal:
        return None if value in args else bad
    if origin in (list, tuple, collections.abc.Sequence, collections.abc.MutableSequence):
        if isinstance(value, str) or not isinstance(value, list | tuple):
            return bad
        item = args[0] if args else Any
        for i, v in enumerate(value):
            if (err := type_error(v, item, f"{path}[{i}]", depth + 1)) is not None:
                return err
        return None
    if origin in (dict, collections.abc.Mapping, collections.abc.MutableMapping):
        return None if isinstance(value, dict) else bad
    if not isinstance(hint, type):
        return None  # a construct we do not check
    if issubclass(hint, enum.Enum):
        if isinstance(value, hint):
            return None
        return None if value in {m.value for m in hint} else bad
    if hint is bool:
        return None if isinstance(value, bool) else bad
    if hint is int:
        return None if isinstance(value, int) and not isinstance(value, bool) else bad
    if hint is float:
        return None if isinstance(value, int | float) and not isinstance(value, bool) else bad
    if hint is str:
        return None if isinstance(value, str) else bad
    if attrs.has(hint):
        if not isinstance(value, hint):
            return bad
        hints = _hints(hint)
        for field in attrs.fields(hint):
            if field.name in hints:
                sub = getattr(value, field.name, None)
                err = type_error(sub, hints[field.name], f"{path}.{field.name}", depth + 1)
                if err is not None:
                    return err
        return None
    return None


def params_error(message: Any) -> str | None:
    """For a structured request/notification: why its params are malformed, or None."""
    cls = type(message)
    if not attrs.has(cls):
        return None
    hint = _hints(cls).get("params")
    if hint is None:
        return None
    return type_error(getattr(message, "params", None), hint)
