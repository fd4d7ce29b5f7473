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


Check = typing.Callable[[Any, str, int], "str | None"]


def type_error(value: Any, hint: Any, path: str = "params", depth: int = 0) -> str | None:
    """A message naming the first field whose value does not fit `hint`, or None."""
    return _checker(hint)(value, path, depth)


def _checker(hint: Any) -> Check:
    try:
        return _compiled(hint)
    except TypeError:  # an unhashable hint: build the check each time
        return _compile(hint)


@functools.lru_cache(maxsize=2048)
def _compiled(hint: Any) -> Check:
    return _compile(hint)


def _compile(hint: Any) -> Check:
    """The check for `hint`, built once per hint: every request's params go through it, and
    reading the hints' structure per call cost about half a millisecond per request."""
    if hint is Any or hint is object:
        return _ok
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    name = getattr(hint, "__name__", hint)

    def bad(value: Any, path: str) -> str:
        return f"{path}: {type(value).__name__} is not a valid {name}"

    if origin is typing.Union:
        options = tuple(_checker(a) for a in args)
        real = [a for a in args if a is not type(None)]
        inner = _checker(real[0]) if len(real) == 1 else None

        def check_union(value: Any, path: str, depth: int) -> str | None:
            if depth > _MAX_DEPTH:
                return None
            if any(c(value, path, depth + 1) is None for c in options):
                return None
            if inner is not None:  # Optional[X]: say what is wrong inside X
                return inner(value, path, depth + 1)
            return f"{path}: {type(value).__name__} fits none of the allowed types"

        return check_union
    if hint is type(None):
        return lambda value, path, depth: (
            None if value is None or depth > _MAX_DEPTH else bad(value, path)
        )
    if origin is typing.Literal:
        return lambda value, path, depth: (
            None if depth > _MAX_DEPTH or value in args else bad(value, path)
        )
    if origin in (list, tuple, collections.abc.Sequence, collections.abc.MutableSequence):
        item = _checker(args[0]) if args else _ok

        def check_list(value: Any, path: str, depth: int) -> str | None:
            if depth > _MAX_DEPTH:
                return None
            if isinstance(value, str) or not isinstance(value, list | tuple):
                return bad(value, path)
            for i, v in enumerate(value):
                if (err := item(v, f"{path}[{i}]", depth + 1)) is not None:
                    return err
            return None

        return check_list
    if origin in (dict, collections.abc.Mapping, collections.abc.MutableMapping):
        return lambda value, path, depth: (
            None if depth > _MAX_DEPTH or isinstance(value, dict) else bad(value, path)
        )
    if not isinstance(hint, type):
        return _ok  # a construct we do not check
    if issubclass(hint, enum.Enum):
        values = {m.value for m in hint}

        def check_enum(value: Any, path: str, depth: int) -> str | None:
            if depth > _MAX_DEPTH or isinstance(value, hint):
                return None
            try:
                return None if value in values else bad(value, path)
            except TypeError:  # an unhashable value is no member
                return bad(value, path)

        return check_enum
    simple = {
        bool: lambda v: isinstance(v, bool),
        int: lambda v: isinstance(v, int) and not isinstance(v, bool),
        float: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        str: lambda v: isinstance(v, str),
    }.get(hint)
    if simple is not None:
        return lambda value, path, depth: (
            None if depth > _MAX_DEPTH or simple(value) else bad(value, path)
        )
    if attrs.has(hint):
        hints = _hints(hint)
        names = [f.name for f in attrs.fields(hint) if f.name in hints]
        fields: list[tuple[str, Check]] = []  # filled on first use: classes refer to each other

        def check_attrs(value: Any, path: str, depth: int) -> str | None:
            if depth > _MAX_DEPTH:
                return None
            if not isinstance(value, hint):
                return bad(value, path)
            if not fields and names:
                fields.extend((n, _checker(hints[n])) for n in names)
            for field_name, check in fields:
                sub = getattr(value, field_name, None)
                err = check(sub, f"{path}.{field_name}", depth + 1)
                if err is not None:
                    return err
            return None

        return check_attrs
    return _ok


def _ok(value: Any, path: str, depth: int) -> str | None:
    return None


def is_request_id(value: Any) -> bool:
    """LSP ids are integers or strings (JSON-RPC's `true`, objects and arrays are not)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def envelope_error(data: Any) -> str | None:
    """Why `data` is not a JSON-RPC 2.0 request, notification or response (-32600), or None.

    Checked on the raw JSON before pygls structures it: pygls drops a `"jsonrpc": "1.0"`
    request silently and turns a non-string method or an object id into InternalError."""
    if not isinstance(data, dict):
        return f"a JSON-RPC message is an object, not {type(data).__name__}"
    if data.get("jsonrpc") != "2.0":
        return f'not a JSON-RPC 2.0 message ("jsonrpc" is {data.get("jsonrpc")!r}, not "2.0")'
    if "method" in data:
        if not isinstance(data["method"], str):
            return f'"method" must be a string, not {type(data["method"]).__name__}'
        if "id" in data and not is_request_id(data["id"]):
            return f'a request "id" must be an integer or a string, not {data["id"]!r}'
        return None
    if "id" not in data:
        return "neither a request, a notification nor a response (no method, no id)"
    if data["id"] is not None and not is_request_id(data["id"]):
        return f'a response "id" must be an integer, a string or null, not {data["id"]!r}'
    return None


def strict_primitives(converter: Any) -> None:
    """Make the LSP converter refuse wrong-typed strings and integers instead of coercing
    them: cattrs turns `"uri": 5` into "5" and `"line": true` into 1, so a client's bug
    became a silent wrong answer. Now they fail structuring (InvalidParams, -32602)."""

    def structure_str(value: Any, _type: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"expected a string, not {type(value).__name__}")
        return value

    def structure_int(value: Any, _type: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"expected an integer, not {type(value).__name__}")
        return value

    converter.register_structure_hook(str, structure_str)
    converter.register_structure_hook(int, structure_int)
    # bool is a subclass of int: without its own hook it would reach structure_int. Booleans
    # stay as cattrs has them (capabilities are full of them; clients vary).
    converter.register_structure_hook(bool, lambda value, _type: bool(value))


def params_error(message: Any) -> str | None:
    """For a structured request/notification: why its params are malformed, or None."""
    cls = type(message)
    if not attrs.has(cls):
        return None
    hint = _hints(cls).get("params")
    if hint is None:
        return None
    return type_error(getattr(message, "params", None), hint)
