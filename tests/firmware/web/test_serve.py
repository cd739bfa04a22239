"""The web service served by uvicorn from a running appliance, over real loopback HTTP."""

from __future__ import annotations

import re
import socket
import sqlite3
import threading

import httpx
import pytest
from runtime_harness import RuntimeHarness, bank_url, prompts_dir, scenario_text  # noqa: F401

from branchline.firmware.ops.metrics import ApplianceMetrics
from branchline.firmware.web.serve import serve_web

PASSWORD = "branch-line-test-pw"


@pytest.fixture
def served(tmp_path, prompts_dir, bank_url):  # noqa: F811
    runtime = RuntimeHarness(tmp_path / "data", scenario_text(), prompts_dir=prompts_dir,
                             bank_url=bank_url)
    metrics = ApplianceMetrics()
    metrics.attach(runtime.app)
    announced: list[str] = []
    web = serve_web(runtime.app, runtime.store, ("127.0.0.1", 0), metrics, tls=False,
                    host_url=bank_url, announce=announced.append)
    yield runtime, metrics, web, announced
    web.close()
    runtime.close()


def _tick(runtime, metrics, web):
    runtime.step()
    now = runtime.clock.now()
    metrics.sample(runtime.app, now)
    web.link.pump(now)


def test_metrics_and_health_are_served_from_the_same_port(served):
    runtime, metrics, web, _ = served
    with httpx.Client(base_url=web.url, timeout=10) as client:
        starting = client.get("/healthz")
        assert (starting.status_code, starting.text) == (
            503, "starting: the media loop has not reported yet\n")
        _tick(runtime, metrics, web)
        assert client.get("/healthz").text == "ok\n"
        text = client.get("/metrics")
    assert text.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "branchline_ticks_total " in text.text


def test_setup_link_is_announced_with_the_real_address(served):
    _, _, web, announced = served
    assert web.url.startswith("http://127.0.0.1:")
    assert re.search(rf"open {re.escape(web.url)}/setup\?token=\S+ to create", announced[0])


def test_a_taken_port_names_the_remedy(served, tmp_path):
    runtime, metrics, web, _ = served
    host, port = web.address
    with pytest.raises(OSError, match=f"web service on 127.0.0.1:{port}: .*choose another "
                                      "--listen address"):
        serve_web(runtime.app, runtime.store, (host, port), metrics, tls=False)


def _login(client, announced):
    client.get("/api/setup")
    csrf = client.cookies["bl_csrf"]
    token = re.search(r"token=(\S+)", announced[0]).group(1)
    reply = client.post("/api/setup", headers={"X-CSRF-Token": csrf},
                        json={"token": token, "name": "admin", "password": PASSWORD})
    assert reply.status_code == 200, reply.text


def test_live_stream_over_real_http_follows_the_loop(served):
    runtime, metrics, web, announced = served
    done = threading.Event()

    def loop():
        for _ in range(50 * 600):
            if done.is_set():
                return
            _tick(runtime, metrics, web)

    with httpx.Client(base_url=web.url, timeout=30) as client:
        _login(client, announced)
        thread = threading.Thread(target=loop, name="virtual-loop")
        thread.start()
        ids = []
        try:
            with client.stream("GET", "/api/live/stream") as reply:
                assert reply.status_code == 200
                for line in reply.iter_lines():
                    if line.startswith("id: "):
                        ids.append(int(line[4:]))
                    if len(ids) == 3:
                        break
        finally:
            done.set()
            thread.join(timeout=60)
    assert ids == sorted(set(ids)) and len(ids) == 3


def test_close_frees_the_port(served):
    _, _, web, _ = served
    host, port = web.address
    web.close()
    with socket.create_server((host, port)):
        pass


def test_tls_serves_https_with_the_appliance_certificate(tmp_path, prompts_dir, bank_url):  # noqa: F811
    import ssl

    runtime = RuntimeHarness(tmp_path / "data", scenario_text(), prompts_dir=prompts_dir,
                             bank_url=bank_url)
    announced: list[str] = []
    web = serve_web(runtime.app, runtime.store, ("127.0.0.1", 0), ApplianceMetrics(),
                    tls=True, announce=announced.append)
    try:
        cert = runtime.app.data_dir / "web" / "tls" / "cert.pem"
        trust = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=web.url, verify=trust, timeout=10) as client:
            reply = client.get("/api/setup")
        assert web.url.startswith("https://127.0.0.1:")
        assert reply.status_code == 200
        assert "secure" in reply.headers["set-cookie"].lower()
        assert announced[0].startswith(f"branchline: first run: open {web.url}/setup?token=")
    finally:
        web.close()
        runtime.close()


def _failed_login_from(web, announced, forwarded_for: str) -> list[str]:
    """One failed login sent with X-Forwarded-For; the addresses accounts.db counted."""
    with httpx.Client(base_url=web.url, timeout=30) as client:
        _login(client, announced)
        client.cookies.delete("bl_session")
        reply = client.post("/api/session", json={"name": "admin", "password": "not it at all"},
                            headers={"X-CSRF-Token": client.cookies["bl_csrf"],
                                     "X-Forwarded-For": forwarded_for})
    assert reply.status_code == 401, reply.text
    with sqlite3.connect(web.web.state.accounts.path) as db:
        return [key for (key,) in db.execute(
            "SELECT key FROM failures WHERE kind = 'address'")]


def test_forwarded_addresses_are_ignored_unless_the_proxy_is_named(served):
    _, _, web, announced = served
    assert _failed_login_from(web, announced, "10.9.9.9") == ["127.0.0.1"]


def test_a_named_proxy_is_believed(tmp_path, prompts_dir, bank_url):  # noqa: F811
    runtime = RuntimeHarness(tmp_path / "data", scenario_text(), prompts_dir=prompts_dir,
                             bank_url=bank_url)
    announced: list[str] = []
    with pytest.raises(ValueError, match=r"trusted proxy 'proxy\.local' is not an IP address"):
        serve_web(runtime.app, runtime.store, ("127.0.0.1", 0), ApplianceMetrics(),
                  tls=False, trusted_proxies=["proxy.local"])
    web = serve_web(runtime.app, runtime.store, ("127.0.0.1", 0), ApplianceMetrics(),
                    tls=False, announce=announced.append, trusted_proxies=["127.0.0.1"])
    try:
        assert _failed_login_from(web, announced, "10.9.9.9") == ["10.9.9.9"]
    finally:
        web.close()
        runtime.close()
