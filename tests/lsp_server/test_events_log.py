"""The events log writes only its own file (issue 26, item 11): never through a symlink, never
into a file that is not a Tandem events log, and no directories but the default state dir."""

from __future__ import annotations

import json
import os

from lsp_server.events_log import EventsLog, default_path


def _log(path) -> EventsLog:
    log = EventsLog()
    log.configure(True, str(path))
    return log


def test_a_symlink_is_never_followed(tmp_path):
    source = tmp_path / "outside" / "app.py"
    source.parent.mkdir()
    source.write_text("print('hello')\n")
    link = tmp_path / "events.jsonl"
    link.symlink_to(source)
    log = _log(link)
    log.append("shown", id="s1", language="python")
    log.append("shown", id="s2", language="python")
    assert source.read_text() == "print('hello')\n"  # before: JSON lines appended to it
    dangling = tmp_path / "dangling.jsonl"
    dangling.symlink_to(tmp_path / "nowhere.jsonl")
    _log(dangling).append("shown", id="s1")
    assert not (tmp_path / "nowhere.jsonl").exists()


def test_an_existing_file_that_is_not_an_events_log_is_refused(tmp_path):
    for name, text in [("app.py", "import os\n"), ("notes.jsonl", '{"other": 1}\n'),
                       ("empty.py", "")]:  # fmt: skip
        path = tmp_path / name
        path.write_text(text)
        _log(path).append("shown", id="s1")
        assert path.read_text() == text, name


def test_its_own_log_and_a_new_file_are_appended_to(tmp_path):
    path = tmp_path / "events.jsonl"
    _log(path).append("shown", id="s1", language="python")
    _log(path).append("accepted", id="s1", language="python", chars=3)  # a later session
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["event"] for e in events] == ["shown", "accepted"]
    assert os.stat(path).st_mode & 0o777 == 0o600
    empty = tmp_path / "fresh.jsonl"
    empty.write_text("")
    _log(empty).append("shown", id="s2")
    assert json.loads(empty.read_text())["id"] == "s2"


def test_no_directories_are_created_but_the_default_one(tmp_path, monkeypatch):
    _log(tmp_path / "a" / "b" / "events.jsonl").append("shown", id="s1")
    assert not (tmp_path / "a").exists()  # before: created
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    log = EventsLog()
    log.configure(True, None)
    log.append("shown", id="s1")
    assert default_path().exists()
    assert os.stat(default_path().parent).st_mode & 0o777 == 0o700


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "events.jsonl"
    os.mkfifo(fifo)
    _log(fifo).append("shown", id="s1")  # returns at once (no reader: refused)
