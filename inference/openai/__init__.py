"""The OpenAI-compatible HTTP engine (vLLM, or any server speaking `/v1/completions`)."""

from inference.openai.engine import OpenAIEngine, OpenAIGeneration, normalize_endpoint

__all__ = ["OpenAIEngine", "OpenAIGeneration", "normalize_endpoint"]
