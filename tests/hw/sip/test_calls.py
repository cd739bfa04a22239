"""Calls between two of our user agents on a virtual network: dialogs, CANCEL, digest, hold,
glare, session timers, transfer, qualify; the call table walked; random operations fuzzed."""

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sip_harness import Net

from branchline.hw.sip import Refused, Request, UsageError, parse_message
from branchline.hw.sip.agent import UserAgent
from branchline.hw.sip.calls import (
    CALL_TABLE,
    IGNORE,
    PEER_EVENTS,
    STATES,
    TU_EVENTS,
    CallAnswered,
    CallEnded,
    CallRinging,
    IncomingCall,
    MediaChanged,
    Qualified,
    TransferProgress,
    render_mermaid,
)
from branchline.hw.sip.digest import DigestClient
from branchline.hw.sip.guard import OutboundPolicy, ScannerGuard
from branchline.hw.sip.registrar import Registrar
from branchline.hw.sip.registration import Registration

A, B = ("127.0.0.1", 5060), ("127.0.0.2", 5062)
NUMBERS = {"1001", "2002"}


def _policy():
    return OutboundPolicy(lambda number, purpose: number in NUMBERS)


def _pair(**b_options):
    options = {"trusted": {"127.0.0.1"}} | b_options
    a = UserAgent(*A, media_port=30000, outbound=_policy(), rng=random.Random(1))
    b = UserAgent(*B, media_port=30002, outbound=_policy(), rng=random.Random(2), **options)
    return a, b, Net(a, b)


def _take(agent, kind):
    found = [e for e in agent.events if isinstance(e, kind)]
    for e in found:
        agent.events.remove(e)
    return found


def _connected(**b_options):
    a, b, net = _pair(**b_options)
    call_id, out = a.invite("1001", B, 0.0)
    net.send(out, a)
    net.run(0.1)
    (incoming,) = _take(b, IncomingCall)
    assert (incoming.callee, incoming.caller, incoming.source) == ("1001", "branchline", A)
    net.send(b.ring(incoming.call_id, net.now), b)
    net.run(0.5)
    net.send(b.answer(incoming.call_id, net.now), b)
    net.run(1.0)
    return a, b, net, call_id


def test_a_call_rings_is_answered_acked_and_hung_up_by_either_side():
    a, b, net, call_id = _connected()
    assert net.methods() == ["INVITE", 100, 180, 200, "ACK"]
    assert [type(e) for e in a.events] == [CallRinging, CallAnswered]
    (answered,) = _take(b, CallAnswered)
    assert answered.media.codec == "PCMA" and answered.media.port == 30000
    assert a.calls[call_id].state == b.calls[call_id].state == "confirmed"
    dialog_a, dialog_b = a.calls[call_id].dialog, b.calls[call_id].dialog
    assert (dialog_a.local_tag, dialog_a.remote_tag) == (dialog_b.remote_tag, dialog_b.local_tag)
    net.send(b.hangup(call_id, net.now), b)
    net.run(2.0)
    assert net.methods()[-2:] == ["BYE", 200]
    assert _take(a, CallEnded) == [CallEnded(call_id, "bye")]
    assert _take(b, CallEnded) == [CallEnded(call_id, "hangup")]
    with pytest.raises(UsageError, match="in state 'ended' cannot take 'hangup'"):
        b.hangup(call_id, net.now)


def test_hold_and_resume_by_reinvite_as_rfc3264_section_8_4_says():
    a, b, net, call_id = _connected()
    a.events.clear()
    b.events.clear()
    net.send(a.hold(call_id, net.now), a)
    net.run(2.0)
    assert b"a=sendonly" in net.log[-3][2].body and net.methods()[-3:] == ["INVITE", 200, "ACK"]
    (mine,), (theirs,) = _take(a, MediaChanged), _take(b, MediaChanged)
    assert (mine.media.direction, mine.local_hold, mine.remote_hold) == ("sendonly", True, False)
    assert (theirs.media.direction, theirs.remote_hold) == ("recvonly", True)
    with pytest.raises(UsageError, match="already on hold"):
        a.hold(call_id, net.now)
    net.send(b.hold(call_id, net.now), b)  # both hold: inactive
    net.run(3.0)
    assert b"a=inactive" in net.log[-2][2].body
    net.send(a.resume(call_id, net.now), a)
    net.run(4.0)
    (mine,) = _take(a, MediaChanged)[-1:]
    assert (mine.media.direction, mine.local_hold, mine.remote_hold) == ("recvonly", False, True)


