"""The real `tandem lsp` process and a pytest-lsp client initialized as VS Code with inline
completion, for the end-to-end tests that run a real model (no test engine factory): one place
for the start-up, the recorded `tandem/status` and `tandem/chatProgress` notifications, the
workspace/applyEdit answer and the shutdown."""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, client_capabilities

ROOT = Path(__file__).resolve().parents[2]


def plain(obj: Any) -> Any:
    """A notification's params (lsprotocol's generic objects) as plain dicts and lists."""
    if hasattr(obj, "_asdict"):
        obj = obj._asdict()
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    return obj


@asynccontextmanager
async def real_session(
    settings: dict | None, env: dict[str, str] | None = None, apply_edits: bool = False
):
    """The client of a fresh server with `settings` as initializationOptions (None: no
    configuration at all) and `env` added to the environment. `client.statuses` and
    `client.chat_progress` record the notifications; workspace/applyEdit is answered with
    `apply_edits`."""
    server_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    server_env.pop("TANDEM_TEST_ENGINE_FACTORY", None)
    config = ClientServerConfig(
        server_command=[sys.executable, "-m", "lsp_server", "lsp"], server_env=server_env
    )
    client = await config.start()
    client.statuses = []  # type: ignore[attr-defined]
    client.chat_progress = []  # type: ignore[attr-defined]

    @client.feature("tandem/status")
    def status(params):
        client.statuses.append(plain(params))

    @client.feature("tandem/chatProgress")
    def chat_progress(params):
        client.chat_progress.append(plain(params))

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params):
        return types.ApplyWorkspaceEditResult(applied=apply_edits)

    caps = client_capabilities("visual-studio-code")
    caps.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    await client.initialize_session(
        types.InitializeParams(capabilities=caps, initialization_options=settings)
    )
    try:
        yield client
    finally:
        await client.shutdown_session()
        await client.stop()


async def wait_ready(client, timeout_s: float = 60.0) -> dict:
    """The first "ready" (or a failing "error") status: the model loads in the background
    after `initialized`."""
    for _ in range(int(timeout_s / 0.02)):
        done = [s for s in client.statuses if s["state"] in ("ready", "error")]
        if done:
            assert done[-1]["state"] == "ready", done[-1]
            return done[-1]
        await asyncio.sleep(0.02)
    raise AssertionError(f"the model never loaded: {client.statuses}")
