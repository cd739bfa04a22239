"""Trunk registration (our REGISTER client) against our registrar, the registrar's rules, and
the scanner guard, on a virtual network and a virtual clock."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sip_harness import Net

from branchline.hw.sip import UsageError, parse_message
from branchline.hw.sip.agent import UserAgent
from branchline.hw.sip.digest import DigestClient
from branchline.hw.sip.guard import ScannerGuard
from branchline.hw.sip.registrar import PhoneRegistered, PhoneUnregistered, Registrar
from branchline.hw.sip.registration import (
    PEER_EVENTS,
    STATES,
    TABLE,
    TU_EVENTS,
    Registration,
    RegistrationChanged,
)

PHONE, SERVER, SPARE = ("127.0.0.1", 5070), ("127.0.0.2", 5060), ("127.0.0.3", 5060)
ACCOUNTS = {"801": "pw-801-long-enough", "802": "pw-802-long-enough"}


def _server(host_port=SERVER, guard=None, **options):
    registrar = Registrar("branch", b"k" * 16, ACCOUNTS.get, guard=guard, **options)
    return UserAgent(*host_port, registrar=registrar, guard=guard)


def _client(password="pw-801-long-enough", registrars=(SERVER,), **options):
    ua = UserAgent(*PHONE)
    reg = Registration("trunk", "801", "branch.example", [(*r, "udp") for r in registrars],
                       DigestClient("801", password), "sip:801@127.0.0.1:5070", **options)
    ua.add_registration(reg)
    return ua, reg


def _states(ua):
    return [e.status.state for e in ua.events if isinstance(e, RegistrationChanged)]


def test_register_with_digest_then_refresh_before_expiry_then_unregister():
    server = _server(max_expires=600)
    phone, reg = _client(expires=3600)
    net = Net(phone, server)
    net.send(phone.register("trunk", 0.0), phone)
    net.run(1.0)
    assert net.methods() == ["REGISTER", 401, "REGISTER", 200]
    assert reg.status.state == "registered" and reg.status.expires_at == 600.0
    (binding,) = server.reachable("801", 1.0)
    assert (binding.source, binding.contact, binding.user_agent) == \
        (PHONE, "sip:801@127.0.0.1:5070", "Branchline")
    assert isinstance(server.events[0], PhoneRegistered)
    net.run(1000.0)  # granted 600 s: refreshed at 540 (expiry minus the 60 s margin)
    refreshes = [t for t, s, m in net.log if s == PHONE and m.header("Authorization")]
    assert refreshes == [0.0, 540.0]
    assert reg.status.state == "registered" and server.reachable("801", 1000.0)
    net.send(phone.unregister("trunk", net.now), phone)
    net.run(1001.0)
    assert reg.status.state == "idle" and server.reachable("801", 1001.0) == []
    assert server.events[-1] == PhoneUnregistered("801", "sip:801@127.0.0.1:5070",
                                                  "unregistered")


def test_a_wrong_password_fails_and_retries_with_exponential_back_off_to_a_cap():
    guard = ScannerGuard(block_after=100)
    server = _server(guard=guard)
    phone, reg = _client(password="wrong", backoff=5.0, backoff_cap=40.0)
    net = Net(phone, server)
    net.send(phone.register("trunk", 0.0), phone)
    net.run(200.0)
    attempts = [t for t, s, m in net.log if s == PHONE and m.header("Authorization")]
    assert attempts == [0.0, 5.0, 15.0, 35.0, 75.0, 115.0, 155.0, 195.0]
    assert reg.status.state == "failed" and reg.status.reason == "403 Forbidden"
    assert reg.status.next_attempt == 235.0
    assert guard.counters["auth_failures"] == 8
    assert "wrong" not in repr(reg) + repr(reg.credentials) + repr(reg.status)


def test_failover_to_the_second_registrar_when_the_first_does_not_answer():
    spare = _server(SPARE)
    phone, reg = _client(registrars=(SERVER, SPARE), backoff=5.0)
    net = Net(phone, spare)  # nothing answers at SERVER
    net.send(phone.register("trunk", 0.0), phone)
    net.run(35.0)  # timer F: 64*T1 = 32 s without an answer, then 5 s of back-off
    assert reg.status.state == "retrying" and reg.status.next_attempt == 37.0
    assert reg.status.reason == "no answer (timeout)" and reg.status.registrar == SPARE[:2]
    net.run(40.0)
    assert reg.status.state == "registered" and spare.reachable("801", 40.0)
    assert _states(phone) == ["registering", "retrying", "registering", "registered"]


def test_registrar_rules_423_star_unknown_users_and_other_accounts():
    guard = ScannerGuard(block_after=100)
    server = _server(guard=guard, min_expires=120)
    phone, reg = _client(expires=60)
    net = Net(phone, server)
    net.send(phone.register("trunk", 0.0), phone)
    net.run(1.0)
    assert 423 in net.methods() and reg.expires == 120 and reg.status.state == "registered"
    stranger = UserAgent("127.0.0.9", 5099)
    probe = Registration("p", "999", "branch.example", [(*SERVER, "udp")],
                         DigestClient("999", "guess"), "sip:999@127.0.0.9:5099")
    stranger.add_registration(probe)
    net = Net(stranger, server)
    net.send(stranger.register("p", 0.0), stranger)
    net.run(2.0)
    assert net.methods() == ["REGISTER", 401, "REGISTER", 403]  # 401 first, as for a user
    assert guard.counters["unknown_users"] == 2
    star = (b"REGISTER sip:branch.example SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;"
            b"branch=z9hG4bK-s\r\nFrom: <sip:801@branch.example>;tag=a\r\n"
            b"To: <sip:801@branch.example>\r\nCall-ID: x\r\nCSeq: 9 REGISTER\r\n"
            b"Contact: *\r\nExpires: 0\r\n\r\n")
    request = parse_message(star)
    response, _ = server.registrar.handle(request, PHONE, "udp", 3.0)
    assert response.status == 401
    assert server.registrar.handle(request, PHONE, "udp", 3.0)[0].status == 401


def test_the_guard_rate_limits_then_blocks_then_forgets():
    guard = ScannerGuard(window=60, limit_after=2, limit_interval=5, block_after=4,
                         block_for=100)
    for t in (0.0, 1.0):
        assert guard.verdict("10.0.0.5", t) == "pass"
        guard.auth_failed("10.0.0.5", t)
    assert [guard.verdict("10.0.0.5", t) for t in (2.0, 3.0, 7.5)] == ["pass", "drop", "pass"]
    guard.unknown_user("10.0.0.5", 8.0)
    guard.unknown_user("10.0.0.5", 9.0)
    assert guard.verdict("10.0.0.5", 10.0) == "drop" and guard.blocked(10.0) == {
        "10.0.0.5": 109.0}
    assert guard.verdict("10.0.0.6", 10.0) == "pass"
    assert guard.verdict("10.0.0.5", 200.0) == "pass" and guard.blocked(200.0) == {}
    assert guard.metrics(200.0) == {"auth_failures": 2, "unknown_users": 2,
                                    "rate_limited": 1, "blocked_requests": 1, "blocks": 1,
                                    "blocked_sources": 0}


def test_the_registration_table_is_walked():
    reached, frontier = set(), ["idle"]
    while frontier:
        state = frontier.pop()
        if state not in reached:
            reached.add(state)
            frontier += [n for (s, _), n in TABLE.items() if s == state]
    assert reached == set(STATES)
    assert {e for _, e in TABLE} <= set(TU_EVENTS + PEER_EVENTS)
    _phone, reg = _client()
    with pytest.raises(UsageError, match="state 'idle' cannot take 'stop'"):
        reg.stop(0.0)
    assert reg.state == "idle"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["start", "stop", "tick", "timeout", "response"]),
                          st.sampled_from([100, 200, 401, 403, 407, 408, 423, 500, 503]),
                          st.floats(0, 1000)), max_size=30))
def test_random_events_never_break_the_registration(events):
    _, reg = _client()
    ok = parse_message(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                       b"From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\n"
                       b"CSeq: 1 REGISTER\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"n\""
                       b"\r\nMin-Expires: 7200\r\n\r\n")
    now = 0.0
    for kind, status, step in events:
        now += step
        try:
            if kind == "response":
                reg.on_response(ok.__class__(headers=ok.headers, status=status, reason="x"),
                                now)
            elif kind == "timeout":
                reg.on_timeout(now)
            else:
                getattr(reg, kind)(now)
        except UsageError:
            pass
        assert reg.state in STATES
        assert reg.deadline is None or reg.deadline >= now or reg.state != "idle"