def test_a_reinvite_crossing_ours_gets_491_and_both_retry_after_random_waits():
    a, b, net, call_id = _connected()
    net.send(a.hold(call_id, net.now), a)
    net.send(b.hold(call_id, net.now), b)
    net.run(20.0)
    assert net.methods().count(491) == 2  # RFC 3261 §14.1
    assert a.calls[call_id].local_hold and b.calls[call_id].local_hold
    assert a.calls[call_id].media.direction == "inactive"


def test_cancel_of_our_own_invite_while_it_rings():
    a, b, net = _pair()
    call_id, out = a.invite("1001", B, 0.0)
    net.send(out, a)
    net.send(a.hangup(call_id, 0.0), a)  # before any provisional: CANCEL waits for one
    net.run(0.1)
    net.send(b.ring(call_id, net.now), b)
    net.run(1.0)
    assert net.methods() == ["INVITE", 100, 180, "CANCEL", 200, 487, "ACK"]
    assert _take(a, CallEnded) == [CallEnded(call_id, "cancelled", 487)]
    assert _take(b, CallEnded) == [CallEnded(call_id, "cancelled", 487)]


def test_a_200_crossing_our_cancel_is_acked_then_byed():
    a, b, net = _pair()
    call_id, out = a.invite("1001", B, 0.0)
    net.send(out, a)
    net.run(0.1)
    net.send(b.ring(call_id, net.now), b)
    net.run(0.2)
    a_out = a.hangup(call_id, net.now)
    net.send(b.answer(call_id, net.now), b)  # the 200 leaves before the CANCEL arrives
    net.send(a_out, a)
    net.run(5.0)
    assert "BYE" in net.methods(a) and a.calls[call_id].state == "ended"
    assert b.calls[call_id].state == "ended"


def test_digest_retry_on_401_from_a_station_account_and_refusal_of_a_bad_password():
    guard = ScannerGuard(block_after=3)
    registrar = Registrar("branch", b"s" * 16, {"2002": "good-pw-2002"}.get, guard=guard)
    a, b, net = _pair(trusted=(), registrar=registrar, guard=guard)
    _call_id, out = a.invite("1001", B, 0.0, from_user="2002",
                            credentials=DigestClient("2002", "good-pw-2002"))
    net.send(out, a)
    net.run(1.0)
    assert net.methods() == ["INVITE", 401, "ACK", "INVITE", 100]
    (incoming,) = _take(b, IncomingCall)
    assert incoming.account == "2002"
    bad_id, out = a.invite("1001", B, 2.0, from_user="2002",
                           credentials=DigestClient("2002", "wrong"))
    net.send(out, a)
    net.run(3.0)
    assert _take(a, CallEnded)[-1] == CallEnded(bad_id, "rejected", 403)
    assert guard.counters["auth_failures"] == 1
    assert "wrong" not in repr(a.calls[bad_id].credentials)


def test_an_invite_from_an_unknown_source_is_refused_and_a_scanner_blocked():
    guard = ScannerGuard(block_after=3, block_for=600)
    a, b, net = _pair(trusted=(), guard=guard)
    for _ in range(5):
        _call_id, out = a.invite("1001", B, net.now)
        net.send(out, a)
        net.run(net.now + 1.0)
    statuses = [m for m in net.methods(b) if isinstance(m, int)]
    assert statuses == [403, 403, 403]  # then nothing: blocked sources get no answer
    assert guard.metrics(net.now) == {  # the last two INVITEs sent three times each
        "auth_failures": 0, "unknown_users": 3, "rate_limited": 0, "blocked_requests": 6,
        "blocks": 1, "blocked_sources": 1}
    assert not any(isinstance(e, IncomingCall) for e in b.events)


