"""The user agent's timers on one heap (hw/sip/timers.py), on a virtual clock: RFC 3261's
timers A-K still fire when §17 says, through the agent; a transaction or binding that ends or
moves early leaves no stale timer behind; a tick touches only what is due."""

from dataclasses import replace

from sip_harness import Net

from branchline.hw.sip import Request, Response, Transaction, parse_message, response_for
from branchline.hw.sip.agent import UserAgent
from branchline.hw.sip.calls import CallEnded, IncomingCall
from branchline.hw.sip.digest import DigestClient
from branchline.hw.sip.guard import OutboundPolicy
from branchline.hw.sip.registrar import PhoneUnregistered, Registrar
from branchline.hw.sip.registration import Registration
from branchline.hw.sip.timers import TimerHeap, TimerTable

PEER = ("127.0.0.1", 5070)
SDP = (b"v=0\r\no=p 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       b"m=audio 40000 RTP/AVP 8\r\n")


def _agent(**options):
    return UserAgent("127.0.0.1", 5060, media_port=30000, trusted={"127.0.0.1"},
                     outbound=OutboundPolicy(lambda number, purpose: True), **options)


def _run(ua, until):
    """Step the clock from deadline to deadline up to ``until``: (time, message) sent."""
    sent = []
    while ua.deadline is not None and ua.deadline <= until:
        now = ua.deadline
        sent += [(now, parse_message(o.data)) for o in ua.tick(now)]
    return sent


def _times(sent, what):
    return [t for t, m in sent if (m.status if isinstance(m, Response) else m.method) == what]


def _request(method, branch, cseq=1, to_tag=None, call_id="call-1", body=b""):
    to = "<sip:ivr@127.0.0.1:5060>" + (f";tag={to_tag}" if to_tag else "")
    kind = "Content-Type: application/sdp\r\n" if body else ""
    return (f"{method} sip:ivr@127.0.0.1:5060 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch={branch}\r\n"
            f"From: <sip:caller@127.0.0.1>;tag=c1\r\nTo: {to}\r\nCall-ID: {call_id}\r\n"
            f"CSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n"
            f"Contact: <sip:caller@127.0.0.1:5070>\r\n{kind}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def _incoming(ua, now, call_id="call-1", branch="z9hG4bK-i1"):
    ua.receive(_request("INVITE", branch, call_id=call_id, body=SDP), PEER, now)
    (event,) = [e for e in ua.events if isinstance(e, IncomingCall)]
    ua.events.clear()
    return event.call_id


def test_timers_a_and_b_retransmit_an_unanswered_invite_then_end_the_call():
    ua = _agent()
    call_id, _ = ua.invite("1001", PEER, 0.0)
    sent = _run(ua, 40.0)
    assert _times(sent, "INVITE") == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]  # §17.1.1.2
    assert CallEnded(call_id, "timeout", None) in ua.events  # timer B, 64*T1
    assert ua.calls[call_id].state == "ended"


def test_a_failure_stops_a_and_b_and_timer_d_absorbs_its_retransmissions_for_32_s():
    ua = _agent()
    call_id, (out,) = ua.invite("1001", PEER, 0.0)
    busy = bytes(response_for(parse_message(out.data), 486, to_tag="b1"))
    (ack,) = ua.receive(busy, PEER, 1.0)
    assert parse_message(ack.data).method == "ACK"
    assert ua.deadline == 33.0  # not A's 1.5 nor B's 32.0: those entries are stale now
    assert [parse_message(o.data).method for o in ua.receive(busy, PEER, 20.0)] == ["ACK"]
    assert _run(ua, 32.9) == [] and "stray_response" not in ua.counters
    assert ua.tick(33.0) == []  # timer D: the transaction ends
    assert ua.receive(busy, PEER, 33.1) == [] and ua.counters["stray_response"] == 1
    assert [e for e in ua.events if isinstance(e, CallEnded)] == \
        [CallEnded(call_id, "rejected", 486)]


def test_after_a_2xx_timer_m_keeps_acking_its_retransmissions_for_64_t1():
    ua = _agent()
    call_id, (out,) = ua.invite("1001", PEER, 0.0)
    ok = replace(response_for(parse_message(out.data), 200, to_tag="o1", headers=[
        ("Contact", "<sip:far@127.0.0.1:5070>"), ("Content-Type", "application/sdp")]),
        body=SDP)
    assert [parse_message(o.data).method for o in ua.receive(bytes(ok), PEER, 1.0)] == ["ACK"]
    assert ua.calls[call_id].state == "confirmed"
    assert _times(_run(ua, 20.0), "INVITE") == []  # A stopped at the 2xx
    assert [parse_message(o.data).method for o in ua.receive(bytes(ok), PEER, 20.0)] == ["ACK"]
    _run(ua, 33.0)  # timer M: 1.0 + 64*T1
    assert ua.receive(bytes(ok), PEER, 33.1) == [] and ua.counters["stray_response"] == 1


def test_timers_e_and_f_retransmit_an_options_capped_at_t2_then_give_up():
    ua = _agent()
    ua.qualify("far", PEER, 0.0)
    sent = _run(ua, 40.0)
    assert _times(sent, "OPTIONS") == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert ua.peers["far"].reachable is False  # timer F at 32


def test_timer_e_goes_to_t2_after_a_provisional_and_timer_k_absorbs_the_final():
    ua = _agent()
    (out,) = ua.qualify("far", PEER, 0.0)
    options = parse_message(out.data)
    ua.receive(bytes(response_for(options, 100)), PEER, 0.2)
    assert _times(_run(ua, 9.9), "OPTIONS") == [0.5, 4.5, 8.5]  # §17.1.2.2: every T2
    ok = bytes(response_for(options, 200, to_tag="q1"))
    ua.receive(ok, PEER, 10.0)
    assert ua.peers["far"].reachable and ua.peers["far"].rtt == 10.0
    assert ua.deadline == 15.0  # timer K = T4; E's and F's entries are stale
    ua.receive(ok, PEER, 14.9)
    assert "stray_response" not in ua.counters  # absorbed by the transaction
    _run(ua, 15.0)
    ua.receive(ok, PEER, 15.1)
    assert ua.counters["stray_response"] == 1


def test_timers_g_and_h_resend_a_rejection_until_64_t1_without_an_ack():
    ua = _agent()
    call_id = _incoming(ua, 0.0)
    ua.reject(call_id, 0.0, 486)
    sent = _run(ua, 40.0)
    assert _times(sent, 486) == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    ua.receive(_request("INVITE", "z9hG4bK-i1", call_id=call_id, body=SDP), PEER, 40.0)
    assert [e.call_id for e in ua.events if isinstance(e, IncomingCall)] == [call_id]  # H


def test_an_ack_stops_g_and_h_and_timer_i_absorbs_acks_for_t4():
    ua = _agent()
    call_id = _incoming(ua, 0.0)
    (busy,) = ua.reject(call_id, 0.0, 486)
    tag = parse_message(busy.data).to.tag
    ack = _request("ACK", "z9hG4bK-i1", to_tag=tag, call_id=call_id)
    assert _times(_run(ua, 1.9), 486) == [0.5, 1.5]
    assert ua.receive(ack, PEER, 2.0) == []
    assert ua.deadline == 7.0  # timer I; G's 3.5 and H's 32.0 are stale
    ua.receive(ack, PEER, 6.9)
    assert "stray_ack" not in ua.counters
    assert _run(ua, 40.0) == []
    ua.receive(ack, PEER, 40.0)
    assert ua.counters["stray_ack"] == 1


def test_timer_j_answers_retransmitted_requests_with_the_same_response_for_64_t1():
    ua = _agent()
    options = _request("OPTIONS", "z9hG4bK-o1")
    (first,) = ua.receive(options, PEER, 0.0)
    (again,) = ua.receive(options, PEER, 31.9)
    assert again.data == first.data
    assert ua.tick(32.0) == []  # timer J ends the transaction
    (fresh,) = ua.receive(options, PEER, 32.1)
    assert parse_message(fresh.data).to.tag != parse_message(first.data).to.tag


def test_an_ended_call_is_forgotten_64_t1_after_it_ended():
    ua = _agent()
    call_id = _incoming(ua, 0.0)
    ua.answer(call_id, 0.0)
    tag = ua.calls[call_id].local_tag
    ua.receive(_request("ACK", "z9hG4bK-a2", to_tag=tag, call_id=call_id), PEER, 0.1)
    bye = _request("BYE", "z9hG4bK-b1", cseq=2, to_tag=tag, call_id=call_id)
    (ok,) = ua.receive(bye, PEER, 1.0)
    assert parse_message(ok.data).status == 200 and ua.calls[call_id].state == "ended"
    _run(ua, 32.9)
    assert call_id in ua.calls  # the board and the page still read how it ended
    _run(ua, 33.0)
    assert call_id not in ua.calls
    (gone,) = ua.receive(_request("BYE", "z9hG4bK-b2", cseq=3, to_tag=tag, call_id=call_id),
                         PEER, 34.0)
    assert parse_message(gone.data).status == 481


def _registered(expires):
    accounts = {"801": "pw-801-long-enough"}
    server = UserAgent("127.0.0.2", 5060, registrar=Registrar("branch", b"k" * 16, accounts.get))
    phone = UserAgent(*PEER)
    reg = Registration("trunk", "801", "branch", [("127.0.0.2", 5060, "udp")],
                       DigestClient("801", accounts["801"]), "sip:801@127.0.0.1:5070",
                       expires=expires, margin=5.0)
    phone.add_registration(reg)
    net = Net(phone, server)
    net.send(phone.register("trunk", 0.0), phone)
    return server, net


def _expired_at(server, until):
    times = []
    while server.deadline is not None and server.deadline <= until:
        now = server.deadline
        server.tick(now)
        times += [now for e in server.events if isinstance(e, PhoneUnregistered)]
        server.events.clear()
    return times


def test_a_binding_expires_when_its_registration_runs_out():
    server, net = _registered(expires=60)
    net.run(1.0)
    assert server.reachable("801", 1.0)
    assert _expired_at(server, 100.0) == [60.0]  # the phone stopped refreshing


def test_a_refreshed_binding_does_not_expire_at_its_old_time():
    server, net = _registered(expires=60)
    net.run(56.0)  # refreshed at 55 (60 minus the margin): the binding now runs to 115
    assert _expired_at(server, 200.0) == [115.0]


def test_a_tick_touches_only_the_transactions_and_calls_that_are_due(monkeypatch):
    ua = _agent()
    for n in range(200):
        call_id = _incoming(ua, 0.0, call_id=f"call-{n}", branch=f"z9hG4bK-i{n}")
        (ok,) = ua.answer(call_id, 0.0)
        tag = parse_message(ok.data).to.tag
        ua.receive(_request("ACK", f"z9hG4bK-a{n}", to_tag=tag, call_id=call_id), PEER, 0.1)
    assert all(call.state == "confirmed" for call in ua.calls.values())
    asked = []
    deadline, tick = Transaction.deadline, Transaction.tick
    monkeypatch.setattr(Transaction, "deadline",
                        property(lambda t: asked.append("deadline") or deadline.fget(t)))
    monkeypatch.setattr(Transaction, "tick",
                        lambda t, now: asked.append("tick") or tick(t, now))
    assert ua.tick(1.0) == [] and ua.deadline == 32.0  # each INVITE's timer L
    assert asked == []  # 200 calls and 200 transactions up, nothing due: none asked
    ua.tick(32.0)
    assert asked == ["tick"] * 200


def test_resending_many_unacknowledged_200s_looks_up_each_invite_not_every_transaction(
        monkeypatch):
    ua = _agent()
    for n in range(200):  # 200 answers whose ACKs are late: each 200 is resent at T1
        ua.answer(_incoming(ua, 0.0, call_id=f"call-{n}", branch=f"z9hG4bK-i{n}"), 0.0)
    looked, call_id = [], Request.call_id
    monkeypatch.setattr(Request, "call_id",
                        property(lambda r: looked.append(1) or call_id.fget(r)))
    resent = [parse_message(o.data) for o in ua.tick(0.5)]
    assert [m.status for m in resent] == [200] * 200
    assert len(looked) < 1000  # scanning every transaction per resend read 20,100


def test_the_heap_skips_cancelled_and_replaced_entries_and_fires_new_ones_due_now():
    heap, fired = TimerHeap(), []
    table = TimerTable()

    def fire(name, now):
        fired.append((name, now))
        del table[name]
        if name == "a":
            table["c"] = (now, 0.0)  # due at once: fires in the same pass
    heap.attach(table, fire)
    table["a"], table["b"], table["x"] = (1.0, 0.0), (2.0, 0.0), (1.5, 0.0)
    del table["x"]  # cancelled
    table["b"] = (3.0, 0.0)  # moved later: the entry at 2.0 is stale
    assert heap.deadline == 1.0
    for due, name in heap.due(2.5):
        due(name, 2.5)
    assert fired == [("a", 2.5), ("c", 2.5)]
    assert heap.deadline == 3.0 and len(heap) == 1  # stale tops dropped


def test_the_heap_compacts_stale_entries_and_keeps_the_live_ones():
    heap, table = TimerHeap(), TimerTable()
    heap.attach(table, lambda name, now: [])
    for n in range(5000):
        table["re-armed"] = (1000.0 + n, 0.0)  # each replaces the one before
    table["live"] = (5.0, 0.0)
    assert len(heap) < 2100  # 5,001 pushes, compacted as the stale ones piled up
    assert heap.deadline == 5.0
    assert [name for _, name in heap.due(10_000.0)] == ["live", "re-armed"]
