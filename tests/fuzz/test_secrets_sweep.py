"""The secrets sweep (defect 4): open every kind of secret file next to ordinary code, complete
and chat everywhere, and check every byte the backend received for the planted canaries."""

from __future__ import annotations

import asyncio
import json

import pytest

from completion.context.privacy import (
    excluded,
    is_secret,
    may_quote,
    redact_secrets,
    refusal_reason,
)
from tests.fuzz.harness import (
    SUM_PY,
    Backend,
    LspProcess,
    assert_healthy,
    count,
    openai_settings,
)

#: Shares identifiers with the file being edited, so cross-file context would pick it.
BAIT = "def add(a, b):\n    total = a + b\n    return total\n"

AWS_KEY = "AKIAZ7QCANARY0000001"
GH_TOKEN = "ghp_" + "C4n4ry" * 6
GITLAB = "glpat-canaryCANARY0123456789"
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIcanaryKEYbody\n-----END RSA PRIVATE KEY-----"


def _secret_files(root) -> dict[str, str]:
    """relative path -> content; each content carries its own canary."""
    files = {
        ".env": "DB_PASSWORD=canary-env\n",
        ".envrc": "export TOKEN=canary-envrc\n",
        "credentials.json": '{"password": "canary-credentials"}\n',
        ".pgpass": "db:5432:app:user:canary-pgpass\n",
        "config/secret.yaml": "password: canary-secret-yaml\n",
        "config/secrets.yaml": "password: canary-secrets-yaml\n",
        "prod.tfvars": 'db_password = "canary-tfvars"\n',
        "gcp-key.json": '{"type": "service_account", "private_key_id": "canary-sa"}\n',
        "kubeconfig": "users:\n- user:\n    token: canary-kubeconfig\n",
        ".vault-token": "canary-vault\n",
        "id_rsa": PRIVATE_KEY.replace("canary", "canary-idrsa") + "\n",
        "server.pem": "canary-pem\n",
        "notes.py": "# looks innocent\nKEY = '''" + PRIVATE_KEY + "'''\n",  # content check
        "private/internal.py": "# canary-excluded\n",  # excludeGlobs
        "build/generated.py": "# canary-gitignored\n",  # .gitignore
    }
    return {path: BAIT + text for path, text in files.items()}


def test_secret_names_and_contents():
    for uri in [
        "file:///p/.envrc", "file:///p/.pgpass", "file:///p/config/secret.yaml",
        "file:///p/prod.tfvars", "file:///p/kubeconfig", "file:///p/.vault-token",
        "file:///p/service-account.json", "file:///p/terraform.tfstate",
    ]:  # fmt: skip
        assert is_secret(uri), uri
        count("secrets", "cases")
    for uri in ["file:///p/secretary.py", "file:///p/tf_vars.py", "file:///p/config/app.yaml"]:
        assert not is_secret(uri), uri
    assert refusal_reason("file:///p/key.json", text='{"type": "service_account"}')
    assert refusal_reason("file:///p/a.py", text=PRIVATE_KEY)
    assert refusal_reason("file:///p/a.py", text="x = 1") is None
    assert excluded("file:///w/private/x.py", ["private/"], "/w")
    assert excluded("file:///w/db/dump.sql", ["*.sql"], "/w")
    assert not excluded("file:///w/src/x.py", ["private/", "*.sql"], "/w")
    assert not may_quote("file:///elsewhere/util.py", "python", "/w")  # outside the workspace
    assert may_quote("file:///w/util.py", "python", "/w")


def test_redaction_masks_tokens_and_keeps_positions():
    text = f"a = '{AWS_KEY}'\nb = '{GH_TOKEN}'\nc = '{GITLAB}'\n{PRIVATE_KEY}\nd = 1\n"
    text += "aws_secret_access_key = " + "x" * 40 + "\n"
    masked, n = redact_secrets(text)
    assert n == 5 and len(masked) == len(text)
    assert masked.count("\n") == text.count("\n")
    for secret in (AWS_KEY, GH_TOKEN, GITLAB, "MIIcanaryKEYbody", "x" * 40):
        assert secret not in masked
    assert masked.endswith("aws_secret_access_key = " + "*" * 40 + "\n")
    assert "d = 1" in masked
    assert redact_secrets("sk = 'short'")[1] == 0  # no false positive on ordinary code
    count("secrets", "cases", 6)


@pytest.fixture
def backend():
    b = Backend("ok")
    yield b
    b.close()


