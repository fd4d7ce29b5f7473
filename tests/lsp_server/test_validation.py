"""The params type check (lsp_server.validation), compiled once per type hint."""

from __future__ import annotations

from lsprotocol import types

from lsp_server.validation import type_error


def _raw(cls, **fields):
    obj = object.__new__(cls)
    for name, value in fields.items():
        object.__setattr__(obj, name, value)
    return obj


def test_valid_params_pass_and_the_first_bad_field_is_named():
    ok = types.InlineCompletionParams(
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Automatic
        ),
        text_document=types.TextDocumentIdentifier(uri="file:///a.py"),
        position=types.Position(line=1, character=2),
    )
    assert type_error(ok, types.InlineCompletionParams) is None
    bad = _raw(types.Position, line="1", character=2)
    params = _raw(types.InlineCompletionParams, context=ok.context,
                  text_document=ok.text_document, position=bad, work_done_token=None)  # fmt: skip
    assert type_error(params, types.InlineCompletionParams) == (
        "params.position.line: str is not a valid int"
    )
    assert type_error(_raw(types.Position, line=True, character=0), types.Position) == (
        "params.line: bool is not a valid int"
    )


def test_lists_enums_and_unhashable_values():
    only = _raw(types.CodeActionContext, diagnostics=[], only=[7], trigger_kind=None)
    err = type_error(only, types.CodeActionContext)
    assert err is not None and err.startswith("params.only")
    # an unhashable value for an enum field is InvalidParams, not a TypeError
    reason = _raw(types.WillSaveTextDocumentParams,
                  text_document=types.TextDocumentIdentifier(uri="file:///a"), reason=[1])  # fmt: skip
    assert type_error(reason, types.WillSaveTextDocumentParams) == (
        "params.reason: list is not a valid TextDocumentSaveReason"
    )
