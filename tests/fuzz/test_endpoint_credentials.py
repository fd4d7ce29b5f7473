"""Credentials in an endpoint URL (`http://user:password@host`) are used for the requests and
shown nowhere (issue 26, item 10): not in window/logMessage, showMessage, tandem/status or on
stderr, whether the server answers, fails or cannot be reached."""

from __future__ import annotations

import base64
import socket

from inference.urls import redact_url, split_userinfo
from tests.fuzz.harness import SUM_PY, Backend, LspProcess, count, openai_settings

PASSWORD = "pw-canary-7f3a"


def test_split_and_redact():
    assert split_userinfo("http://u:p%40ss@h:8000/v1") == ("http://h:8000/v1", ("u", "p@ss"))
    assert split_userinfo("http://h:8000") == ("http://h:8000", None)
    assert redact_url("see http://u:pw@h:1/x and https://tok@h2") == (
        "see http://***@h:1/x and https://***@h2"
    )
    assert redact_url("a@b.c, mailto:x@y") == "a@b.c, mailto:x@y"  # no scheme://: untouched


async def test_endpoint_credentials_are_sent_but_never_shown(tmp_path):
    good = Backend("ok")
    failing = Backend("http500")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    with_pw = [u.replace("http://", f"http://user:{PASSWORD}@") for u in (failing.url, dead)]
    lsp = await LspProcess.start(openai_settings(*with_pw, good.url.replace(
        "http://", f"http://user:{PASSWORD}@")))  # fmt: skip
    try:
        await lsp.initialize(str(tmp_path))
        uri = f"file://{tmp_path}/a.py"
        lsp.open(uri, SUM_PY)
        for _ in range(5):  # the first may pass its deadline while discovery fails over
            res = await lsp.complete(uri, 1, 0)
            if res is not None and res.get("result"):
                break
        assert res is not None and res["result"]["items"], res  # failed over to the good one
        # a bad endpoint setting: the warning says what it keeps, masked
        lsp.send({"method": "workspace/didChangeConfiguration",
                  "params": {"settings": {"tandem": {"endpoint": 5}}}})  # fmt: skip
        lsp.send({"method": "workspace/didChangeConfiguration",
                  "params": {"settings": {"tandem": {"endpoint": with_pw[1:]}}}})  # fmt: skip
        await lsp.complete(uri, 1, 0)  # fails: unreachable
        status = await lsp.request("workspace/executeCommand", {"command": "tandem.status"})
        assert status is not None and "result" in status
    finally:
        await lsp.stop()
        good.close()
        failing.close()
    expected = "Basic " + base64.b64encode(f"user:{PASSWORD}".encode()).decode()
    assert expected in good.auth  # the credentials did their job
    shown = lsp.log_text() + "".join(str(n) for n in lsp.notifications) + str(lsp.responses)
    assert "127.0.0.1" in shown  # the endpoints are named...
    assert PASSWORD not in shown  # ...without their password
    assert "keeping" in shown and "***@" in shown
    count("secrets", "log checks")
