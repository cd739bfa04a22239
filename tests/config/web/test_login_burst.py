"""Login limits under real concurrency: many threads logging in at once over loopback HTTP to
the real app (uvicorn, real accounts.db). The limit holds however the checks interleave."""

from __future__ import annotations

import socket
import threading
from collections import Counter

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from web_harness import PASSWORD

from branchline.config.web import accounts as acc
from branchline.config.web.auth import CSRF_COOKIE, CSRF_HEADER

BURST = 24


@pytest.fixture
def served(web):
    """``web``'s app served by uvicorn on a free loopback port; its URL."""
    web.client()  # the first admin, through the setup token
    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(web.web, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()  # the socket listens already: requests wait in its backlog
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(30)
    sock.close()


class _CountingHasher(PasswordHasher):
    """argon2-cffi's hasher with the same parameters, counting the password checks."""

    checks = 0

    def verify(self, hash, password):
        type(self).checks += 1
        return super().verify(hash, password)


@pytest.fixture
def checks(web):
    """How many password checks (argon2 verifies) run from here."""
    _CountingHasher.checks = 0
    web.web.state.accounts.hasher = _CountingHasher()
    return lambda: _CountingHasher.checks


def _burst(url: str, passwords: list[str]) -> list[int]:
    start = threading.Barrier(len(passwords))
    statuses: list[int] = [0] * len(passwords)

    def attempt(i: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            token = client.get("/api/setup").cookies[CSRF_COOKIE]
            start.wait()
            statuses[i] = client.post("/api/session", json={"name": "admin",
                                                            "password": passwords[i]},
                                      headers={CSRF_HEADER: token}).status_code

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(passwords))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_a_burst_of_wrong_passwords_gets_no_more_checks_than_the_limit(web, served, checks):
    statuses = Counter(_burst(served, ["wrong guess number one"] * BURST))
    assert checks() == acc.USER_LIMIT
    assert statuses == {401: acc.USER_LIMIT - 1, 429: BURST - acc.USER_LIMIT + 1}
    with httpx.Client(base_url=served, timeout=60) as client:
        token = client.get("/api/setup").cookies[CSRF_COOKIE]
        right = client.post("/api/session", json={"name": "admin", "password": PASSWORD},
                            headers={CSRF_HEADER: token})
    assert right.status_code == 429
    assert right.json()["error"]["message"].startswith(
        "login locked after 5 failed logins for 'admin' within 15 minutes")
    assert checks() == acc.USER_LIMIT


def test_the_right_password_in_a_burst_passes_only_within_the_limit(web, served, checks):
    statuses = _burst(served, ["wrong guess number one"] * (BURST - 1) + [PASSWORD])
    counted = Counter(statuses)
    assert counted[200] + counted[401] + counted[429] == BURST
    assert checks() <= acc.USER_LIMIT
    failures = checks() - counted[200]
    if statuses[-1] == 200:
        assert failures < acc.USER_LIMIT  # it was checked before the limit was reached
    else:
        assert statuses[-1] == 429
