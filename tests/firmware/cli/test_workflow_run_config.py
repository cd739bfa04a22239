"""The everyday workflow as separate processes on one data directory: `branchline run --listen`
in the background; `branchline config publish` from another process reaches the next call;
`config show --history` lists what the page published; `config rollback` takes effect on the
running appliance. Also what `run` tells a newcomer once it is ready.

Nothing sleeps: the appliance logs ``records committed: calls ...`` on every commit of call
records, and the test looks in records.db after each such line, with a bounded deadline for a
broken run."""

import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import yaml
from runtime_harness import prompts_dir, scenario_text  # noqa: F401 - fixture

from branchline.config import default_document_text
from branchline.config.data_dir import DataDir
from branchline.config.store import ConfigStore
from branchline.config.web.auth import CSRF_COOKIE, CSRF_HEADER
from branchline.firmware.records.database import Records

BRANCHLINE = Path(sys.executable).with_name("branchline")
PASSWORD = "branch-line-test-pw"
DEADLINE_S = 180.0  # a bound for a broken run only; each wait ends on the line it waits for
# Callers who hang up once answered: a call takes a few seconds of the real clock.
SHORT_CALLS = scenario_text(trunks=4, stations=3, rate=1800, end="23:59", prelude="[]",
                            goal_steps="[{hang_up: true}]")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Console:
    """The lines a child process prints, read on a thread so the test can wait for one."""

    def __init__(self, child: subprocess.Popen):
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(child.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, found, what: str, deadline: float):
        """The first value of ``found(line)`` that is not None, over lines still to come."""
        while True:
            left = deadline - time.monotonic()
            try:
                line = self._queue.get(timeout=max(left, 0.001))
            except queue.Empty:
                raise AssertionError(f"no {what} within {DEADLINE_S} s:\n"
                                     + "".join(self.lines[-40:])) from None
            if line is None:
                raise AssertionError(f"the process ended before {what}:\n"
                                     + "".join(self.lines[-40:]))
            self.lines.append(line)
            value = found(line)
            if value is not None:
                return value


def _branchline(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BRANCHLINE), *argv], capture_output=True, text=True,
                          timeout=DEADLINE_S)


def _document(site_name: str) -> str:
    document = yaml.safe_load(default_document_text())
    document["site"]["name"] = site_name
    return yaml.safe_dump(document, allow_unicode=True)


def _call_on_version(console: Console, data: DataDir, version: int) -> str:
    """The id of a call recorded on ``version``, waiting for commits as they are logged."""
    deadline = time.monotonic() + DEADLINE_S

    def recorded(line):
        if "records committed: calls" not in line:
            return None
        with Records(data.records_db) as records:
            calls = records.calls(0.0, float("inf"))
        return next((c.call_id for c in calls if c.config_version == version), None)

    return console.wait_for(recorded, f"call on config v{version}", deadline)


def _page_admin(base: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    client.get("/api/setup")
    client.headers[CSRF_HEADER] = client.cookies[CSRF_COOKIE]
    reply = client.post("/api/setup", json={"token": token, "name": "page-admin",
                                            "password": PASSWORD, "language": "en"})
    assert reply.status_code == 200, reply.text
    client.headers[CSRF_HEADER] = reply.json()["csrf"]
    return client


def test_run_config_and_page_share_one_store(tmp_path, prompts_dir):  # noqa: F811
    data = DataDir(tmp_path / "data")
    shutil.copytree(DataDir(prompts_dir).prompts, data.prompts)
    scenario = tmp_path / "short.yaml"
    scenario.write_text(SHORT_CALLS)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    child = subprocess.Popen(
        [str(BRANCHLINE), "run", "--data", str(data.root), "--listen", f"127.0.0.1:{port}",
         "--scenario", str(scenario)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "NOTIFY_SOCKET": ""})
    console = Console(child)
    try:
        deadline = time.monotonic() + DEADLINE_S
        console.wait_for(lambda line: line.startswith("branchline running") or None,
                         "readiness line", deadline)
        where = [console.wait_for(lambda line, p=prefix: line.strip() if line.startswith(p)
                                  else None, f"line {prefix!r}", deadline)
                 for prefix in ("  web page: ", "  first run: ", "  call it: ")]
        assert where[0] == f"web page: {base}/"
        token = re.fullmatch(rf"first run: open {re.escape(base)}/setup\?token=(\S+) to "
                             "create the admin", where[1]).group(1)
        assert where[2].startswith(f"call it: branchline call --data {data.root} ")

        v1_call = _call_on_version(console, data, 1)

        cli_file = tmp_path / "cli.yaml"
        cli_file.write_text(_document("Published from the command line"))
        published = _branchline("config", "publish", str(cli_file), "--note", "cli edit",
                                "--who", "cli-admin", "--data", str(data.root))
        assert published.returncode == 0, published.stderr
        assert published.stdout.startswith("published version 2 by cli-admin")
        assert _call_on_version(console, data, 2) != v1_call

        page = _page_admin(base, token)
        saved = page.put("/api/draft", json={"text": _document("Published from the page"),
                                             "base": 2, "revision": 0})
        assert saved.status_code == 200, saved.text
        done = page.post("/api/versions", json={"note": "page edit", "base": 2,
                                                "revision": saved.json()["revision"]})
        assert done.status_code == 201, done.text
        history = _branchline("config", "show", "--history", "--data", str(data.root))
        assert history.returncode == 0, history.stderr
        rows = [re.fullmatch(r"([* ]) +(\d+)  \S+ +(\S+) +(.*)", line).groups()
                for line in history.stdout.splitlines()[1:]]
        assert rows == [(" ", "1", "branchline", "first run: the bundled default"),
                        (" ", "2", "cli-admin", "cli edit"), ("*", "3", "page-admin", "page edit")]
        _call_on_version(console, data, 3)

        rolled = _branchline("config", "rollback", "1", "--note", "back to the default",
                             "--who", "cli-admin", "--data", str(data.root))
        assert rolled.returncode == 0, rolled.stderr
        assert rolled.stdout.startswith("published version 4 by cli-admin")
        _call_on_version(console, data, 4)
        versions = page.get("/api/versions").json()
        page.close()
        assert (versions[0]["number"], versions[0]["note"]) == (4, "rollback to 1: back to "
                                                                 "the default")

        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=DEADLINE_S) == 0, "".join(console.lines[-40:])
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
    assert not data.old_nested_config.exists()
    with Records(data.records_db) as records:
        versions_used = {c.config_version for c in records.calls(0.0, float("inf"))}
    assert {1, 2, 3, 4} <= versions_used


def test_commands_refuse_a_data_directory_with_two_stores(tmp_path):
    data = DataDir(tmp_path / "data")
    ConfigStore(data.config, lambda text: (text, _NoIssues())).initialise("old: appliance\n")
    ConfigStore(data, lambda text: (text, _NoIssues())).initialise("new: command line\n")
    for argv in (["config", "show", "--history"], ["run"]):
        done = _branchline(*argv, "--data", str(data.root))
        assert done.returncode == 2, done.stdout
        assert f"two configuration stores in {data.root}: {data.config} " in done.stderr
        assert f"mv {data.old_nested_config} {data.root}/config.appliance-old" in done.stderr
    assert (data.old_nested_config / "versions" / "000001.json").is_file()


class _NoIssues:
    errors: tuple = ()
    warnings: tuple = ()
