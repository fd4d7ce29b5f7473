"""FIM completion pipeline, pure logic: context → prompt → (engine) → postprocess.

No LSP and no torch imports here: the server hands in a `CompletionContext` and a token counter,
gets a `PromptPlan` to send to any engine, and passes the raw output back through `finalize`.
"""

from completion.pipeline import finalize, prepare
from completion.types import CompletionContext, PromptPlan

__all__ = ["CompletionContext", "PromptPlan", "finalize", "prepare"]
