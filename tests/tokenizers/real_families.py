"""Real tokenizers (scripts/fetch_real_tokenizers.py) and an in-test server that tokenizes with them.

Which families are real and which are constructed is stated per case: a constructed one starts
from a real, vector-verified vocabulary and adds the family's published special tokens, because
no file of that family's own tokenizer can be had here (no model hub).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tokenizers import AddedToken, Tokenizer

FETCH = "python scripts/fetch_real_tokenizers.py  (`make test` runs it first)"


def real_tokenizers_dir() -> Path:
    env = os.environ.get("TANDEM_REAL_TOKENIZERS")
    return Path(env) if env else Path.home() / ".cache" / "tandem" / "real-tokenizers"


@pytest.fixture(scope="session")
def real_dir() -> Path:
    """The converted, verified tokenizers; a missing cache fails (never skips) with the fix."""
    d = real_tokenizers_dir()
    if not (d / ".stamp").is_file():
        pytest.fail(f"no real tokenizers in {d}: run {FETCH}", pytrace=False)
    return d


@dataclass(frozen=True)
class Family:
    """A model family as Tandem claims it, and what its real tokenizer says."""

    key: str
    #: Folder under the cache, or a constructed one (see `_construct`).
    folder: str
    #: The FIM template detection must pick (None: no FIM; detection must refuse).
    template: str | None
    #: The BOS token the family wants in front of a FIM prompt, or None.
    bos: str | None
    #: Other files as <|repo_name|>/<|file_sep|> (or <repo_name>/<file_sep>) tokens.
    repo_level: bool
    #: How its tokenizer was obtained (for the README table).
    source: str


FAMILIES: list[Family] = [
    Family("deepseek-coder", "deepseek-coder", "deepseek", "<｜begin▁of▁sentence｜>", False,
           "real (llama.cpp vocab, 46/46 vectors)"),
    Family("qwen2.5-coder", "qwen2.5-coder", "qwen", None, True,
           "real Qwen2.5 vocabulary (R1 header, 46/46 qwen2 vectors)"),
    Family("starcoder2", "starcoder2", "starcoder2", None, True,
           "real (llama.cpp 'starcoder' vocab, 46/46 vectors)"),
    Family("starcoder", "refact", "starcoder", None, False,
           "real StarCoder-1-style vocab (llama.cpp 'refact', 46/46 vectors)"),
    Family("codellama", "codellama", "codellama", "<s>", False,
           "constructed: real Llama 2 vocab (46/46) + FIM pieces at ids 32007-32010"),
    Family("codestral", "codestral", "codestral", "<s>", False,
           "real (mistral-common's v3 SentencePiece model)"),
    Family("codegemma", "@codegemma", "codegemma", "<bos>", False,
           "constructed: real Gemma 4 vocab (45/45) + CodeGemma's FIM tokens"),
    Family("granite-3", "@granite-3", "granite", None, False,
           "constructed: real StarCoder-1 vocab + Granite's role tokens"),
    Family("granite-4", "@granite-4", "granite-4", None, False,
           "constructed: real GPT-2 vocab + Granite 4's special tokens"),
    Family("gpt-2", "gpt-2", None, None, False, "real (46/46 vectors)"),
    Family("llama-2", "llama-spm", None, "<s>", False, "real (46/46 vectors)"),
    # chat only (CodeChat tests)
    Family("deepseek-r1-qwen", "deepseek-r1-qwen", None, "<｜begin▁of▁sentence｜>", False,
           "real (R1-Distill-Qwen-7B GGUF header, 46/46 qwen2 vectors)"),
    Family("deepseek-llm", "deepseek-llm", None, "<｜begin▁of▁sentence｜>", False,
           "real (46/46 vectors)"),
]  # fmt: skip
BY_KEY = {f.key: f for f in FAMILIES}
FIM_FAMILIES = [f for f in FAMILIES if f.template]
NO_FIM = ["gpt-2", "llama-2"]

# The special tokens the constructed families add (from their published tokenizer configs).
_CONSTRUCTED: dict[str, tuple[str, list[str], dict[str, Any]]] = {
    "@codegemma": (
        "gemma-4",
        ["<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|file_separator|>",
         "<start_of_turn>", "<end_of_turn>"],
        {"chat_template_file": "google-gemma-2-2b-it.jinja"},
    ),
    "@granite-3": (
        "refact",
        ["<|end_of_text|>", "<|start_of_role|>", "<|end_of_role|>", "<|tool_call|>"],
        {"eos_token": "<|end_of_text|>", "bos_token": "<|end_of_text|>",
         "chat_template_file": "ibm-granite-granite-3.3-2B-Instruct.jinja"},
    ),
    "@granite-4": (
        "gpt-2",
        ["<|end_of_text|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
         "<|endofprompt|>", "<|start_of_role|>", "<|end_of_role|>", "<|tool_call|>"],
        {"eos_token": "<|end_of_text|>", "bos_token": "<|end_of_text|>",
         "chat_template_file": "ibm-granite-granite-4.0.jinja"},
    ),
}  # fmt: skip


def _construct(real: Path, name: str, out: Path) -> Path:
    base, specials, cfg_extra = _CONSTRUCTED[name]
    tok = Tokenizer.from_file(str(real / base / "tokenizer.json"))
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    cfg = json.loads((real / base / "tokenizer_config.json").read_text())
    cfg.update({k: v for k, v in cfg_extra.items() if k != "chat_template_file"})
    cfg["chat_template"] = (real / "templates" / cfg_extra["chat_template_file"]).read_text()
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps(cfg, ensure_ascii=False))
    return out


@pytest.fixture(scope="session")
def family_dir(real_dir, tmp_path_factory):
    """family key -> a tokenizer folder (real, or constructed once per session)."""
    made: dict[str, Path] = {}

    def get(key: str) -> Path:
        folder = BY_KEY[key].folder
        if not folder.startswith("@"):
            return real_dir / folder
        if folder not in made:
            made[folder] = _construct(real_dir, folder, tmp_path_factory.mktemp(folder[1:]))
        return made[folder]

    return get


@pytest.fixture(scope="session")
def hf_tokenizer(family_dir):
    """family key -> transformers tokenizer (what LocalEngine / `tokenizer` setting load)."""
    from transformers import AutoTokenizer

    cache: dict[str, Any] = {}

    def get(key: str) -> Any:
        if key not in cache:
            cache[key] = AutoTokenizer.from_pretrained(str(family_dir(key)), local_files_only=True)
        return cache[key]

    return get


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the probe sends ~40 /tokenize requests at once
    daemon_threads = True


class TokenizingServer:
    """An OpenAI-compatible server as far as Tandem's probe and FIM requests go: /v1/models,
    vLLM's /tokenize with a real tokenizer, and a streamed /v1/completions that records prompts.
    """

    def __init__(self, tokenizer: Tokenizer, answer: str = "return w * h") -> None:
        self.tokenizer = tokenizer
        self.answer = answer
        self.requests: list[tuple[str, dict]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _json(self, code: int, obj: object) -> None:
                body = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/v1/models":
                    self._json(200, {"data": [{"id": "real", "max_model_len": 4096}]})
                else:
                    self._json(404, {"detail": "Not Found"})

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(n) or b"{}")
                server.requests.append((self.path, body))
                if self.path == "/tokenize":
                    add = body.get("add_special_tokens", True)
                    ids = server.tokenizer.encode(body["prompt"], add_special_tokens=add).ids
                    self._json(200, {"tokens": ids, "count": len(ids)})
                    return
                if self.path != "/v1/completions":
                    self._json(404, {"detail": "Not Found"})
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                chunks = [{"index": 0, "text": server.answer, "finish_reason": None}]
                chunks.append({"index": 0, "text": "", "finish_reason": "stop"})
                for c in chunks:
                    self.wfile.write(f"data: {json.dumps({'choices': [c]})}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def prompts(self) -> list[dict]:
        return [b for p, b in self.requests if p == "/v1/completions"]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def tokenizing_server(family_dir):
    servers: list[TokenizingServer] = []

    def start(key: str) -> TokenizingServer:
        tok = Tokenizer.from_file(str(family_dir(key) / "tokenizer.json"))
        s = TokenizingServer(tok)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.close()
