"""Inference layer: one small async interface (stream tokens, cancel, stats) over several engines."""

from inference.base import Engine, EngineInfo, Generation, GenerationRequest, GenerationStats

__all__ = ["Engine", "EngineInfo", "Generation", "GenerationRequest", "GenerationStats"]
