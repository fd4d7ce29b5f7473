"""The shipped editor configs (LSP4IJ template, Helix, VS Code manifest) speak the server's settings."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from lsp_server.settings import Settings

EDITORS = Path(__file__).resolve().parents[2] / "editors"


def _camel(name: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


SERVER_KEYS = {_camel(n) for n in Settings.field_names()}


def _merges_cleanly(raw: dict) -> Settings:
    merged, warnings = Settings().merged(raw)
    assert warnings == [], warnings
    return merged


def test_lsp4ij_template_descriptor():
    template = json.loads((EDITORS / "jetbrains/tandem/template.json").read_text())
    assert template["id"] == "tandem" and template["name"] == "Tandem"
    assert template["programArgs"]["default"].split() == ["tandem", "lsp"]
    mappings = template["fileTypeMappings"]
    assert {m["languageId"] for m in mappings} >= {"python", "typescript", "go", "rust", "java"}
    for m in mappings:
        assert m["fileType"]["patterns"] and all(
            p.startswith("*.") for p in m["fileType"]["patterns"]
        )


def test_lsp4ij_settings_and_initialization_options_are_valid_tandem_settings():
    settings = json.loads((EDITORS / "jetbrains/tandem/settings.json").read_text())
    assert set(settings) == {"tandem"}  # answered for workspace/configuration section "tandem"
    assert set(settings["tandem"]) <= SERVER_KEYS
    assert _merges_cleanly(settings) == Settings()  # the template ships the defaults
    init = json.loads((EDITORS / "jetbrains/tandem/initializationOptions.json").read_text())
    assert _merges_cleanly(init).completion_mode == "auto"


def test_helix_languages_toml():
    config = tomllib.loads((EDITORS / "helix/languages.toml").read_text())
    server = config["language-server"]["tandem"]
    assert [server["command"], *server["args"]] == ["tandem", "lsp"]
    assert _merges_cleanly(server["config"]).completion_mode == "completion"
    assert all("tandem" in lang["language-servers"] for lang in config["language"])


@pytest.mark.parametrize("key", sorted(SERVER_KEYS))
def test_vscode_contributes_every_server_setting(key):
    props = json.loads((EDITORS / "vscode/package.json").read_text())["contributes"][
        "configuration"
    ]["properties"]
    assert f"tandem.{key}" in props
