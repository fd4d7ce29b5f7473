"""The rooms of the house and what each may import (ARCHITECTURE.md), enforced on the source.

Every `import` and `from ... import` in each package is read with `ast` (lazy imports inside
functions included) and checked against the table below. An upward or sideways import fails
this test with the file, line and rule it broke.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FIRST_PARTY = {
    "lsp_server",
    "completion",
    "codechat",
    "nextedit",
    "inference",
    "textkit",
    "bench",
    "testing",
    "training",
}

#: First-party packages (or modules) each room may import, besides itself.
ALLOWED: dict[str, set[str]] = {
    # the shared text/syntax layer under both cores imports nothing of ours
    "textkit": set(),
    # the engines know nothing about prompts, editors or CodeChat
    "inference": set(),
    # the pure cores see only the engine interface and the shared text layer
    "completion": {"inference.base", "textkit"},
    "codechat": {"inference.base", "textkit"},
    "nextedit": {"inference.base"},
    # the glue may use every product room, never the drivers or stand-ins
    "lsp_server": {"completion", "codechat", "nextedit", "inference", "textkit"},
    # drivers and stand-ins sit on top
    "testing": {"completion", "codechat", "nextedit", "inference", "textkit"},
    "training": {"completion", "codechat", "inference", "textkit"},
    "bench": {
        "lsp_server",
        "completion",
        "codechat",
        "nextedit",
        "inference",
        "textkit",
        "testing",
    },
}

#: Third-party modules a room must not touch (the pure cores stay free of LSP, torch and HTTP).
FORBIDDEN_THIRD_PARTY: dict[str, set[str]] = {
    "textkit": {"torch", "transformers", "httpx", "pygls", "lsprotocol", "llama_cpp"},
    "completion": {"torch", "transformers", "httpx", "pygls", "lsprotocol", "llama_cpp"},
    "codechat": {"torch", "transformers", "httpx", "pygls", "lsprotocol", "llama_cpp"},
    "nextedit": {"torch", "transformers", "httpx", "pygls", "lsprotocol", "llama_cpp"},
    "inference": {"pygls", "lsprotocol"},
}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            # `from inference import local` imports inference.local
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _allowed(room: str, module: str) -> bool:
    top = module.split(".")[0]
    if top == room or top not in FIRST_PARTY:
        return True
    return any(module == rule or module.startswith(rule + ".") for rule in ALLOWED[room]) or (
        # `from inference import base` is listed as both `inference` and `inference.base`
        module in {rule.split(".")[0] for rule in ALLOWED[room]}
    )


def violations(root: Path = ROOT) -> list[str]:
    found: list[str] = []
    for room in ALLOWED:
        for path in sorted((root / room).rglob("*.py")):
            reported: set[int] = set()
            for line, module in _imports(path):
                where = f"{path.relative_to(root)}:{line}"
                if not _allowed(room, module) and line not in reported:
                    reported.add(line)
                    found.append(f"{where}: {room} may not import {module}")
                top = module.split(".")[0]
                if top in FORBIDDEN_THIRD_PARTY.get(room, set()):
                    found.append(f"{where}: {room} must stay free of {top}")
    return found


def test_every_room_imports_only_what_it_may():
    assert violations() == []


def test_an_upward_import_is_caught(tmp_path):
    """The checker itself can fail: plant an upward import in a copy of the rules' shape."""
    (tmp_path / "completion").mkdir()
    (tmp_path / "completion" / "bad.py").write_text(
        "from lsp_server.settings import Settings\nimport torch\n"
    )
    (tmp_path / "inference").mkdir()
    (tmp_path / "inference" / "worse.py").write_text(
        "def f():\n    from completion.templates import detect_template\n"
    )
    for room in set(ALLOWED) - {"completion", "inference"}:
        (tmp_path / room).mkdir()
    found = violations(tmp_path)
    assert any("completion may not import lsp_server.settings" in v for v in found)
    assert any("completion must stay free of torch" in v for v in found)
    assert any("inference may not import completion.templates" in v for v in found)


def test_no_product_module_is_named_like_a_test():
    product = ["lsp_server", "completion", "codechat", "inference", "textkit"]
    named = [p for r in product for p in (ROOT / r).rglob("test_*.py")]
    assert named == []
