"""The llama.cpp engine: GGUF models through llama-cpp-python, with Tandem's own speculation
(n-gram prompt lookup, a draft GGUF) and per-document KV prefix reuse on llama.cpp's KV cache."""

from inference.llamacpp.engine import LlamaCppEngine

__all__ = ["LlamaCppEngine"]
