"""/metrics' SIP families from a real SIP board on 127.0.0.1: a scanner's INVITEs from an
address no trunk trusts are counted, block it and are logged (its address, never a password);
a call back the outbound rule refuses is counted; RTP packets lost and late on a call (sent by
the test as crafted datagrams) are counted, and stay counted after the call ends; a phone
account that has not registered is shown so."""

import logging
import re
import socket
import struct
import time

import numpy as np
import pytest
from sip_harness import PEER_LIMIT

from branchline.firmware.ops.metrics import RuntimeSnapshot, render_exposition, sip_health
from branchline.hw.ports import BLOCK_SAMPLES, CallerId, FarEndHangup
from branchline.hw.sip.agent import UserAgent
from branchline.hw.sip.board import SipBoard, SipPhone, SipTrunk
from branchline.hw.sip.calls import CallAnswered, CallEnded
from branchline.hw.sip.driver import SipEndpoint
from branchline.hw.sip.guard import OutboundPolicy

PASSWORD = "saffron-quarry-lintel-44"
_SAMPLE = re.compile(r'^([a-z_]+)(?:\{([a-z_]+)="([^"]*)"\})? (\S+)$')


def parse(text):
    """{(name, ((label, value),)): value} of the exposition's samples."""
    samples = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            name, label, value, number = _SAMPLE.match(line).groups()
            samples[(name, ((label, value),) if label else ())] = float(number)
    return samples


class Rig:
    def __init__(self, trusted):
        self.board = SipBoard(2, [SipTrunk("carrier", frozenset({trusted}))],
                              [SipPhone("desk1", "801")], password_for={"801": PASSWORD}.get,
                              secret=b"s" * 16)
        self.peer = SipEndpoint(lambda h, p: UserAgent(h, p, outbound=OutboundPolicy(
            lambda n, p: True)))
        self.seen, self.events = [], []

    def until(self, done):
        end = time.monotonic() + PEER_LIMIT  # a bound on a broken exchange, not a speed check
        while not done() and time.monotonic() < end:
            self.events += self.board.tick(time.monotonic())
            self.board.read_block()
            self.board.write_block(np.zeros((3, BLOCK_SAMPLES), np.int16))
            self.peer.poll(0.005)
            while self.peer.agent.events:
                self.seen.append(self.peer.agent.events.popleft())
        return done()

    def invite(self, media=("127.0.0.1", 9)):
        _, out = self.peer.agent.invite("95588", self.board.address, time.monotonic(),
                                        media_address=media)
        self.peer.send(out)

    def samples(self):
        return parse(render_exposition(RuntimeSnapshot(taken_at=0.0,
                                                       sip=sip_health(self.board))))

    def close(self):
        self.board.close()
        self.peer.close()


@pytest.fixture
def rig():
    made = []

    def make(trusted):
        made.append(Rig(trusted))
        return made[-1]
    yield make
    for r in made:
        r.close()


def test_a_scanner_is_counted_blocked_and_logged_without_a_password(rig, caplog):
    r = rig(trusted="127.0.0.2")  # the scanner on 127.0.0.1 is nobody's trunk
    for n in range(10):
        r.invite()
        assert r.until(lambda n=n: len([e for e in r.seen if isinstance(e, CallEnded)]) > n)
    assert all(e.status == 403 for e in r.seen if isinstance(e, CallEnded))
    r.invite()  # blocked now: dropped unanswered, its retransmissions too
    assert r.until(lambda: r.board.guard.counters["blocked_requests"] >= 2)
    with caplog.at_level(logging.WARNING, logger="branchline.sip"):
        samples = r.samples()
        again = r.samples()
    assert samples[("branchline_sip_guard_total", (("kind", "unknown_users"),))] == 10
    assert samples[("branchline_sip_guard_total", (("kind", "blocks"),))] == 1
    assert samples[("branchline_sip_guard_total", (("kind", "blocked_requests"),))] >= 2
    assert samples[("branchline_sip_blocked_sources", ())] == 1
    assert samples[("branchline_sip_phones", (("registered", "no"),))] == 1
    assert samples[("branchline_sip_phones", (("registered", "yes"),))] == 0
    assert samples[("branchline_sip_trunks", (("state", "registered"),))] == 0
    assert again == samples
    (logged,) = [rec.getMessage() for rec in caplog.records]  # once, at the first sample
    assert "source 127.0.0.1 blocked for 900 s" in logged
    assert PASSWORD not in logged


def test_a_call_back_the_outbound_rule_refuses_is_counted(rig):
    r = rig(trusted="127.0.0.1")
    r.board.dial(0, "13800138000")  # nobody asked for a call back to it
    assert r.until(lambda: any(isinstance(e, FarEndHangup) for e in r.events))  # as if busy
    assert r.samples()[("branchline_sip_outbound_refused_total", ())] == 1


def _rtp(seq, ssrc=0x1234):
    return struct.pack("!BBHII", 0x80, 8, seq, seq * 160, ssrc) + b"\xd5" * 160


def test_rtp_packets_lost_and_late_are_counted_and_stay_counted_after_the_call(rig):
    r = rig(trusted="127.0.0.1")
    media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        media.bind(("127.0.0.1", 0))
        r.invite(media.getsockname())
        assert r.until(lambda: any(isinstance(e, CallerId) for e in r.events))
        r.board.answer(0)
        assert r.until(lambda: any(isinstance(e, CallAnswered) for e in r.seen))
        where = r.board._lines[0].local
        for seq in (1, 2, 3, 4, 5, 7, 8):  # 6 is held back
            media.sendto(_rtp(seq), where)
        assert r.until(lambda: r.board.call_quality(0).received == 7)
        ticks = 0

        def played_past_six():  # 200 ms of playout: 6's audio is behind the play point
            nonlocal ticks
            ticks += 1
            return ticks > 10
        assert r.until(played_past_six)
        for seq in (6, 10):  # 6 comes late, 9 never comes
            media.sendto(_rtp(seq), where)
        assert r.until(lambda: r.board.call_quality(0).late == 1)
        live = r.samples()
        stats = r.board.call_quality(0)
        assert stats.lost >= 1
        assert live[("branchline_rtp_packets_total", (("kind", "late"),))] == 1
        assert live[("branchline_rtp_packets_total", (("kind", "lost"),))] == stats.lost
        (answered,) = [e for e in r.seen if isinstance(e, CallAnswered)]
        r.peer.send(r.peer.agent.hangup(answered.call_id, time.monotonic()))
        assert r.until(lambda: any(isinstance(e, FarEndHangup) for e in r.events))
        assert r.samples()[("branchline_rtp_packets_total", (("kind", "late"),))] == 1
    finally:
        media.close()
