"""CodeChat: refactor / tests / docs / explain / ask on selected code.

Pure logic, no LSP and no torch: a `ChatTask` becomes a prompt (`prompts`), the engine's answer
is cleaned (`thinking`, `extract`), turned into edits (`diff`, `testfiles`) and checked
(`checks`) before anything is applied. `runner.run_task` ties it together; the LSP glue lives in
`lsp_server.features.codechat` and the benchmark in `bench.codechat`.
"""

from codechat.runner import ChatOutcome, run_task
from codechat.tasks import ACTIONS, EDIT_ACTIONS, ChatTask

__all__ = ["ACTIONS", "EDIT_ACTIONS", "ChatOutcome", "ChatTask", "run_task"]
