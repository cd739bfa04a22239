"""Calls with SIPp on 127.0.0.1, from our scenario files (tests/hw/sip/scenarios/): hold and
resume by re-INVITE, CANCEL while ringing, SIPp answering our calls (with and without a digest
challenge), our REFER to SIPp, and SIPp's built-in caller over TCP.

Each test binds our endpoint on a free port, runs SIPp as a subprocess bounded in time, plays
the board's part (sip_harness.Board) while it runs, then checks SIPp's exit code and
statistics and our agent's record of the same calls.
"""

import csv
from pathlib import Path

import pytest
from sip_harness import Board, free_port, run_peer

from branchline.hw.sip.agent import UserAgent
from branchline.hw.sip.digest import DigestClient
from branchline.hw.sip.driver import SipEndpoint
from branchline.hw.sip.guard import OutboundPolicy

SCENARIOS = Path(__file__).parent / "scenarios"
ALLOWED = {"10010", "10086"}  # the numbers this test's appliance may call or transfer to


@pytest.fixture
def endpoint():
    policy = OutboundPolicy(lambda number, purpose: number in ALLOWED)
    ep = SipEndpoint(lambda host, port: UserAgent(host, port, media_port=free_port(),
                                                  trusted={"127.0.0.1"}, outbound=policy))
    yield ep
    ep.close()


def _sipp(endpoint, tmp_path, scenario, board, calls=1, extra=(), uas_port=None):
    host, port = endpoint.address
    cmd = ["sipp", "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1",
           "-p", str(uas_port or free_port()), "-mp", str(free_port()), "-m", str(calls),
           "-l", str(calls), "-nostdin", "-timeout", "30", "-timeout_error",
           "-trace_stat", "-stf", "stats.csv", "-trace_err", "-error_file", "errors.log",
           "-s", "10010", *extra]
    if uas_port is None:
        cmd.insert(3, f"{host}:{port}")
    code, output = run_peer(cmd, endpoint, tmp_path, board)
    errors = tmp_path / "errors.log"
    detail = output[-3000:] + (errors.read_text()[-3000:] if errors.exists() else "")
    assert code == 0, detail
    with open(tmp_path / "stats.csv", newline="") as f:
        last = list(csv.DictReader(f, delimiter=";"))[-1]
    assert (last["SuccessfulCall(C)"], last["FailedCall(C)"]) == (str(calls), "0"), detail


def test_caller_holds_and_resumes_by_reinvite_then_hangs_up(endpoint, tmp_path):
    board = Board()
    _sipp(endpoint, tmp_path, "caller_hold.xml", board, calls=2)
    assert len(board.of("CallAnswered")) == 2
    holds = [(e.remote_hold, e.media.direction) for e in board.of("MediaChanged")]
    assert holds == [(True, "recvonly"), (False, "sendrecv")] * 2
    assert [e.reason for e in board.of("CallEnded")] == ["bye", "bye"]


def test_caller_cancels_while_we_ring(endpoint, tmp_path):
    board = Board(answer_after=30.0)  # far later than SIPp's CANCEL: the call must not connect
    _sipp(endpoint, tmp_path, "caller_cancel.xml", board)
    assert not board.of("CallAnswered")
    (ended,) = board.of("CallEnded")
    assert (ended.reason, ended.status) == ("cancelled", 487)


def _call_sipp(endpoint, tmp_path, scenario, board, credentials=None, transfer=False):
    """Start SIPp as the callee and place our call to it; the board hangs up when answered,
    or, with ``transfer``, REFERs the call and hangs up when the transfer is done."""
    uas_port = free_port()
    placed, referred = [], set()

    def board_and_caller(ep, now):
        if not placed:
            placed.append(True)
            _, out = ep.agent.invite("10010", ("127.0.0.1", uas_port), now,
                                           credentials=credentials)
            ep.send(out)
        board(ep, now)
        if transfer:
            for event in board.of("CallAnswered"):
                if event.call_id not in referred:
                    referred.add(event.call_id)
                    ep.send(ep.agent.transfer(event.call_id, "sip:10086@127.0.0.1", now))
            for event in board.of("TransferProgress"):
                if event.final and ep.agent.calls[event.call_id].state == "confirmed":
                    ep.send(ep.agent.hangup(event.call_id, now))

    host, port = endpoint.address
    _sipp(endpoint, tmp_path, scenario, board_and_caller, extra=("-rsa", f"{host}:{port}"),
          uas_port=uas_port)
    return board


def test_sipp_answers_our_call_and_takes_our_bye(endpoint, tmp_path):
    board = _call_sipp(endpoint, tmp_path, "callee.xml", Board(hangup_answered=True))
    assert [e.status for e in board.of("CallRinging")] == [180]
    (answered,) = board.of("CallAnswered")
    assert (answered.media.codec, answered.media.direction) == ("PCMA", "sendrecv")
    assert [e.reason for e in board.of("CallEnded")] == ["hangup"]


def test_sipp_challenges_our_call_and_takes_our_digest(endpoint, tmp_path):
    credentials = DigestClient("branch-trunk", "trunk-secret-7")
    board = _call_sipp(endpoint, tmp_path, "callee_auth.xml", Board(hangup_answered=True),
                       credentials=credentials)
    assert len(board.of("CallAnswered")) == 1
    assert [e.reason for e in board.of("CallEnded")] == ["hangup"]


def test_our_refer_to_sipp_gets_202_and_sipfrag_notifies(endpoint, tmp_path):
    board = _call_sipp(endpoint, tmp_path, "transferee.xml", Board(), transfer=True)
    progress = [(e.status, e.final) for e in board.of("TransferProgress")]
    assert progress == [(202, False), (100, False), (200, True)]
    assert [e.reason for e in board.of("CallEnded")] == ["hangup"]


def test_sipp_builtin_caller_over_tcp(endpoint, tmp_path):
    host, port = endpoint.address
    calls = 3
    board = Board(ring=False)
    code, output = run_peer([
        "sipp", "-sn", "uac", f"{host}:{port}", "-t", "t1", "-i", "127.0.0.1",
        "-p", str(free_port()), "-mp", str(free_port()), "-m", str(calls), "-l", str(calls),
        "-d", "100", "-nostdin", "-timeout", "30", "-timeout_error"], endpoint, tmp_path, board)
    assert code == 0, output[-3000:]
    assert endpoint.stream_messages_in >= 3 * calls  # INVITE, ACK, BYE each over TCP
    assert [e.reason for e in board.of("CallEnded")] == ["bye"] * calls


def test_sipp_refuses_our_call_when_our_digest_is_wrong(endpoint, tmp_path):
    credentials = DigestClient("branch-trunk", "not-the-secret")
    board = _call_sipp(endpoint, tmp_path, "callee_auth.xml", Board(hangup_answered=True),
                       credentials=credentials)
    assert not board.of("CallAnswered")
    assert [(e.reason, e.status) for e in board.of("CallEnded")] == [("rejected", 403)]
