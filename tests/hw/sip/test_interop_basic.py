"""The SIP core against SIP software nobody here wrote, on 127.0.0.1 only.

Each test binds our UDP endpoint (port 0: the system picks a free one), starts the peer as
a subprocess with its own free ports, drives our endpoint from the test's loop until the
peer exits (bounded: a peer still running after PEER_LIMIT seconds is killed and the test
fails with its output), then checks the peer's exit code and statistics and our side's
record of the same dialogue. sipsak and SIPp come from Debian (scripts/install-system-deps).
"""

import csv
import shutil
import socket
import subprocess
import time

import pytest

from branchline.hw.sip.agent import UserAgent
from branchline.hw.sip.udp import UdpEndpoint

PEER_LIMIT = 60.0  # a bound on a hung peer, not a speed check: the runs take about a second


def _free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def endpoint():
    ep = UdpEndpoint(lambda host, port: UserAgent(host, port, media_port=_free_udp_port()))
    yield ep
    ep.close()


def _run_peer(cmd, endpoint, cwd):
    tool = shutil.which(cmd[0])
    if tool is None:
        pytest.fail(f"{cmd[0]} is missing: run scripts/install-system-deps")
    peer = subprocess.Popen([tool, *cmd[1:]], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    limit = time.monotonic() + PEER_LIMIT
    try:
        while peer.poll() is None and time.monotonic() < limit:
            endpoint.poll(0.05)
    finally:
        if peer.poll() is None:
            peer.kill()
        output = peer.communicate(timeout=10)[0].decode(errors="replace")
    assert time.monotonic() < limit, f"{cmd[0]} did not finish:\n{output[-3000:]}"
    return peer.returncode, output


def test_sipsak_options_gets_200(endpoint, tmp_path):
    host, port = endpoint.address
    code, output = _run_peer(["sipsak", "-vv", "-s", f"sip:ivr@{host}:{port}"], endpoint,
                             tmp_path)
    assert code == 0, output  # sipsak: 0 means a 200 came back
    assert "SIP/2.0 200 OK" in output and "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS" in output
    assert endpoint.datagrams_in >= 1 and endpoint.agent.counters == {}


def test_sipp_uac_calls_answered_acked_and_hung_up(endpoint, tmp_path):
    host, port = endpoint.address
    calls = 5
    code, output = _run_peer([
        "sipp", "-sn", "uac", f"{host}:{port}", "-i", "127.0.0.1",
        "-p", str(_free_udp_port()), "-mp", str(_free_udp_port()),
        "-m", str(calls), "-r", "10", "-l", str(calls), "-d", "100",
        "-nostdin", "-timeout", "30", "-timeout_error",
        "-trace_stat", "-stf", "stats.csv", "-trace_err", "-error_file", "errors.log",
    ], endpoint, tmp_path)
    errors = tmp_path / "errors.log"
    assert code == 0, output[-3000:] + (errors.read_text() if errors.exists() else "")
    with open(tmp_path / "stats.csv", newline="") as f:
        last = list(csv.DictReader(f, delimiter=";"))[-1]
    assert (last["SuccessfulCall(C)"], last["FailedCall(C)"]) == (str(calls), "0")
    ours = endpoint.agent.calls.values()
    assert len(ours) == calls
    assert all(c.acked and c.state == "ended" and c.end_reason == "BYE" for c in ours)
    assert {c.media.codec for c in ours} == {"PCMU"}  # SIPp's uac offers only payload type 0
