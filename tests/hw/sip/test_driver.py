"""The driver's TCP side between two of our endpoints on 127.0.0.1, the RFC 3261 §18.1.1
size rule that sends large requests by TCP, and descriptors past select()'s 1,024."""

import contextlib
import errno
import os
import resource
import socket
import time

import pytest
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


def _options(transport, port):
    return (f"OPTIONS sip:ivr@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/{transport} 127.0.0.1:{port};branch=z9hG4bK-fd{transport}\r\n"
            "From: <sip:probe@127.0.0.1>;tag=p1\r\nTo: <sip:ivr@127.0.0.1>\r\n"
            f"Call-ID: fd-{transport}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n").encode()


@pytest.fixture
def past_1024():
    """Descriptors 0..1099 taken, so every socket opened after has a number past 1,024 (a
    thousand calls hold two RTP sockets each before the signalling's connections)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2048
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"RLIMIT_NOFILE's hard limit is {hard}; this test needs {wanted} "
                    "descriptors (raise it with ulimit -Hn or limits.conf)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    taken = []
    try:
        while not taken or taken[-1] < 1100:
            taken.append(os.open(os.devnull, os.O_RDONLY))
        yield
    finally:
        for fd in taken:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_sockets_numbered_past_1024_are_served_over_udp_and_tcp(past_1024):
    server = SipEndpoint(lambda h, p: UserAgent(h, p))
    peer = SipEndpoint(lambda h, p: UserAgent(h, p))
    with server, peer, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, \
            socket.create_connection(server.address, timeout=5) as tcp:
        assert min(server.fileno(), udp.fileno(), tcp.fileno()) > 1024
        udp.bind(("127.0.0.1", 0))
        udp.setblocking(False)
        udp.sendto(_options("UDP", udp.getsockname()[1]), server.address)
        tcp.sendall(_options("TCP", tcp.getsockname()[1]))
        tcp.setblocking(False)
        replies = {}

        def answered():
            for sock in (udp, tcp):  # the TCP one on the connection the server accepted
                with contextlib.suppress(BlockingIOError):
                    replies[sock] = parse_message(sock.recv(65535)).status
            return len(replies) == 2

        assert _until(answered, server)
        assert list(replies.values()) == [200, 200]
        # And a connection we open (its connect and first write wait in the selector).
        server.send(server.agent.qualify("peer", peer.address, time.monotonic(),
                                         transport="tcp"))
        assert _until(lambda: "peer" in server.agent.peers, server, peer)
        assert server.agent.peers["peer"].reachable


def test_a_free_udp_port_whose_tcp_twin_is_taken_is_picked_again(monkeypatch):
    """Port 0 gives a UDP port whose TCP number may be held elsewhere: the endpoint binds
    again on a new pick and works (the first failed pick once closed its own selector)."""
    real_bind = SipEndpoint._bind
    picks = []

    def bind_taken_once(self, family, host, port, tcp):
        real_bind(self, family, host, port, tcp)
        picks.append(self.address)
        if len(picks) == 1:
            raise OSError(errno.EADDRINUSE, "Address already in use")

    monkeypatch.setattr(SipEndpoint, "_bind", bind_taken_once)
    with SipEndpoint(lambda h, p: UserAgent(h, p)) as endpoint:
        assert len(picks) == 2
        assert endpoint.address == picks[1]
        endpoint.poll(0)
