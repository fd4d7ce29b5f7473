"""CodeChat through an OpenAI-compatible chat endpoint: reasoning never reaches the streamed
progress.

A real HTTP server on 127.0.0.1 (the standard library's, in a thread) streams a reasoning
model's answer the ways servers do: reasoning opened by the template in the prompt (QwQ-32B's
original template: the output has only `</think>`), a `<think>` block the model opens itself,
and the reasoning apart in `delta.reasoning_content` (vLLM's and llama-server's reasoning
parsers). The engine is the real `OpenAIEngine` over real sockets; the runner is CodeChat's.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from codechat import ChatTask, run_task
from inference.openai import OpenAIEngine

ROOT = Path(__file__).resolve().parents[2]
CODE = "def area(w, h):\n    return w * h\n"
REASONING = "Okay, the user wants an explanation. SECRET-REASONING: think about w and h. "
ANSWER = "It returns the **area** of a `w` by `h` rectangle: their product."

#: llama.cpp's copy of QwQ-32B's template (real-tokenizers/templates) adds one line that closes
#: `<think>` again unless `enable_thinking`; without it, it is QwQ-32B's original template: the
#: assistant turn opens `<think>`, so the model's output has only the closing tag.
ENABLE_THINKING_LINE = "{%- if not enable_thinking -%}{{- '</think>' -}}{%- endif -%}"
#: The same generation prompt, when the real-tokenizer cache is not there.
QWQ_FALLBACK = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n<think>\\n' }}{%- endif %}"
)


def qwq_original_template() -> str:
    real = (
        Path(
            os.environ.get("TANDEM_REAL_TOKENIZERS")
            or Path.home() / ".cache/tandem/real-tokenizers"
        )
        / "templates/Qwen-QwQ-32B.jinja"
    )
    if real.is_file() and ENABLE_THINKING_LINE in real.read_text():
        return real.read_text().replace(ENABLE_THINKING_LINE, "")
    return QWQ_FALLBACK


VLLM_NO_TEMPLATE = (
    "As of transformers v4.44, default chat template is no longer allowed, so you must provide "
    "a chat template if the tokenizer does not define one."
)


def _pieces(text: str, n: int = 7) -> list[str]:
    return [text[i : i + n] for i in range(0, len(text), n)]


#: model name → the deltas the server streams
SCRIPTS: dict[str, list[dict]] = {
    # the template opened <think> in the prompt: reasoning, then </think>, then the answer
    "opened-by-prompt": [{"content": p} for p in _pieces(REASONING + "\n</think>\n\n" + ANSWER)],
    # the model writes the whole block itself
    "think-tags": [
        {"content": p} for p in _pieces("<think>\n" + REASONING + "</think>\n" + ANSWER)
    ],
    # the server's reasoning parser: reasoning apart, the content is the answer alone
    "reasoning-content": [{"reasoning_content": p} for p in _pieces(REASONING)]
    + [{"content": p} for p in _pieces(ANSWER)],
    # no reasoning at all
    "plain": [{"content": p} for p in _pieces(ANSWER)],
}


@pytest.fixture(scope="module")
def chat_server():
    seen: list[tuple[str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            body = json.dumps({"data": [{"id": "m", "max_model_len": 4096}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.path, body))
            if self.path == "/tokenize":  # no special tokens to find
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            chat = self.path == "/v1/chat/completions"
            if body["model"] == "no-template" and chat:  # vLLM's answer for a base model
                error = json.dumps({"error": {"message": VLLM_NO_TEMPLATE}}).encode()
                self.send_response(400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(error)))
                self.end_headers()
                self.wfile.write(error)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            script = SCRIPTS.get(body["model"]) or SCRIPTS["plain"]
            for delta in script:
                choice = {"index": 0, "finish_reason": None}
                choice.update({"delta": delta} if chat else {"text": delta["content"]})
                event = {"choices": [choice]}
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            end = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
            self.wfile.flush()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def qwq_tokenizer_dir(tmp_path_factory) -> Path:
    """A local tokenizer folder (the demo model's vocabulary) carrying QwQ's original chat
    template: what `tokenizer` points at for a QwQ server."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(ROOT / "inference/demo_models/target"))
    tok.chat_template = qwq_original_template()
    out = tmp_path_factory.mktemp("qwq-tokenizer")
    tok.save_pretrained(str(out))
    return out


def _explain(engine: OpenAIEngine) -> tuple[object, list[str]]:
    progress: list[str] = []
    task = ChatTask("explain", "/w/geometry.py", "python", CODE, 0, len(CODE))

    async def go():
        try:
            return await run_task(engine, task, on_text=lambda _d, so_far: progress.append(so_far))
        finally:
            await engine.close()

    return asyncio.run(go()), progress


def test_a_server_without_a_chat_template_gets_the_plain_format(chat_server):
    """A base model behind vLLM: chat is refused (no template), so CodeChat sends the plain
    `alpaca` prompt to /v1/completions instead, and answers."""
    base, seen = chat_server
    outcome, progress = _explain(OpenAIEngine(base, model="no-template"))
    paths = [p for p, _ in seen[-2:]]
    assert paths == ["/v1/chat/completions", "/v1/completions"]
    assert "### Response:" in seen[-1][1]["prompt"]
    assert outcome.ok and outcome.markdown == ANSWER and outcome.prompt_format == "alpaca"


@pytest.mark.parametrize("model", sorted(SCRIPTS))
def test_reasoning_never_reaches_the_progress_without_a_local_template(chat_server, model):
    base, seen = chat_server
    outcome, progress = _explain(OpenAIEngine(base, model=model))
    path, body = seen[-1]
    assert path == "/v1/chat/completions"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "prompt" not in body and "def area" in body["messages"][-1]["content"]
    assert outcome.ok and outcome.markdown == ANSWER, outcome.message
    assert outcome.prompt_format == "server template"
    for text in progress:
        assert "SECRET-REASONING" not in text and "think>" not in text, text
    assert progress and progress[-1] == ANSWER
    if model == "reasoning-content":  # the server said so: the answer streams at once
        assert len(progress) > 1


@pytest.mark.parametrize("model", ["opened-by-prompt", "plain"])
def test_a_local_template_says_whether_the_prompt_opens_think(
    chat_server, qwq_tokenizer_dir, model
):
    """With `tokenizer` set, the template is rendered locally: QwQ's opens `<think>`, so the
    reasoning is hidden up to `</think>` and the answer then streams piece by piece."""
    base, seen = chat_server
    outcome, progress = _explain(OpenAIEngine(base, model=model, tokenizer_dir=qwq_tokenizer_dir))
    assert seen[-1][0] == "/v1/chat/completions"
    assert outcome.prompt_format == "server template"
    assert all("SECRET-REASONING" not in t for t in progress)
    if model == "opened-by-prompt":
        assert outcome.ok and outcome.markdown == ANSWER
        assert len(progress) > 3 and progress[-1] == ANSWER  # streamed, not held to the end
    else:  # a QwQ template with an answer that never closes </think>: all of it hidden
        assert not outcome.ok and outcome.reason == "empty" and progress == []
