"""The SIP core against SIP software nobody here wrote, on 127.0.0.1 only.

Each test binds our endpoint (port 0: the system picks a free one), starts the peer as
a subprocess with its own free ports, drives our endpoint from the test's loop until the
peer exits (bounded: a peer still running after PEER_LIMIT seconds is killed and the test
fails with its output), then checks the peer's exit code and statistics and our side's
record of the same dialogue. sipsak and SIPp come from Debian (scripts/install-system-deps).
"""

import csv

import pytest
from sip_harness import Board, free_port, run_peer

from branchline.hw.sip.agent import UserAgent
from branchline.hw.sip.driver import SipEndpoint


@pytest.fixture
def endpoint():
    ep = SipEndpoint(lambda host, port: UserAgent(host, port, media_port=free_port(),
                                                  trusted={"127.0.0.1"}))
    yield ep
    ep.close()


def test_sipsak_options_gets_200(endpoint, tmp_path):
    host, port = endpoint.address
    code, output = run_peer(["sipsak", "-vv", "-s", f"sip:ivr@{host}:{port}"], endpoint,
                            tmp_path)
    assert code == 0, output  # sipsak: 0 means a 200 came back
    assert "SIP/2.0 200 OK" in output
    assert "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, NOTIFY" in output
    assert endpoint.datagrams_in >= 1 and endpoint.agent.counters == {}


def test_sipp_uac_calls_answered_acked_and_hung_up(endpoint, tmp_path):
    host, port = endpoint.address
    calls = 5
    board = Board(ring=False)
    code, output = run_peer([
        "sipp", "-sn", "uac", f"{host}:{port}", "-i", "127.0.0.1",
        "-p", str(free_port()), "-mp", str(free_port()),
        "-m", str(calls), "-r", "10", "-l", str(calls), "-d", "100",
        "-nostdin", "-timeout", "30", "-timeout_error",
        "-trace_stat", "-stf", "stats.csv", "-trace_err", "-error_file", "errors.log",
    ], endpoint, tmp_path, board)
    errors = tmp_path / "errors.log"
    assert code == 0, output[-3000:] + (errors.read_text() if errors.exists() else "")
    with open(tmp_path / "stats.csv", newline="") as f:
        last = list(csv.DictReader(f, delimiter=";"))[-1]
    assert (last["SuccessfulCall(C)"], last["FailedCall(C)"]) == (str(calls), "0")
    ours = endpoint.agent.calls.values()
    assert len(ours) == calls
    assert all(c.state == "ended" and c.end_reason == "bye" for c in ours)
    assert {c.media.codec for c in ours} == {"PCMU"}  # SIPp's uac offers only payload type 0
