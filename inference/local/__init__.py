"""The embedded engine: transformers + torch, in-process, CPU or GPU."""

from inference.local.engine import LocalEngine

__all__ = ["LocalEngine"]