def test_outbound_calls_and_transfers_only_to_allowed_numbers():
    a, _b, net, call_id = _connected()
    with pytest.raises(Refused, match="does not allow calling '110'"):
        a.invite("110", B, net.now)
    with pytest.raises(Refused, match="transfer to '9999'"):
        a.transfer(call_id, "sip:9999@127.0.0.9", net.now)
    assert a.counters["outbound_refused"] == 2
    assert UserAgent("127.0.0.1", 1).outbound.permits("1001", "call") is False


def test_session_timer_refreshed_by_update_and_bye_when_the_refresh_stops():
    a, b, net, call_id = _connected()
    assert a.calls[call_id].refresher == "us" and b.calls[call_id].refresher == "them"
    net.run(4000.0)
    assert net.methods(a).count("UPDATE") == 4 and b.calls[call_id].state == "confirmed"
    net.drop = lambda data: data.startswith((b"UPDATE", b"BYE"))  # the refresher is gone
    net.run(6000.0)
    assert _take(b, CallEnded) == [CallEnded(call_id, "session_expired")]
    assert _take(a, CallEnded) == [CallEnded(call_id, "timeout")]  # its refresh got no answer


def test_422_raises_our_session_expires_to_the_peers_min_se():
    a, b, net = _pair(min_se=2000)
    _call_id, out = a.invite("1001", B, 0.0)
    net.send(out, a)
    net.run(0.5)
    assert net.methods()[:3] == ["INVITE", 422, "ACK"]
    assert b"Session-Expires: 2000" in bytes(net.log[3][2])
    assert _take(b, IncomingCall)


def test_blind_transfer_refer_then_notify_sipfrag():
    a, b, net, call_id = _connected()
    out = a.transfer(call_id, "sip:2002@127.0.0.2", net.now)
    refer = parse_message(out[0].data)
    assert refer.method == "REFER" and refer.header("Refer-To") == "<sip:2002@127.0.0.2>"
    net.send(out, a)
    net.run(net.now + 1)
    assert net.methods()[-2:] == ["REFER", 405]  # our own agent never takes a REFER
    assert _take(a, TransferProgress) == [TransferProgress(call_id, 405, True)]
    dialog = b.calls[call_id].dialog
    via = "SIP/2.0/UDP 127.0.0.2:5062;branch=z9hG4bK-n1"
    notify = dialog.request("NOTIFY", via, headers=[
        ("Event", "refer"), ("Subscription-State", "terminated;reason=noresource"),
        ("Content-Type", "message/sipfrag")], body=b"SIP/2.0 200 OK\r\n")
    (ok,) = a.receive(bytes(notify), B, net.now)
    assert parse_message(ok.data).status == 200
    assert _take(a, TransferProgress) == [TransferProgress(call_id, 200, True)]


def test_qualify_reports_round_trip_or_unreachable():
    a, _b, net = _pair()
    net.send(a.qualify("trunk", B, 0.0), a)
    net.send(a.qualify("nobody", ("127.0.0.9", 5060), 0.0), a)
    net.run(40.0)
    assert a.peers["trunk"] == Qualified("trunk", B, True, 0.0)
    assert a.peers["nobody"] == Qualified("nobody", ("127.0.0.9", 5060), False, None)


