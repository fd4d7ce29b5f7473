"""initialize / initialized / configuration / document tracking / shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from types import ModuleType

from lsprotocol import types

from completion.service import CompletionOptions
from completion.templates import UnknownFimTemplate
from lsp_server.features import completion_mode
from lsp_server.server import TandemServer
from lsp_server.settings import SECTION

log = logging.getLogger(__name__)


def register(server: TandemServer, features: Sequence[ModuleType]) -> None:
    """The lifecycle handlers; `features` (modules with `register(server, client_capabilities)`)
    are registered at initialize, before pygls computes the server's capabilities."""

    @server.feature(types.INITIALIZE)
    def on_initialize(ls: TandemServer, params: types.InitializeParams) -> None:
        ls.loop_or_none = asyncio.get_running_loop()
        ls.settings, warnings = ls.settings.merged(params.initialization_options)
        ls.events.configure(ls.settings.events_log_on, ls.settings.events_log)
        for feature in features:
            feature.register(ls, params.capabilities)
        for w in warnings:
            log.warning("initializationOptions: %s", w)

    @server.feature(types.INITIALIZED)
    async def on_initialized(ls: TandemServer, params: types.InitializedParams) -> None:
        ls.initialized = True
        await pull_configuration(ls)
        asyncio.ensure_future(warm_up(ls))

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def on_config(ls: TandemServer, params: types.DidChangeConfigurationParams) -> None:
        settings = params.settings
        if isinstance(settings, dict) and settings:
            apply_settings(ls, settings)
        else:  # "pull" style clients send null and expect us to ask
            await pull_configuration(ls)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def on_open(ls: TandemServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.recent.touch(params.text_document.uri)
        _observe(ls, params.text_document.uri, "open")

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def on_change(ls: TandemServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = ls.workspace.client_uri(params.text_document.uri)
        ls.recent.touch(uri)
        _observe(ls, uri, "change")

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def on_close(ls: TandemServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        opened_as = ls.recent.forget(uri)  # the client's didOpen spelling, which state uses
        for spelling in {uri, opened_as or uri}:
            ls.completions.forget(spelling)
        _observe(ls, opened_as or uri, "close")

    @server.feature(types.SHUTDOWN)
    async def on_shutdown(ls: TandemServer, *args) -> None:
        ls.completions.cancel_all()
        await ls.engines.close()


def _observe(ls: TandemServer, uri: str, event: str) -> None:
    for observer in ls.document_observers:
        try:
            observer(uri, event)
        except Exception:  # an observer's bug must not lose the document sync
            log.exception("document observer failed on %s of %s", event, uri)


def apply_settings(ls: TandemServer, raw: dict) -> None:
    new, warnings = ls.settings.merged(raw)
    for w in warnings:
        log.warning("settings: %s", w)
    if new != ls.settings:
        old, ls.settings = ls.settings, new
        ls.events.configure(new.events_log_on, new.events_log)
        if old.completion_mode != new.completion_mode:
            asyncio.ensure_future(completion_mode.apply(ls))
        if _only_toggles_changed(old, new):
            ls.send_status(*_toggle_state(ls))
            return  # no engine reload for a run-time toggle
        ls.engines.reset_error()
        log.info("settings updated")
        asyncio.ensure_future(warm_up(ls))


async def pull_configuration(ls: TandemServer) -> None:
    caps = ls.client_capabilities.workspace
    if not (caps and caps.configuration):
        return
    try:
        result = await ls.request_client(
            types.WORKSPACE_CONFIGURATION,
            types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)]),
        )
    except Exception as exc:  # timeout, or a client that answers oddly
        log.info("workspace/configuration not answered (%s); using current settings", exc)
        return
    if result and isinstance(result[0], dict) and result[0]:
        apply_settings(ls, result[0])


async def warm_up(ls: TandemServer) -> None:
    """Load the engine in the background so the first keystroke doesn't pay for it."""
    ls.send_status("loading", "loading model")
    try:
        engine = await ls.engines.get(ls.settings)
        check = getattr(engine, "health_check", None)
        if check is not None:  # a remote backend: "ready" only once it answered
            await check()
    except Exception as exc:
        ls.engine_failed(str(exc))  # shown once, not again by each keystroke's same error
        return
    ls.engine_loaded(engine)
    if ls.engines.notice:
        ls.notify_user(ls.engines.notice, types.MessageType.Info)
    # the completion mode now, so the status names it before the first keystroke, and a
    # `fimTemplate` that does not fit the model is refused at once, where every client sees it
    options = CompletionOptions(
        fim_template=ls.settings.fim_template, prompt_mode=ls.settings.completion_prompt
    )
    try:
        mode = await ls.completions.mode(engine, options)
    except UnknownFimTemplate as exc:
        ls.notify_user(str(exc), types.MessageType.Error)
        ls.send_status("error", str(exc))
        return
    ls.prompt_mode = (engine, mode)
    ls.send_status("ready", f"{engine.info.name}: {engine.info.model} ({mode.describe()})")


_TOGGLES = {"enabled", "disabled_languages", "enable", "candidates", "completion_mode",
            "events_log", "events_log_enabled", "slow_latency_ms", "next_edit",
            "next_edit_model", "next_edit_format", "next_edit_max_tokens"}  # fmt: skip


def _only_toggles_changed(old, new) -> bool:
    return all(getattr(old, f) == getattr(new, f) for f in old.field_names() - _TOGGLES)


def _toggle_state(ls: TandemServer) -> tuple[str, str]:
    if not ls.settings.enabled:
        return "disabled", "suggestions disabled"
    return "ready", "settings updated"
