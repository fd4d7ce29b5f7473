"""Assemble the server: shared services, then each feature module.

Every LSP feature module exposes ``register(server, client_capabilities)`` and is registered at
`initialize`, once the client's capabilities are known, so it can declare only what that client
can use (inline vs. plain completion, code action literals, resolve). `lifecycle` is the one
registered up front: it is the initialize handler that calls the others.
"""

from __future__ import annotations

import importlib
import logging
import os

from lsp_server.engine_manager import EngineManager
from lsp_server.features import codechat, commands, completions, events, lifecycle, nextedit
from lsp_server.protocol import TEST_ENGINE_FACTORY_ENV
from lsp_server.server import TandemServer

log = logging.getLogger(__name__)

#: Registered at `initialize`, in this order.
FEATURES = (completions, commands, codechat, events, nextedit)


def create_server() -> TandemServer:
    server = TandemServer()
    _install_test_engine(server)
    lifecycle.register(server, FEATURES)
    return server


def _install_test_engine(server: TandemServer) -> None:
    """Tests only: `TANDEM_TEST_ENGINE_FACTORY=module:function` builds the engine instead of the
    settings (a stand-in that answers known-good or known-bad code). Never a user setting."""
    spec = os.environ.get(TEST_ENGINE_FACTORY_ENV)
    if not spec:
        return
    module, _, func = spec.partition(":")
    factory = getattr(importlib.import_module(module), func)

    def build(settings):
        made = factory(settings)  # an engine, or (engine, the notice a user would see)
        return made if isinstance(made, tuple) else (made, f"test engine from {spec}")

    server.engines = EngineManager(builder=build)
    log.warning("using the test engine factory %s (%s is set)", spec, TEST_ENGINE_FACTORY_ENV)