def test_in_dialog_requests_follow_the_record_route_set():
    _a, b, _net = _pair()
    invite = (b"INVITE sip:1001@127.0.0.2:5062 SIP/2.0\r\n"
              b"Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK-p1\r\n"
              b"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-u1\r\n"
              b"Record-Route: <sip:127.0.0.1:5090;lr>\r\n"
              b"From: <sip:caller@127.0.0.1>;tag=f1\r\nTo: <sip:1001@127.0.0.2>\r\n"
              b"Call-ID: rr-1\r\nCSeq: 7 INVITE\r\nContact: <sip:caller@127.0.0.1:5060>\r\n"
              b"Max-Forwards: 69\r\nContent-Length: 0\r\n\r\n")
    b.receive(invite, ("127.0.0.1", 5090), 0.0)
    b.answer("rr-1", 0.0)
    ack = invite.replace(b"INVITE sip", b"ACK sip").replace(b"7 INVITE", b"7 ACK")
    ack = ack.replace(b"To: <sip:1001@127.0.0.2>",
                      f"To: <sip:1001@127.0.0.2>;tag={b.calls['rr-1'].local_tag}".encode())
    b.receive(ack, ("127.0.0.1", 5090), 0.1)
    (bye,) = b.hangup("rr-1", 1.0)
    message = parse_message(bye.data)
    assert bye.address == ("127.0.0.1", 5090) and message.header("Route") == \
        "<sip:127.0.0.1:5090;lr>"
    assert str(message.uri) == "sip:caller@127.0.0.1:5060" and message.cseq.number == 1
    late = invite.replace(b"INVITE sip", b"BYE sip").replace(b"7 INVITE", b"6 BYE")
    late = late.replace(b"To: <sip:1001@127.0.0.2>",
                        f"To: <sip:1001@127.0.0.2>;tag={b.calls['rr-1'].local_tag}".encode())
    (reply,) = b.receive(late.replace(b"p1", b"p2"), ("127.0.0.1", 5090), 1.1)
    assert parse_message(reply.data).status == 500  # §12.2.2: CSeq below the last one


def test_the_call_table_is_complete_and_every_state_reachable():
    for state in STATES:
        for event in PEER_EVENTS:
            nxt = CALL_TABLE[(state, event)]
            assert nxt == IGNORE or nxt in STATES
    reached, frontier = set(), ["incoming", "calling"]
    while frontier:
        state = frontier.pop()
        if state in reached:
            continue
        reached.add(state)
        frontier += [n for (s, _), n in CALL_TABLE.items() if s == state and n in STATES]
    assert reached == set(STATES)
    assert not [e for (s, e) in CALL_TABLE if s == "ended" and e in TU_EVENTS]
    assert "confirmed --> ending: timeout, session_expired, hangup" in render_mermaid()
    docs = (Path(__file__).resolve().parents[3] / "docs" / "sip.md").read_text()
    assert f"```mermaid\n{render_mermaid()}```" in docs  # the doc's diagram is the table's


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["ring", "answer", "reject", "hangup", "hold",
                                           "resume", "transfer", "invite", "run"]),
                          st.booleans(), st.floats(0.0, 40.0)), max_size=25),
       st.integers(0, 2**32))
def test_random_operations_on_a_lossy_network_raise_only_usage_errors(ops, seed):
    loss = random.Random(seed)
    a, b, net = _pair()
    net.drop = lambda data: loss.random() < 0.2
    for op, on_a, wait in ops:
        agent = a if on_a else b
        calls = list(agent.calls)
        try:
            if op == "invite":
                net.send(agent.invite("1001", B if on_a else A, net.now)[1], agent)
            elif op == "run":
                net.run(net.now + wait)
            elif calls:
                call_id = calls[-1]
                if op == "transfer":
                    out = agent.transfer(call_id, "sip:2002@127.0.0.2", net.now)
                else:
                    out = getattr(agent, op)(call_id, net.now)
                net.send(out, agent)
        except UsageError:
            pass
    net.run(net.now + 200.0)
    for agent in (a, b):
        for call in agent.calls.values():
            assert call.state in STATES
            assert isinstance(call.invite, Request)