async def test_no_secret_reaches_the_backend(backend, tmp_path):
    ws = tmp_path / "ws"
    outside = tmp_path / "outside"
    (ws / "config").mkdir(parents=True)
    (ws / "private").mkdir()
    (ws / "build").mkdir()
    outside.mkdir()
    (ws / ".gitignore").write_text("build/\n")
    files = _secret_files(ws)
    for rel, text in files.items():
        (ws / rel).write_text(text)
    settings = openai_settings(backend.url, excludeGlobs=["private/"])
    lsp = await LspProcess.start(settings)
    try:
        await lsp.initialize(str(ws))
        main = f"file://{ws}/main.py"
        # the file being edited holds tokens too: masked in its own prompt
        lsp.open(main, SUM_PY + f"\nTOKEN = '{GH_TOKEN}'\nAWS = '{AWS_KEY}'\n")
        lsp.open(f"file://{ws}/util.py", BAIT + f"GITLAB = '{GITLAB}'\n")  # quotable, masked
        lsp.open(f"file://{outside}/other.py", BAIT + "# canary-outside\n")
        for rel, text in files.items():
            lang = "dotenv" if rel.startswith(".env") else "plaintext"
            lsp.open(f"file://{ws}/{rel}", text, language=lang)
        # completing inside each secret file: refused quietly (null, no error). A git-ignored
        # file may be edited with completions (only never quoted into other prompts).
        for rel, text in files.items():
            if rel.startswith("build/"):
                continue
            res = await lsp.complete(f"file://{ws}/{rel}", text.count("\n"), 0)
            assert res is not None and "error" not in res and res["result"] is None, (rel, res)
            count("secrets", "cases")
        disabled = [
            n["params"]["message"]
            for n in lsp.notifications
            if n.get("method") == "tandem/status" and n["params"]["state"] == "disabled"
        ]
        assert any(".env" in m and "secret" in m for m in disabled), disabled
        # CodeChat in a secret file: refused with the reason, nothing generated
        for rel in (".env", "gcp-key.json"):
            res = await lsp.request(
                "workspace/executeCommand",
                {"command": "tandem.explain", "arguments": [{"uri": f"file://{ws}/{rel}"}]},
            )
            assert res is not None and "error" not in res, res
            assert res["result"]["ok"] is False, res
            count("secrets", "cases")
        # completing in the ordinary file works, and quotes the ordinary neighbour
        await assert_healthy(lsp, main, "secrets")
        sent = "\n".join(backend.bodies)
        assert "util.py" in sent  # cross-file context is on: the sweep is meaningful
        leaked = [c for c in ("canary", AWS_KEY, GH_TOKEN, GITLAB, "MIIcanary") if c in sent]
        count("secrets", "secrets sent", len(leaked))
        assert leaked == [], leaked
    finally:
        await lsp.stop()


# -- issue 26: every secret kind through every action ----------------------------------------------

#: One of each token kind `redact_secrets` knows (canary values: none is a real credential).
TOKENS = {
    "AWS access key id": "AKIAZQXWCEVRBTNYMUKA",
    "AWS secret key": "wJalrXUtnFEMIK7MDENGbPxRfiCYCANARY0KEY01",
    "GitHub token": "ghp_" + "C4n4ryT0k3n" * 4,
    "GitHub fine-grained token": "github_pat_" + "C4n4ry0000" * 3,
    "GitLab token": "glpat-" + "C4n4ryC4n4ry" * 2,
    "Slack token": "xoxb-1234567890-C4n4ryS1ack",
    "Stripe key": "sk_live_" + "C4n4ry0123456789" * 2,
    "OpenAI key": "sk-proj-" + "C4n4ryOpenAI0123" * 3,
    "Google API key": "AIza" + "C4n4ryG00gl3K3y0123456789abcdefghij",
}


def _app_source() -> str:
    lines = [f'{name.upper().replace(" ", "_").replace("-", "_")} = "{value}"'
             for name, value in TOKENS.items() if name != "AWS secret key"]  # fmt: skip
    lines.append(f'AWS = {{"aws_secret_access_key": "{TOKENS["AWS secret key"]}"}}')
    return "\n".join(lines) + "\n\n\n" + BAIT


def _split_secret_source() -> str:
    """`aws_secret_access_key=` on line 9 and its value on line 10, where a snippet window
    starts: masked only when the document is redacted whole (defect 3)."""
    head = [f"unrelated_{i} = {i}" for i in range(8)]
    head += ['CONFIG = """', "aws_secret_access_key=", TOKENS["AWS secret key"], '"""']
    body = [f"total = add(a, b) + total  # {i}" for i in range(18)]
    return "\n".join(head + body) + "\n"


def _leaks(bodies: list[str]) -> list[str]:
    """Token kinds found in anything the backend received (raw or JSON-escaped)."""
    sent = "\n".join(bodies)
    return [
        name for name, value in TOKENS.items()
        if value in sent or json.dumps(value)[1:-1] in sent or value[4:24] in sent
    ]  # fmt: skip


