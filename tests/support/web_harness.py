"""The web service over a real appliance on the virtual clock, for every web test.

    h = WebHarness(tmp_path, prompts_dir=prompts_dir, bank_url=bank_url)
    admin = h.client()                      # logged in through the real API, CSRF header set
    viewer = h.client("viewer")             # created by the admin through /api/users
    h.run(5)                                # 5 virtual seconds: ticks, then link.pump
    admin.post("/api/agents/1001/state", json={"action": "not_ready", "reason": "lunch"})
    h.close()

Real parts throughout: ``RuntimeHarness`` (sim board with virtual callers and agents, DSP,
IVR and ACD, records.db, the bank host simulator on loopback), ``RuntimeLink`` pumped after
every tick as ``branchline run`` does, and ``create_app`` served by Starlette's TestClient.
The prompt store is a copy of the session's built ``prompts_dir`` under ``tmp_path``, so a
test that uploads a recording changes nothing another test hears. pytest-free: fixtures come
from runtime_harness (``from runtime_harness import bank_url, prompts_dir``).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from fastapi.testclient import TestClient
from runtime_harness import RuntimeHarness, scenario_text

from branchline.config.data_dir import DataDir
from branchline.config.web import create_app
from branchline.config.web.auth import CSRF_COOKIE, CSRF_HEADER
from branchline.firmware.web.link import RuntimeLink

__all__ = ["PASSWORD", "WebHarness"]

PASSWORD = "branch-line-test-pw"
_TOKEN = re.compile(r"token=([A-Za-z0-9_\-]+)")


class WebHarness:
    def __init__(self, tmp_path: Path, *, prompts_dir: Path, bank_url: str,
                 scenario: str | None = None, edit_document=None, seed: int | None = None,
                 sip: bool = False):
        self.tmp_path = Path(tmp_path)
        store_dir = self.tmp_path / "prompt-store"
        shutil.copytree(DataDir(prompts_dir).prompts, DataDir(store_dir).prompts)
        self.data_dir = self.tmp_path / "data"
        self.runtime = RuntimeHarness(
            self.data_dir, scenario or scenario_text(stations=2, agents=[("1001", 0), ("1002", 1)]),
            prompts_dir=store_dir, bank_url=bank_url, seed=seed, edit_document=edit_document,
            sip=sip)
        self.app = self.runtime.app
        self.store = self.runtime.store
        self.link = RuntimeLink(self.app, host_url=bank_url)
        self.announced: list[str] = []
        self.web = create_app(self.store, self.link, data_dir=self.data_dir,
                              announce=self.announced.append)
        self.link.pump(self.runtime.clock.now())
        self._admin: TestClient | None = None
        self._users = 0

    # --- time -----------------------------------------------------------------------------

    def step(self) -> None:
        self.runtime.step()
        self.link.pump(self.runtime.clock.now())

    def run(self, seconds: float) -> None:
        for _ in range(round(seconds / 0.02)):
            self.step()

    def run_until(self, condition, limit: float) -> float:
        clock = self.runtime.clock
        end = clock.now() + limit
        while not condition():
            if clock.now() >= end:
                raise AssertionError(f"condition not met within {limit} virtual seconds")
            self.step()
        return clock.now()

    # --- clients --------------------------------------------------------------------------

    def anonymous(self) -> TestClient:
        """A client with the CSRF cookie and header but no session."""
        client = TestClient(self.web)
        client.get("/api/setup")
        client.headers[CSRF_HEADER] = client.cookies[CSRF_COOKIE]
        return client

    def client(self, role: str = "admin", *, name: str | None = None,
               language: str = "en") -> TestClient:
        """A client logged in with ``role``: the first admin through the one-time setup token,
        everyone else created by that admin through ``POST /api/users``."""
        if self._admin is None:
            self._admin = self._first_admin(language)
            if role == "admin" and name is None:
                return self._admin
        self._users += 1
        name = name or f"{role}{self._users}"
        made = self._admin.post("/api/users", json={"name": name, "role": role,
                                                     "language": language,
                                                     "password": PASSWORD})
        assert made.status_code == 201, made.text
        return self.login(name)

    def login(self, name: str, password: str = PASSWORD) -> TestClient:
        client = self.anonymous()
        reply = client.post("/api/session", json={"name": name, "password": password})
        assert reply.status_code == 200, reply.text
        client.headers[CSRF_HEADER] = reply.json()["csrf"]
        return client

    def _first_admin(self, language: str) -> TestClient:
        found = [m for m in (_TOKEN.search(line) for line in self.announced) if m]
        assert found, f"no first-run setup link was announced: {self.announced}"
        client = self.anonymous()
        reply = client.post("/api/setup", json={"token": found[-1].group(1), "name": "admin",
                                                "password": PASSWORD, "language": language})
        assert reply.status_code == 200, reply.text
        client.headers[CSRF_HEADER] = reply.json()["csrf"]
        return client

    # --- the end --------------------------------------------------------------------------

    def close(self):
        """Drain and stop the appliance (records written); the call records."""
        self.link.close()
        return self.runtime.close()
