"""Kamailio as the carrier or PBX, on 127.0.0.1: our trunk registers to it with digest, then
SIPp calls the trunk's number through it (and holds and resumes) and the call reaches us with
its Record-Route.

Kamailio runs with our own configuration (tests/hw/sip/kamailio/kamailio.cfg): a memory-only
location table and static credentials, a free port, its files in the test's temporary
directory; it is stopped with SIGTERM and must exit cleanly.
"""

import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sip_harness import PEER_LIMIT, Board, free_port, run_peer

from branchline.hw.sip.agent import UserAgent
from branchline.hw.sip.digest import DigestClient
from branchline.hw.sip.driver import SipEndpoint
from branchline.hw.sip.registration import Registration

CONFIG = Path(__file__).parent / "kamailio" / "kamailio.cfg"
SCENARIOS = Path(__file__).parent / "scenarios"
USER, PASSWORD = "branch", "kamailio-trunk-pw"


@pytest.fixture
def kamailio(tmp_path):
    tool = shutil.which("kamailio") or "/usr/sbin/kamailio"
    if not Path(tool).exists():
        pytest.fail("kamailio is missing: run scripts/install-system-deps")
    port = free_port()
    proc = subprocess.Popen(
        [tool, "-DD", "-E", "-f", str(CONFIG), "-A", f"LISTEN=udp:127.0.0.1:{port}",
         "-A", f'TRUNK_USER="{USER}"', "-A", f'TRUNK_PASSWORD="{PASSWORD}"',
         "-w", str(tmp_path), "-Y", str(tmp_path), "-m", "32", "-M", "8"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    yield port, proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        output = proc.communicate(timeout=20)[0].decode(errors="replace")
    except subprocess.TimeoutExpired:
        proc.kill()
        output = proc.communicate()[0].decode(errors="replace")
        pytest.fail(f"kamailio did not stop on SIGTERM:\n{output[-3000:]}")
    assert proc.returncode == 0, output[-3000:]


def _registered(kamailio, password):
    port, proc = kamailio
    endpoint = SipEndpoint(lambda host, p: UserAgent(host, p, media_port=free_port(),
                                                     trusted={"127.0.0.1"}))
    host, ours = endpoint.address
    reg = Registration("carrier", USER, f"127.0.0.1:{port}", [("127.0.0.1", port, "udp")],
                       DigestClient(USER, password), f"sip:{USER}@{host}:{ours}", expires=600)
    endpoint.agent.add_registration(reg)
    endpoint.send(endpoint.agent.register("carrier", time.monotonic()))
    end = time.monotonic() + PEER_LIMIT  # retransmissions reach Kamailio once it listens
    while reg.state in ("registering", "idle") and time.monotonic() < end \
            and proc.poll() is None:
        endpoint.poll(0.05)
    return endpoint, reg


def test_our_trunk_registers_to_kamailio_with_digest(kamailio):
    endpoint, reg = _registered(kamailio, PASSWORD)
    with endpoint:
        assert reg.status.state == "registered", reg.status
        assert reg.expires_at - time.monotonic() > 250  # Kamailio's max_expires is 300
        endpoint.send(endpoint.agent.unregister("carrier", time.monotonic()))
        end = time.monotonic() + PEER_LIMIT
        while reg.state != "idle" and time.monotonic() < end:
            endpoint.poll(0.05)
        assert reg.state == "idle"


def test_kamailio_refuses_a_wrong_trunk_password(kamailio):
    endpoint, reg = _registered(kamailio, "not-the-password")
    with endpoint:
        assert reg.status.state == "failed", reg.status
        assert reg.status.reason == "credentials refused (wrong password?)"


def test_sipp_calls_our_trunk_through_kamailio(kamailio, tmp_path):
    port, _ = kamailio
    endpoint, reg = _registered(kamailio, PASSWORD)
    with endpoint:
        assert reg.status.state == "registered", reg.status
        board = Board()
        code, output = run_peer([
            "sipp", "-sf", str(SCENARIOS / "caller_hold.xml"), f"127.0.0.1:{port}",
            "-s", USER, "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()),
            "-m", "2", "-l", "1", "-nostdin", "-timeout", "30", "-timeout_error"],
            endpoint, tmp_path, board)
        assert code == 0, output[-3000:]
        assert len(board.of("CallAnswered")) == 2 and len(board.of("MediaChanged")) == 4
        assert [e.reason for e in board.of("CallEnded")] == ["bye", "bye"]
        dialogs = [c.dialog for c in endpoint.agent.calls.values()]
        # Kamailio's rr module adds the caller's From tag (ftag) to its Record-Route
        assert [d.route_set[0].split(";ftag=")[0] for d in dialogs] == \
            [f"<sip:127.0.0.1:{port};lr"] * 2
