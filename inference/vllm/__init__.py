"""Starting vLLM's OpenAI-compatible server for Tandem (`tandem serve`, tests, benchmarks)."""

from inference.vllm.command import ServeConfig, build_command, build_env, speculative_config
from inference.vllm.server import VLLMServer, free_port

__all__ = [
    "ServeConfig",
    "VLLMServer",
    "build_command",
    "build_env",
    "free_port",
    "speculative_config",
]
