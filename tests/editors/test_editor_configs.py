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


def test_lsp4ij_template_links_and_settings_schema():
    template = json.loads((EDITORS / "jetbrains/tandem/template.json").read_text())
    assert template["url"].startswith("https://")
    schema = json.loads((EDITORS / "jetbrains/tandem/settings.schema.json").read_text())
    props = schema["properties"]["tandem"]["properties"]
    assert set(props) == SERVER_KEYS
    defaults = {k: v["default"] for k, v in props.items()}
    assert _merges_cleanly(defaults) == Settings()  # the schema's defaults are the server's


def test_helix_timeout_path_note_and_additive_server_lists():
    text = (EDITORS / "helix/languages.toml").read_text()
    server = tomllib.loads(text)["language-server"]["tandem"]
    assert server["timeout"] >= 60  # CodeChat outlives Helix's 20 s default
    assert "absolute path" in text
    python = next(lang for lang in tomllib.loads(text)["language"] if lang["name"] == "python")
    # Helix replaces the list: its own defaults must stay, Tandem added last
    assert python["language-servers"][-1] == "tandem" and "pylsp" in python["language-servers"]


def test_emacs_snippet_order_does_not_matter():
    el = (EDITORS / "emacs/tandem-eglot.el").read_text()
    assert "tandem--contact" in el and "(add-to-list 'eglot-server-programs" in el
    # the contact is a function, read when Eglot starts: not `,@tandem-command` at load time
    assert "`(,tandem-modes . tandem--contact)" in el


def test_enums_match_between_the_lsp4ij_schema_and_vscode():
    """Every engine the server knows (llamacpp included) is allowed in both clients' schemas,
    and the model setting says a .gguf file works."""
    schema = json.loads((EDITORS / "jetbrains/tandem/settings.schema.json").read_text())
    props = schema["properties"]["tandem"]["properties"]
    vscode = json.loads((EDITORS / "vscode/package.json").read_text())["contributes"][
        "configuration"
    ]["properties"]
    for key, prop in props.items():
        if "enum" in prop:
            assert prop["enum"] == vscode[f"tandem.{key}"]["enum"], key
    assert "llamacpp" in props["engine"]["enum"]
    assert ".gguf" in props["model"]["description"]