def _mangler(seed):
    rng = random.Random(seed)

    def mangle(data):
        if rng.random() > 0.3:
            return data
        data = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            data[at:at + rng.randint(0, 6)] = rng.choice(
                [b"", b";", b"<", b">", b",", b"\r\n", b" ", b"0", b"\xff", b"sip:", b"=", b"@"])
        return bytes(data)
    return mangle


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(["answer", "hold", "resume", "hangup", "transfer", "run"]),
                max_size=12), st.integers(0, 2**32))
def test_messages_mangled_in_flight_raise_nothing_but_usage_errors(ops, seed):
    a, b, net = _pair()
    net.mangle = _mangler(seed)
    call_id, out = a.invite("1001", B, 0.0)
    net.send(out, a)
    net.run(1.0)
    for op in ops:
        try:
            if op == "run":
                net.run(net.now + 20.0)
            elif op == "answer":
                net.send(b.answer(call_id, net.now) if call_id in b.calls else [], b)
            elif op == "transfer":
                net.send(a.transfer(call_id, "sip:2002@127.0.0.2", net.now), a)
            else:
                net.send(getattr(a, op)(call_id, net.now), a)
        except UsageError:
            pass
    net.run(net.now + 300.0)


def test_early_media_by_183_and_a_call_to_a_registered_station():
    a, b, net = _pair()
    call_id, out = a.invite("1001", B, 0.0)
    net.send(out, a)
    net.run(0.1)
    net.send(b.ring(call_id, net.now, early_media=True), b)
    net.run(0.2)
    (ringing,) = _take(a, CallRinging)
    assert ringing.status == 183 and ringing.early_media.codec == "PCMA"
    registrar = Registrar("branch", b"r" * 16, {"801": "pw-801-long"}.get)
    server = UserAgent("127.0.0.3", 5060, registrar=registrar)
    phone = UserAgent("127.0.0.4", 5070, trusted={"127.0.0.3"})
    net = Net(server, phone)
    phone.add_registration(Registration("desk", "801", "branch", [("127.0.0.3", 5060, "udp")],
                                        DigestClient("801", "pw-801-long"),
                                        "sip:801@127.0.0.4:5070;line=7"))
    net.send(phone.register("desk", 0.0), phone)
    net.run(1.0)
    with pytest.raises(UsageError, match="needs our RTP port"):
        server.call_station("801", 1.0)
    station_call, out = server.call_station("801", 1.0, media_address=("127.0.0.3", 30010))
    assert str(parse_message(out[0].data).uri) == "sip:801@127.0.0.4:5070;line=7"
    net.send(out, server)
    net.run(2.0)
    assert [e.call_id for e in _take(phone, IncomingCall)] == [station_call]
    with pytest.raises(UsageError, match="station '802' has no live registration"):
        server.call_station("802", 2.0)


def test_the_answering_side_refreshes_for_a_caller_that_does_not_know_timers():
    a, b, net = _pair()
    old = (b"Supported: timer\r\n", b"Session-Expires: 1800\r\n", b"Min-SE: 90\r\n")

    def strip_timer(data):  # a caller without RFC 4028 on its first INVITE
        if data.startswith(b"INVITE") and b"CSeq: 1 INVITE" in data:
            for line in old:
                data = data.replace(line, b"")
        return data
    net.mangle = strip_timer
    call_id, out = a.invite("1001", B, 0.0)
    net.send(out, a)
    net.run(0.1)
    net.send(b.answer(call_id, net.now), b)
    net.run(1.0)
    ok = next(m for _, s, m in net.log if s == B and getattr(m, "status", 0) == 200)
    assert ok.header("Session-Expires") == "1800;refresher=uas" and ok.header("Require") is None
    assert (a.calls[call_id].refresher, b.calls[call_id].refresher) == ("them", "us")
    net.run(1000.0)
    update = next(m for _, s, m in net.log if s == B and getattr(m, "method", "") == "UPDATE")
    assert update.header("Session-Expires") == "1800;refresher=uac"  # b sends this request
    assert a.calls[call_id].state == b.calls[call_id].state == "confirmed"
