"""The editors' copies of the custom protocol agree with `lsp_server/protocol.py`.

VS Code: the interfaces and constants in `editors/vscode/src/protocol.ts` (tsc then checks the
extension's uses against them). Neovim: the fields `codechat.lua` and `status.lua` read from
each message, its action list, and every ``tandem/…`` method name the plugin handles.
A field renamed on one side only fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codechat.tasks import ACTIONS
from inference.base import GenerationStats
from lsp_server import protocol

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL_TS = ROOT / "editors" / "vscode" / "src" / "protocol.ts"
VSCODE_SRC = ROOT / "editors" / "vscode" / "src"
NVIM = ROOT / "editors" / "neovim" / "lua" / "tandem"

#: TypeScript interface → the TypedDict it mirrors.
TS_TYPES = {
    "TandemStatus": protocol.Status,
    "ChatProgress": protocol.ChatProgress,
    "ChatResult": protocol.ChatResult,
    "CodeChatArgs": protocol.CodeChatArgs,
    "CodeChatResult": protocol.CodeChatResult,
    "LspPosition": protocol.Position,
    "LspRange": protocol.Range,
    "VersionedDocument": protocol.VersionedDocument,
    "NextEditParams": protocol.NextEditParams,
    "NextEditItem": protocol.NextEditItem,
    "NextEditResult": protocol.NextEditResult,
}
STATS_KEYS = set(GenerationStats().to_dict())
#: Every custom method name protocol.py defines.
METHODS = {v for v in vars(protocol).values() if isinstance(v, str) and v.startswith("tandem/")}


def _block(text: str, open_at: int) -> str:
    """The text inside the braces that open at `open_at`."""
    depth = 0
    for i in range(open_at, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[open_at + 1 : i]
    raise AssertionError("unbalanced braces")


def _fields(body: str) -> dict[str, bool]:
    """Top-level `name?: type;` fields of an interface body → required?"""
    fields: dict[str, bool] = {}
    depth = 0
    for line in body.split("\n"):
        m = re.match(r"\s*(\w+)(\??):", line)
        if depth == 0 and m:
            fields[m.group(1)] = not m.group(2)
        depth += line.count("{") - line.count("}")
    return fields


def ts_interfaces() -> dict[str, str]:
    text = PROTOCOL_TS.read_text()
    out = {}
    for m in re.finditer(r"export interface (\w+)[^{]*\{", text):
        out[m.group(1)] = _block(text, m.end() - 1)
    return out


def _check(name: str, ts: dict[str, bool], typed) -> None:
    required, optional = set(typed.__required_keys__), set(typed.__optional_keys__)
    assert set(ts) == required | optional, (
        f"{name}: protocol.ts has {sorted(ts)}, protocol.py has {sorted(required | optional)}"
    )
    ts_required = {k for k, req in ts.items() if req}
    assert ts_required <= required, (
        f"{name}: required in protocol.ts only: {ts_required - required}"
    )


@pytest.mark.parametrize("ts_name", sorted(TS_TYPES))
def test_vscode_interfaces_match(ts_name):
    interfaces = ts_interfaces()
    assert ts_name in interfaces, f"protocol.ts lost interface {ts_name}"
    _check(ts_name, _fields(interfaces[ts_name]), TS_TYPES[ts_name])


def test_vscode_status_request_and_stats_match():
    status = ts_interfaces()["TandemStatus"]
    request = _block(status, status.index("request?: {") + len("request?: "))
    _check("TandemStatus.request", _fields(request), protocol.StatusRequest)
    stats = _fields(ts_interfaces()["GenerationStats"])
    assert set(stats) <= STATS_KEYS, set(stats) - STATS_KEYS


def test_vscode_constants_and_actions_match():
    text = PROTOCOL_TS.read_text()
    consts = dict(re.findall(r"export const (\w+) = '([^']*)';", text))
    for name in ("STATUS_NOTIFICATION", "CHAT_PROGRESS_NOTIFICATION", "CHAT_RESULT_NOTIFICATION"):
        assert consts.get(name) == getattr(protocol, name), name
    assert consts.get("STATUS_COMMAND") == protocol.STATUS_COMMAND
    kinds = re.search(r"CODECHAT_KINDS = \[([^\]]*)\]", text)
    assert kinds and tuple(re.findall(r"'(\w+)'", kinds.group(1))) == ACTIONS
    used = set()
    for ts in VSCODE_SRC.glob("*.ts"):
        used |= set(re.findall(r"['\"](tandem/\w+)['\"]", ts.read_text()))
    assert used <= METHODS, f"methods the extension uses that protocol.py lacks: {used - METHODS}"


def _lua_reads(path: Path, var: str) -> set[str]:
    return set(re.findall(rf"\b{var}\.(\w+)", path.read_text()))


def test_neovim_field_names_match():
    codechat, status = NVIM / "codechat.lua", NVIM / "status.lua"
    results = set(protocol.CodeChatResult.__annotations__) | set(
        protocol.ChatResult.__annotations__
    )
    checks = [
        (codechat, "result", results),
        (codechat, "params", set(protocol.ChatProgress.__annotations__)),
        (status, "status", set(protocol.Status.__annotations__)),
        (status, "req", set(protocol.StatusRequest.__annotations__)),
        (status, "stats", STATS_KEYS),
    ]
    for path, var, known in checks:
        reads = _lua_reads(path, var)
        assert reads, f"{path.name} no longer reads {var}.*: update this test"
        assert reads <= known, (
            f"{path.name} reads {var}.{sorted(reads - known)}: not in protocol.py"
        )


def test_neovim_actions_and_methods_match():
    kinds = re.search(r"kinds = \{([^}]*)\}", (NVIM / "codechat.lua").read_text())
    assert kinds and tuple(re.findall(r"'(\w+)'", kinds.group(1))) == ACTIONS
    used = set()
    for lua in NVIM.glob("*.lua"):
        used |= set(re.findall(r"['\"](tandem/\w+)['\"]", lua.read_text()))
    assert used and used <= METHODS, (
        f"methods the plugin uses that protocol.py lacks: {used - METHODS}"
    )


def test_checker_fails_on_a_renamed_field():
    with pytest.raises(AssertionError, match="protocol.ts has"):
        _check(
            "ChatProgress",
            {**_fields(ts_interfaces()["ChatProgress"]), "txt": True},
            protocol.ChatProgress,
        )