async def _run_action(lsp: LspProcess, action: str, arg: dict) -> dict:
    """Run one CodeChat command to its end (the client declares no chatResult, so the end is
    the one window/showMessage); returns the command's immediate answer."""
    shown = sum(n.get("method") == "window/showMessage" for n in lsp.notifications)
    res = await lsp.request("workspace/executeCommand",
                            {"command": f"tandem.{action}", "arguments": [arg]})  # fmt: skip
    assert res is not None and "error" not in res and res["result"]["ok"], (action, res)
    for _ in range(3000):
        if sum(n.get("method") == "window/showMessage" for n in lsp.notifications) > shown:
            return res["result"]
        await asyncio.sleep(0.01)
    raise AssertionError(f"{action} never finished")


async def test_every_secret_kind_through_every_action_never_reaches_the_backend(backend, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    app, split = _app_source(), _split_secret_source()
    lsp = await LspProcess.start(openai_settings(backend.url))
    try:
        await lsp.initialize(str(ws))
        app_uri, split_uri = f"file://{ws}/app.py", f"file://{ws}/conf.py"
        main_uri = f"file://{ws}/main.py"
        lsp.open(split_uri, split)
        lsp.open(app_uri, app)
        lsp.open(main_uri, BAIT + "total = add(a, b) + total\n")
        # completions: in the file full of tokens, and next to the split secret
        for uri, text in ((app_uri, app), (main_uri, BAIT), (split_uri, split)):
            res = await lsp.complete(uri, text.count("\n"), 0)
            assert res is not None and "error" not in res, res
            count("secrets", "cases")
        assert "conf.py" in "\n".join(backend.bodies)  # the split file's windows were quoted
        # CodeChat: explanations and answers keep the masks; edits get the secrets back
        masked = redact_secrets(app)[0]
        whole = {"uri": app_uri}
        backend.chat_answer = "It defines constants and `add`."
        await _run_action(lsp, "explain", whole)
        typed = ", ".join(  # every kind typed into the question
            f"aws_secret_access_key = {value}" if name == "AWS secret key" else value
            for name, value in TOKENS.items()
        )
        await _run_action(lsp, "ask", {**whole, "instruction": f"which of {typed} is unused?"})
        gh = "*" * len(TOKENS["GitHub token"])
        noted = masked.replace(f'"{gh}"\n', f'"{gh}"  # rotate yearly\n').replace("total", "result")
        backend.chat_answer = "```python\n" + noted + "```"
        await _run_action(lsp, "refactor", whole)
        backend.chat_answer = "```python\n" + masked.replace("    total", "    # sum\n    total") \
            + "```"  # fmt: skip
        await _run_action(lsp, "docs", whole)
        backend.chat_answer = "```python\nfrom app import add\n\n\ndef test_add():\n" \
            "    assert add(1, 2) == 3\n```"  # fmt: skip
        await _run_action(lsp, "tests", whole)
        count("secrets", "cases", 5 * len(TOKENS))
        leaked = _leaks(backend.bodies)
        count("secrets", "secrets sent", len(leaked))
        assert leaked == [], leaked
        # the edits the editor was asked to apply hold the real values, never a mask
        edits = [r for r in lsp.server_requests if r["method"] == "workspace/applyEdit"]
        shown = [n["params"]["message"] for n in lsp.notifications
                 if n.get("method") == "window/showMessage"]  # fmt: skip
        assert len(edits) >= 2, shown[-3:]
        refactor = json.dumps(edits[0]["params"])
        assert f'{TOKENS["GitHub token"]}\\"  # rotate yearly' in refactor, refactor
        assert "*" * 20 not in refactor and "*" * 20 not in json.dumps(edits[1]["params"])
        backend.chat_answer = None
        await assert_healthy(lsp, main_uri, "secrets")
    finally:
        await lsp.stop()


async def test_a_secret_split_over_a_window_start_is_masked(backend, tmp_path):
    """Defect 3: `aws_secret_access_key=` ends line 9 and its value is line 10, where a snippet
    window starts; the window quoted into the neighbour's prompt must not carry the value."""
    ws = tmp_path / "ws"
    ws.mkdir()
    lsp = await LspProcess.start(openai_settings(backend.url))
    try:
        await lsp.initialize(str(ws))
        lsp.open(f"file://{ws}/conf.py", _split_secret_source())
        main_uri = f"file://{ws}/main.py"
        lsp.open(main_uri, BAIT + "total = add(a, b) + total\n")
        res = await lsp.complete(main_uri, 4, 0)
        assert res is not None and "error" not in res, res
        sent = "\n".join(backend.bodies)
        # the window from line 10 was quoted (its value line first), not the one from line 0
        assert "+ total  # 17" in sent and "unrelated_0" not in sent, sent[-2000:]
        assert TOKENS["AWS secret key"] not in sent
        count("secrets", "cases")
    finally:
        await lsp.stop()
