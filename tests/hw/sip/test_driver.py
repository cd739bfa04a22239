"""The driver's TCP side between two of our endpoints on 127.0.0.1, and the RFC 3261 §18.1.1
size rule that sends large requests by TCP."""

import socket
import time

from sip_harness import PEER_LIMIT, free_port

from branchline.hw.sip import parse_message
from branchline.hw.sip.agent import UserAgent
from branchline.hw.sip.digest import DigestClient
from branchline.hw.sip.driver import SipEndpoint
from branchline.hw.sip.guard import OutboundPolicy
from branchline.hw.sip.registrar import PhoneRegistered, Registrar
from branchline.hw.sip.registration import Registration


def _until(done, *endpoints):
    end = time.monotonic() + PEER_LIMIT  # a bound on a broken exchange, not a speed check
    while not done() and time.monotonic() < end:
        for ep in endpoints:
            ep.poll(0.01)
    return done()


def test_a_phone_registers_over_tcp_and_is_reached_where_it_registered_from():
    registrar = Registrar("branch", b"t" * 16, {"805": "pw-805-long"}.get)
    server = SipEndpoint(lambda h, p: UserAgent(h, p, registrar=registrar))
    phone = SipEndpoint(lambda h, p: UserAgent(h, p))
    with server, phone:
        host, port = server.address
        reg = Registration("desk", "805", "branch", [(host, port, "tcp")],
                           DigestClient("805", "pw-805-long"),
                           f"sip:805@{phone.address[0]}:{phone.address[1]};transport=tcp")
        phone.agent.add_registration(reg)
        phone.send(phone.agent.register("desk", time.monotonic()))
        assert _until(lambda: reg.state == "registered", server, phone), reg.status
        assert server.stream_messages_in == 2 and server.datagrams_in == 0
        (binding,) = server.agent.reachable("805", time.monotonic())
        assert binding.transport == "tcp" and binding.source[0] == "127.0.0.1"
        assert isinstance(server.agent.events[0], PhoneRegistered)


def test_qualify_over_tcp_to_a_closed_port_is_unreachable_at_once():
    ep = SipEndpoint(lambda h, p: UserAgent(h, p))
    with ep:
        closed = ("127.0.0.1", free_port())
        ep.send(ep.agent.qualify("gone", closed, time.monotonic(), transport="tcp"))
        assert _until(lambda: "gone" in ep.agent.peers, ep)
        assert not ep.agent.peers["gone"].reachable


def test_requests_over_1300_bytes_go_by_tcp_when_the_driver_has_it():
    policy = OutboundPolicy(lambda number, purpose: True)
    big = "x" * 900  # a long From user makes the INVITE larger than the path MTU allows
    for tcp, expected in ((True, "tcp"), (False, "udp")):
        ua = UserAgent("127.0.0.1", 5060, media_port=30000, outbound=policy, tcp=tcp)
        _, (out,) = ua.invite("1001", ("127.0.0.2", 5060), 0.0, from_user=big)
        assert out.transport == expected
        assert parse_message(out.data).vias[0].transport == expected.upper()
        _, (small,) = ua.invite("1001", ("127.0.0.2", 5060), 0.0)
        assert small.transport == "udp"


def test_one_source_gets_at_most_eight_connections_and_quiet_ones_are_closed():
    clock = [0.0]
    ep = SipEndpoint(lambda h, p: UserAgent(h, p), clock=lambda: clock[0], tcp_idle=60.0)
    with ep:
        clients = [socket.create_connection(ep.address, timeout=5) for _ in range(10)]
        try:
            assert _until(lambda: len(ep.connections) + ep.errors >= 10, ep)
            assert len(ep.connections) == 8 and ep.errors == 2
            clock[0] = 61.0
            ep.poll(0)
            assert ep.connections == []
        finally:
            for c in clients:
                c.close()
