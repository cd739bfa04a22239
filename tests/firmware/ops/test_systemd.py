"""sd_notify against a real AF_UNIX datagram socket; the watchdog fed by a virtual clock."""

import os
import signal
import socket
import subprocess
import sys

import httpx
import pytest

from branchline.firmware.ops.systemd import SystemdNotifier, WatchdogFeeder


@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def received(sock):
    messages = []
    while True:
        try:
            messages.append(sock.recv(4096).decode())
        except BlockingIOError:
            return messages


def test_messages_arrive_exactly(notify_socket):
    notifier = SystemdNotifier.from_environ()
    assert notifier.enabled
    assert notifier.ready("4 trunks, config v1")
    assert notifier.status("2 calls")
    assert notifier.watchdog()
    assert notifier.stopping()
    assert received(notify_socket) == [
        "READY=1\nSTATUS=4 trunks, config v1",
        "STATUS=2 calls",
        "WATCHDOG=1",
        "STOPPING=1",
    ]


def test_abstract_socket_name(monkeypatch):
    name = f"branchline-test-{id(monkeypatch)}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    try:
        assert SystemdNotifier(f"@{name}").ready()
        assert sock.recv(100) == b"READY=1"
    finally:
        sock.close()


def test_not_under_systemd_is_a_no_op(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = SystemdNotifier.from_environ()
    assert not notifier.enabled
    assert notifier.ready() is False
    assert WatchdogFeeder.from_environ(notifier, {"WATCHDOG_USEC": "10000000"}).enabled is False


def test_gone_socket_is_reported_not_raised(tmp_path, caplog):
    notifier = SystemdNotifier(str(tmp_path / "nobody-listens"))
    assert notifier.watchdog() is False
    assert notifier.watchdog() is False
    assert [r.message.count("sd_notify") for r in caplog.records] == [1]


def test_a_reader_that_stopped_reading_never_blocks_the_sender(notify_socket, caplog):
    # The kernel queues a few datagrams per socket (net.unix.max_dgram_qlen, 10 by default,
    # and a byte budget); past that a blocking send would wait for the reader for ever.
    notifier = SystemdNotifier.from_environ()
    sent = [notifier.watchdog() for _ in range(5000)]
    assert sent[0] and not sent[-1]
    assert len(received(notify_socket)) == sent.index(False)
    assert sum("sd_notify" in r.message for r in caplog.records) == 1


def test_newline_in_a_value_is_refused(notify_socket):
    with pytest.raises(ValueError, match=r"STATUS: value 'a\\nb' has a newline"):
        SystemdNotifier.from_environ().status("a\nb")


def test_watchdog_interval_is_half_watchdog_sec(notify_socket):
    notifier = SystemdNotifier.from_environ()
    assert WatchdogFeeder.from_environ(notifier, {"WATCHDOG_USEC": "10000000"}).interval_s == 5.0
    other_pid = {"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "1"}
    assert WatchdogFeeder.from_environ(notifier, other_pid).enabled is False


def test_fed_only_while_ticks_happen(notify_socket):
    feeder = WatchdogFeeder(SystemdNotifier.from_environ(), 5.0)
    fed_at = []
    for tick in range(1500):  # 30 s of 20 ms ticks
        if feeder.tick_done(tick * 0.02):
            fed_at.append(round(tick * 0.02, 2))
    now = 1500 * 0.02
    assert fed_at == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]
    # The loop stalls for 12 s: nothing calls tick_done, nothing is sent.
    assert len(received(notify_socket)) == 6
    now += 12.0
    assert received(notify_socket) == []
    assert feeder.tick_done(now)  # the first tick after the stall feeds at once
    assert received(notify_socket) == ["WATCHDOG=1"]
    assert feeder.fed == 7


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_branchline_run_under_a_notify_socket(tmp_path):
    """`branchline run` as systemd sees it: READY once the page is up, healthy, the page
    served, fed, STOPPING on SIGTERM, exit 0."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(120)  # a bound for a broken run, not a wait: recv returns on arrival
    port = free_port()
    env = dict(os.environ, NOTIFY_SOCKET=str(path), WATCHDOG_USEC="2000000")
    env.pop("WATCHDOG_PID", None)
    child = subprocess.Popen(
        [sys.executable, "-m", "branchline.firmware.cli.main", "run", "--data", str(tmp_path / "d"),
         "--listen", f"127.0.0.1:{port}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    try:
        ready = sock.recv(4096).decode()
        while ready == "WATCHDOG=1":  # the loop is fed from its first tick, before the page
            ready = sock.recv(4096).decode()
        health = httpx.get(f"http://127.0.0.1:{port}/healthz")
        page = httpx.get(f"http://127.0.0.1:{port}/", follow_redirects=True,
                         headers={"Accept-Language": "en"})
        fed = sock.recv(4096).decode()
        child.send_signal(signal.SIGTERM)
        stopping = sock.recv(4096).decode()
        while stopping == "WATCHDOG=1":  # fed again before the signal came
            stopping = sock.recv(4096).decode()
        output = child.stdout.read()
        code = child.wait(timeout=120)
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
        sock.close()
    assert ready.startswith("READY=1\nSTATUS=") and "trunks" in ready
    assert (health.status_code, health.text) == (200, "ok\n")
    # The web page is served on the same port; with no user yet, it points to the setup link.
    assert page.status_code == 200 and "first-run setup link" in page.text
    assert f"open http://127.0.0.1:{port}/setup?token=" in output
    assert fed == "WATCHDOG=1"
    assert stopping == "STOPPING=1"
    assert code == 0, output
    assert "branchline stopped (drained)" in output
