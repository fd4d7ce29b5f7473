"""All of Tandem's settings, in one place, with documented defaults.

Editors send them as `initializationOptions`, answer `workspace/configuration` for the section
`tandem`, or push them with `workspace/didChangeConfiguration`. Keys are camelCase on the wire
(`draftModel`) and snake_case here (`draft_model`). Unknown keys and wrong types are reported
back to the user and otherwise ignored, so a typo never takes the server down.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Literal

SECTION = "tandem"
#: Settings whose values are never logged or echoed back (warnings name the key only).
SECRET_SETTINGS = frozenset({"api_key"})


@dataclass
class Settings:
    #: Local Hugging Face model directory (target), or a `.gguf` file (selects the llama.cpp
    #: engine). None: the shipped demo model.
    model: str | None = None
    #: Local draft model sharing the target's tokenizer (speculative decoding): a directory for
    #: the transformers engine, a `.gguf` file with the same vocabulary for llama.cpp.
    draft_model: str | None = None
    #: "local": embedded engine (transformers; llama.cpp when `model` is a .gguf file).
    #: "llamacpp": llama.cpp (GGUF) explicitly. "openai": any OpenAI-compatible server (vLLM,
    #: llama.cpp's llama-server, ...).
    engine: Literal["local", "llamacpp", "openai"] = "local"
    #: Base URL(s) of the OpenAI-compatible server(s), tried in order (failover).
    endpoint: list[str] = field(default_factory=lambda: ["http://127.0.0.1:8000/v1"])
    api_key: str | None = None
    #: Model name on the OpenAI-compatible server (None: ask the server's /v1/models).
    model_name: str | None = None
    #: Local tokenizer dir for the openai engine (exact token counts and FIM tokens).
    tokenizer: str | None = None
    #: Most tokens one completion may generate.
    max_tokens: int = 64
    #: Most tokens a CodeChat answer may generate.
    chat_max_tokens: int = 768
    #: 0 = greedy (deterministic, exact speculative decoding).
    temperature: float = 0.0
    #: Per-language switch: {"*": true, "markdown": false}.
    enable: dict[str, bool] = field(default_factory=lambda: {"*": True})
    #: FIM template name; None = detect from the tokenizer's special tokens. Checked against
    #: the model's vocabulary: a template whose markers are not tokens of it is refused.
    fim_template: str | None = None
    #: How completion prompts are built. "auto": "fim" when the model has FIM tokens (or
    #: `fimTemplate` names its family), else "prefix": the text before the cursor alone, which
    #: any base model continues (Gemma 3, Llama, ...). "fim" / "prefix" force one.
    completion_prompt: Literal["auto", "fim", "prefix"] = "auto"
    #: Token budget of a FIM prompt (prefix + suffix + cross-file context).
    max_prompt_tokens: int = 1536
    #: "auto" | "plain" | "prompt_lookup" | "draft".
    speculative: Literal["auto", "plain", "prompt_lookup", "draft"] = "auto"
    #: Initial number of speculative tokens per step (adapts at run time).
    num_speculative_tokens: int = 8
    #: Adaptive debounce of automatic completion requests (completion/debounce.py): a request
    #: waits about one typing gap (less at a new line or after `(`, more mid-word, minus the
    #: expected response time, at most 300 ms); one superseded meanwhile never reaches the
    #: engine. False: every request goes to the engine at once.
    debounce: bool = True
    #: "auto" | "cpu" | "cuda" | "cuda:1" ...
    device: str = "auto"
    #: llama.cpp engine: CPU threads; 0 = all cores this process may use.
    threads: int = 0
    #: llama.cpp engine: KV-cache tokens per document slot (prompt + output must fit).
    context_size: int = 4096
    #: "auto": inline if the client supports it, else textDocument/completion. Or "inline",
    #: "completion", "both".
    completion_mode: Literal["auto", "inline", "completion", "both"] = "auto"
    #: Documents larger than this are not sent to the model.
    max_document_bytes: int = 1_000_000
    #: Bound on every server→client request (applyEdit, showDocument, configuration).
    client_request_timeout_s: float = 10.0
    #: CodeChat prompt format: "auto" (chat template), "chatml", "deepseek", "alpaca"
    #: (### Instruction / ### Response), "question" (### Question / ### Response).
    prompt_format: str = "auto"
    #: openai engine: a completion must finish within this many seconds (its first token within
    #: two thirds of it), else the next endpoint is tried / the request ends with a clear error.
    completion_timeout_s: float = 6.0
    #: openai engine: the same for CodeChat answers (first token within min(60 s, this)).
    chat_timeout_s: float = 600.0
    #: Extra files no model may see (gitignore syntax, workspace-relative: ["private/",
    #: "*.sql"]): no completion or CodeChat in them, never quoted as context. Secret files
    #: (.env, keys, credentials, ...) and git-ignored files are excluded without it.
    exclude_globs: list[str] = field(default_factory=list)
    #: Master switch for suggestions (CodeChat stays available). Editors toggle it at run time
    #: through workspace/didChangeConfiguration; no restart.
    enabled: bool = True
    #: Language ids without suggestions, e.g. ["markdown", "plaintext"] (run-time toggle).
    disabled_languages: list[str] = field(default_factory=list)
    #: Most distinct suggestions returned when the user asks explicitly (cycling through
    #: them); suggestions while typing stay at one, so typing latency does not grow.
    candidates: int = 3
    #: Local events log for `tandem stats` (JSONL). None: $XDG_STATE_HOME/tandem/events.jsonl,
    #: i.e. ~/.local/state/tandem/events.jsonl. Never sent anywhere; holds no code.
    events_log: str | None = None
    #: Whether the events log is written. None (the default): only when `events_log` names a
    #: file; the server writes nothing to disk that the user did not ask for. true: also at the
    #: default path; false: never.
    events_log_enabled: bool | None = None
    #: Median suggestion latency (ms) above which the status says "slow", with a hint.
    slow_latency_ms: float = 1500.0

    @property
    def events_log_on(self) -> bool:
        if self.events_log_enabled is None:
            return self.events_log is not None
        return self.events_log_enabled

    @classmethod
    def field_names(cls) -> set[str]:
        return {f.name for f in dataclasses.fields(cls)}

    def merged(self, raw: dict[str, Any] | None) -> tuple[Settings, list[str]]:
        """A copy with `raw` (camelCase or snake_case keys) applied; plus warnings."""
        data = dataclasses.asdict(self)
        warnings: list[str] = []
        if raw is None:
            return Settings(**data), warnings
        if not isinstance(raw, dict):
            return Settings(**data), [f"settings must be an object, got {type(raw).__name__}"]
        raw = raw.get(SECTION, raw) if isinstance(raw.get(SECTION), dict) else raw
        defaults = Settings()
        for key, value in raw.items():
            name = _snake(key)
            if name not in self.field_names():
                warnings.append(f"unknown setting {key!r} ignored")
                continue
            try:
                data[name] = _coerce(name, value, getattr(defaults, name))
            except (TypeError, ValueError) as exc:
                kept = "the current value" if name in SECRET_SETTINGS else repr(data[name])
                warnings.append(f"setting {key!r}: {exc}; keeping {kept}")
        return Settings(**data), warnings

    def enabled_for(self, language_id: str) -> bool:
        if not self.enabled or language_id in self.disabled_languages:
            return False
        return bool(self.enable.get(language_id, self.enable.get("*", True)))


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


_CHOICES = {
    "engine": {"local", "llamacpp", "openai"},
    "speculative": {"auto", "plain", "prompt_lookup", "draft"},
    "completion_mode": {"auto", "inline", "completion", "both"},
    "completion_prompt": {"auto", "fim", "prefix"},
}


def _coerce(name: str, value: Any, default: Any) -> Any:
    if value is None:
        nullable = {"model", "draft_model", "events_log", "events_log_enabled"}
        return None if default is None or name in nullable else default
    if name == "endpoint":
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return value
        raise TypeError("expected a URL or a list of URLs")
    if name == "exclude_globs":
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise TypeError("expected a glob or a list of globs")
    if name == "enable":
        if isinstance(value, bool):
            return {"*": value}
        if isinstance(value, dict) and all(isinstance(v, bool) for v in value.values()):
            return {"*": True, **value}
        raise TypeError("expected true/false or {languageId: bool}")
    if name == "disabled_languages":
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(dict.fromkeys(value))
        raise TypeError("expected a list of language ids")
    if name in _CHOICES:
        if value not in _CHOICES[name]:
            raise ValueError(f"expected one of {sorted(_CHOICES[name])}")
        return value
    if name == "threads":  # 0 means all cores
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise TypeError("expected 0 (all cores) or a positive integer")
        return value
    if isinstance(default, bool) or isinstance(value, bool):
        if not isinstance(value, bool):
            raise TypeError("expected true/false")
        return value
    if isinstance(default, int):
        if not isinstance(value, int) or value < 1:
            raise TypeError("expected a positive integer")
        return value
    if isinstance(default, float):
        if not isinstance(value, int | float) or value < 0:
            raise TypeError("expected a non-negative number")
        if name.endswith("_timeout_s") and value <= 0:
            raise ValueError("expected a positive number of seconds")
        return float(value)
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value
