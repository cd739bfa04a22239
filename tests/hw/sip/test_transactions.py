"""The RFC 3261 §17 transaction machines on a virtual clock: table walk, timers, absorption."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from branchline.hw.sip import (
    Deliver,
    Send,
    Terminated,
    TimedOut,
    Transaction,
    UsageError,
    parse_message,
    response_for,
    server_key,
)
from branchline.hw.sip.transactions import (
    KINDS,
    NETWORK_EVENTS,
    STATES,
    TABLE,
    TU_EVENTS,
    render_mermaid,
)


def _request(method):
    return parse_message(
        f"{method} sip:branch@127.0.0.1 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-t1\r\n"
        "From: <sip:caller@127.0.0.1>;tag=f1\r\nTo: <sip:branch@127.0.0.1>\r\n"
        f"Call-ID: t1@127.0.0.1\r\nCSeq: 7 {method}\r\nContent-Length: 0\r\n\r\n".encode())


INVITE, OPTIONS = _request("INVITE"), _request("OPTIONS")
ACK = parse_message(bytes(INVITE).replace(b"INVITE", b"ACK"))


def _response(request, status):
    return response_for(request, status, to_tag="t9")


def _sends(actions):
    return [a.message for a in actions if isinstance(a, Send)]


def _run_clock(t, until, step=0.25):
    """Advance a virtual clock in small steps, firing timers; returns (time, action) pairs."""
    out, now = [], 0.0
    while now <= until:
        out += [(now, a) for a in t.tick(now)]
        now += step
    return out


def _event_input(kind, event):
    request = INVITE if kind in ("ict", "ist") else OPTIONS
    return {"1xx": _response(request, 180), "2xx": _response(request, 200),
            "3-6xx": _response(request, 486), "final": _response(request, 404),
            "request": request, "ack": ACK}.get(event)


def _fire(t, event, now=0.0):
    kind = t.kind
    if event == "start":
        return t.start(now)
    if event == "transport_error":
        return t.transport_error(now)
    if event.startswith("timer_"):
        return t._run(event, None, now)
    if event.startswith("tu_"):
        request = INVITE if kind == "ist" else OPTIONS
        status = {"tu_1xx": 180, "tu_2xx": 200, "tu_3-6xx": 486, "tu_final": 200}[event]
        return t.respond(_response(request, status), now)
    return t.receive(_event_input(kind, event), now)


@pytest.mark.parametrize("kind", KINDS)
def test_every_state_and_event_is_handled_or_refused_without_change(kind):
    events = NETWORK_EVENTS[kind] + TU_EVENTS[kind]
    for state in STATES[kind]:
        for event in events:
            t = Transaction(kind, INVITE if kind in ("ict", "ist") else OPTIONS, state=state)
            if (kind, state, event) in TABLE:
                _fire(t, event)
                continue
            assert event in TU_EVENTS[kind], (state, event)  # network events are all listed
            with pytest.raises(UsageError, match=f"cannot take '{event}'"):
                _fire(t, event)
            assert t.state == state and t.deadline is None and t.last_sent is None


@pytest.mark.parametrize("kind", KINDS)
def test_every_state_is_reachable_from_init(kind):
    seen, todo = {"init"}, ["init"]
    while todo:
        state = todo.pop()
        for (k, s, _), row in TABLE.items():
            if k == kind and s == state and row.next_state and row.next_state not in seen:
                seen.add(row.next_state)
                todo.append(row.next_state)
    assert seen == set(STATES[kind])


def test_invite_client_retransmits_with_timer_a_doubling_until_timer_b():
    t = Transaction("ict", INVITE)
    assert _sends(t.start(0.0)) == [INVITE] and t.deadline == 0.5
    fired = _run_clock(t, 40)
    resent = [now for now, a in fired if isinstance(a, Send)]
    assert resent == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]  # T1, 2T1, 4T1, ... (RFC 3261 §17.1.1.2)
    assert [type(a) for now, a in fired if now == 32.0] == [TimedOut, Terminated]
    assert t.state == "terminated" and t.deadline is None


def test_invite_client_acks_a_failure_and_absorbs_its_retransmissions():
    t = Transaction("ict", INVITE)
    t.start(0.0)
    busy = _response(INVITE, 486)
    actions = t.receive(busy, 0.2)
    assert actions[0] == Deliver(busy)
    (ack,) = _sends(actions)
    assert ack.method == "ACK" and ack.vias[0].branch == "z9hG4bK-t1" and ack.to.tag == "t9"
    assert str(ack.cseq) == "7 ACK"
    assert t.receive(busy, 5.0) == [Send(ack)]  # re-ACKed, not delivered twice
    assert t.deadline == 0.2 + 32
    assert t.tick(32.2) == [Terminated()]


def test_invite_client_after_2xx_delivers_every_retransmission_to_the_tu():
    t = Transaction("ict", INVITE)
    t.start(0.0)
    t.receive(_response(INVITE, 180), 0.1)
    assert t.state == "proceeding" and t.deadline is None  # A and B stop on a provisional
    ok = _response(INVITE, 200)
    assert t.receive(ok, 1.0) == [Deliver(ok)]
    assert t.receive(ok, 1.5) == [Deliver(ok)]
    assert t.tick(1.0 + 32) == [Terminated()]


def test_non_invite_client_retransmits_capped_at_t2_until_timer_f():
    t = Transaction("nict", OPTIONS)
    t.start(0.0)
    resent = [now for now, a in _run_clock(t, 33) if isinstance(a, Send)]
    assert resent == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert t.state == "terminated"


def test_non_invite_client_over_tcp_never_retransmits_and_ends_at_once():
    t = Transaction("nict", OPTIONS, reliable=True)
    t.start(0.0)
    assert t.deadline == 32.0
    ok = _response(OPTIONS, 200)
    assert t.receive(ok, 1.0) == [Deliver(ok)]
    assert t.deadline == 1.0 and t.tick(1.0) == [Terminated()]  # timer K is zero


def test_invite_server_resends_its_final_with_timer_g_until_the_ack():
    t = Transaction("ist", INVITE)
    assert t.start(0.0) == [Deliver(INVITE)]
    ringing = _response(INVITE, 180)
    assert _sends(t.respond(ringing, 0.0)) == [ringing]
    assert _sends(t.receive(INVITE, 0.3)) == [ringing]  # retransmitted INVITE: last response
    busy = _response(INVITE, 486)
    t.respond(busy, 1.0)
    resent = [now for now, a in _run_clock(t, 9) if isinstance(a, Send)]
    assert resent == [1.5, 2.5, 4.5, 8.5]  # T1, 2T1, 4T1, then T2
    assert t.receive(ACK, 9.0) == [] and t.state == "confirmed"
    assert t.tick(9.0 + 5) == [Terminated()]  # timer I = T4


def test_invite_server_without_ack_times_out_with_timer_h():
    t = Transaction("ist", INVITE)
    t.start(0.0)
    t.respond(_response(INVITE, 486), 0.0)
    assert [type(a) for now, a in _run_clock(t, 33) if now == 32.0][-2:] == [TimedOut, Terminated]


def test_invite_server_accepted_absorbs_invites_and_passes_the_ack_up():
    t = Transaction("ist", INVITE)
    t.start(0.0)
    ok = _response(INVITE, 200)
    assert t.respond(ok, 0.0) == [Send(ok)] and t.state == "accepted"
    assert t.receive(INVITE, 0.5) == []  # RFC 6026: absorbed, not a new call
    assert t.respond(ok, 0.5) == [Send(ok)]  # the TU's own 2xx retransmission
    assert t.receive(ACK, 0.6) == [Deliver(ACK)]
    assert t.tick(32.0) == [Terminated()]  # timer L


def test_non_invite_server_answers_retransmissions_from_completed():
    t = Transaction("nist", OPTIONS)
    assert t.start(0.0) == [Deliver(OPTIONS)]
    assert t.receive(OPTIONS, 0.1) == []  # Trying: absorbed
    ok = _response(OPTIONS, 200)
    assert t.respond(ok, 0.2) == [Send(ok)]
    assert t.receive(OPTIONS, 0.7) == [Send(ok)]
    assert t.tick(0.2 + 32) == [Terminated()]  # timer J


def test_a_refused_tu_event_changes_nothing():
    t = Transaction("nist", OPTIONS)
    t.start(0.0)
    ok = _response(OPTIONS, 200)
    t.respond(ok, 0.0)
    with pytest.raises(UsageError, match="nist transaction in state 'completed' cannot take "
                                         "'tu_final'; it takes"):
        t.respond(_response(OPTIONS, 404), 1.0)
    assert t.state == "completed" and t.last_sent == ok and t.deadline == 32.0


def test_kind_and_method_must_agree():
    with pytest.raises(UsageError, match="a nict transaction cannot carry a INVITE request"):
        Transaction("nict", INVITE)


def test_server_key_matches_an_ack_to_its_invite():
    assert server_key(ACK) == server_key(INVITE) != server_key(OPTIONS)


EVENTS = st.sampled_from(sorted({e for k in KINDS for e in NETWORK_EVENTS[k] + TU_EVENTS[k]}))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(KINDS), st.lists(st.tuples(EVENTS, st.floats(0, 100)), max_size=25))
def test_random_event_sequences_only_ever_refuse_with_usage_error(kind, script):
    t = Transaction(kind, INVITE if kind in ("ict", "ist") else OPTIONS)
    now = 0.0
    for event, dt in script:
        now += dt
        if event not in NETWORK_EVENTS[kind] + TU_EVENTS[kind]:
            continue
        before = (t.state, dict(t._due), t.last_sent)
        try:
            t.tick(now)
            before = (t.state, dict(t._due), t.last_sent)
            _fire(t, event, now)
        except UsageError:
            assert (t.state, dict(t._due), t.last_sent) == before
        assert t.deadline is None or t.deadline >= now


def test_docs_show_the_diagrams_drawn_from_the_table():
    text = (Path(__file__).resolve().parents[3] / "docs" / "sip.md").read_text()
    for kind in KINDS:
        assert render_mermaid(kind) in text, f"docs/sip.md is stale: paste render_mermaid({kind!r})"
