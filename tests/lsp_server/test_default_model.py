"""The default model's resolution order: the configured `model`, else the fetched Gemma GGUF on
llama.cpp, else the shipped demo pair (said to be a plumbing demo). No model loads here: the
builders are replaced by recorders; tests/e2e/test_default_model_lsp.py loads the real ones."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import inference.defaults as defaults
import lsp_server.engine_manager as em
from inference.base import EngineError
from lsp_server.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def _fake_fetch(folder: Path, *, size: int = defaults.DEFAULT_GGUF_SIZE, stamp: bool = True):
    """A file the size of the real GGUF (sparse: no 253 MB written) and, optionally, its stamp."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / defaults.DEFAULT_GGUF_NAME
    with path.open("wb") as f:
        f.truncate(size)
    if stamp:
        (folder / defaults.DEFAULT_GGUF_STAMP).write_text("stamp\n")
    return path


def test_the_fetch_script_and_the_lookup_agree_on_names_and_size():
    spec = importlib.util.spec_from_file_location(
        "fetch_default_model", REPO / "scripts" / "fetch_default_model.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.FILENAME == defaults.DEFAULT_GGUF_NAME
    assert script.STAMP_NAME == defaults.DEFAULT_GGUF_STAMP
    assert script.SIZE == defaults.DEFAULT_GGUF_SIZE
    assert {"GEMMA_TERMS.html", "NOTICE.md"} <= set(script.TERMS.values())


def test_models_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TANDEM_MODELS", str(tmp_path))
    assert defaults.models_dir() == tmp_path
    monkeypatch.delenv("TANDEM_MODELS")
    assert defaults.models_dir() == Path.home() / ".cache" / "tandem" / "models"


def test_only_a_complete_verified_fetch_counts(tmp_path):
    assert defaults.fetched_default_gguf(tmp_path / "missing") is None
    _fake_fetch(tmp_path / "no-stamp", stamp=False)
    assert defaults.fetched_default_gguf(tmp_path / "no-stamp") is None
    _fake_fetch(tmp_path / "short", size=1000)
    assert defaults.fetched_default_gguf(tmp_path / "short") is None
    good = _fake_fetch(tmp_path / "good")
    assert defaults.fetched_default_gguf(tmp_path / "good") == good


def test_default_model_is_the_fetched_gemma_then_the_demo_pair(monkeypatch, tmp_path):
    monkeypatch.setenv("TANDEM_MODELS", str(tmp_path))
    demo = defaults.default_model()
    assert demo.kind == "demo" and demo.is_plumbing_demo
    assert demo.target == defaults.DEMO_DIR / "target"
    assert "plumbing demo" in demo.notice and "fetch_default_model" in demo.notice
    assert "Qwen" not in demo.notice and "directory for real" not in demo.notice

    path = _fake_fetch(tmp_path)
    gemma = defaults.default_model()
    assert (gemma.kind, gemma.target, gemma.draft) == ("gguf", path, None)
    assert not gemma.is_plumbing_demo
    assert "Gemma Terms of Use" in gemma.notice and "plumbing" not in gemma.notice


@pytest.fixture
def recorded(monkeypatch):
    """build_engine with both loaders replaced: which one ran, with which settings."""
    calls: list[tuple[str, Settings]] = []

    def llamacpp(s: Settings):
        calls.append(("llamacpp", s))
        return "llamacpp-engine"

    class Local:
        @staticmethod
        def load(model, draft, **_):
            calls.append(("local", Settings(model=model, draft_model=draft)))
            return "local-engine"

    monkeypatch.setattr(em, "build_llamacpp_engine", llamacpp)
    monkeypatch.setattr("inference.local.LocalEngine", Local)
    return calls


def test_no_model_configured_serves_the_fetched_gemma_on_llamacpp(monkeypatch, tmp_path, recorded):
    monkeypatch.setenv("TANDEM_MODELS", str(tmp_path))
    path = _fake_fetch(tmp_path)
    engine, notice = em.build_engine(Settings(threads=1))
    assert engine == "llamacpp-engine" and notice is None  # named in the log and status
    ((kind, s),) = recorded
    assert (kind, s.model, s.threads) == ("llamacpp", str(path), 1)
    # `engine: "llamacpp"` with no model takes it too
    recorded.clear()
    em.build_engine(Settings(engine="llamacpp"))
    assert [(k, s.model) for k, s in recorded] == [("llamacpp", str(path))]


def test_nothing_fetched_falls_back_to_the_demo_pair_with_a_notice(monkeypatch, tmp_path, recorded):
    monkeypatch.setenv("TANDEM_MODELS", str(tmp_path))
    engine, notice = em.build_engine(Settings())
    assert engine == "local-engine"
    assert "plumbing demo" in notice
    ((kind, s),) = recorded
    assert (kind, s.model) == ("local", str(defaults.DEMO_DIR / "target"))
    assert s.draft_model == str(defaults.DEMO_DIR / "draft")


def test_nothing_fetched_and_llamacpp_asked_is_a_clear_error(monkeypatch, tmp_path, recorded):
    monkeypatch.setenv("TANDEM_MODELS", str(tmp_path))
    with pytest.raises(EngineError, match="fetch_default_model"):
        em.build_engine(Settings(engine="llamacpp"))
    assert recorded == []


def test_a_configured_model_wins_over_the_fetched_default(monkeypatch, tmp_path, recorded):
    monkeypatch.setenv("TANDEM_MODELS", str(tmp_path))
    _fake_fetch(tmp_path)
    em.build_engine(Settings(model="/models/mine.gguf"))
    em.build_engine(Settings(model="/models/hf-dir"))
    assert [(k, s.model) for k, s in recorded] == [
        ("llamacpp", "/models/mine.gguf"),
        ("local", "/models/hf-dir"),
    ]


def test_the_test_suite_itself_sees_no_fetched_model():
    """tests/conftest.py points TANDEM_MODELS at an empty folder: a test that configures no
    model gets the demo pair whatever this machine has fetched."""
    assert defaults.fetched_default_gguf() is None
