"""The embedded engine: transformers + torch, in-process, CPU or GPU.

`LocalEngine` is imported lazily: the llama.cpp engine reuses this package's torch-free parts
(n-gram lookup, strategy selector) and should not pay for importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inference.local.engine import LocalEngine

__all__ = ["LocalEngine"]


def __getattr__(name: str) -> Any:
    if name == "LocalEngine":
        from inference.local.engine import LocalEngine

        return LocalEngine
    raise AttributeError(name)
