"""The SIP board against a peer made of our own SIP endpoint and RTP engine on 127.0.0.1:
calls in from a trunk, caller ID, answer and hang-up both ways, RFC 4733 keys, agent phones
registering, rung and answering, and callbacks dialled only where the policy allows."""

import time

import numpy as np
import pytest
from sip_harness import PEER_LIMIT

from branchline.dsp import DtmfEvent
from branchline.hw.ports import (
    ABSENT_PRIVATE,
    BLOCK_SAMPLES,
    CallerId,
    ClearSignal,
    FarEndAnswered,
    FarEndHangup,
    OffHook,
    OnHook,
    PortError,
    PortInService,
    PortKind,
    PortOutOfService,
    Ring,
)
from branchline.hw.sip.agent import UserAgent
from branchline.hw.sip.board import SipBoard, SipPhone, SipTrunk
from branchline.hw.sip.calls import CallAnswered, CallEnded, IncomingCall
from branchline.hw.sip.digest import DigestClient
from branchline.hw.sip.driver import SipEndpoint
from branchline.hw.sip.guard import OutboundPolicy
from branchline.hw.sip.registration import Registration
from branchline.hw.sip.rtp import RtpEngine

PASSWORDS = {"801": "tulip-harbour-quartz-9"}


class Peer:
    """A caller, a carrier or a phone: our own user agent with one RTP channel."""

    def __init__(self, trusted=()):
        self.ep = SipEndpoint(lambda h, p: UserAgent(
            h, p, trusted=trusted, outbound=OutboundPolicy(lambda n, p: True)))
        self.ua = self.ep.agent
        self.rtp = RtpEngine(1)
        self.media = self.rtp.open(0, host="127.0.0.1")
        self.seen = []

    def now(self):
        return time.monotonic()

    def step(self):
        self.ep.poll(0)
        while self.ua.events:
            self.seen.append(self.ua.events.popleft())
        self.keys = self.rtp.receive()
        block = np.zeros((1, BLOCK_SAMPLES), dtype=np.int16)
        self.rtp.write(block)

    def of(self, kind):
        return [e for e in self.seen if isinstance(e, kind)]

    def close(self):
        self.rtp.close(0)
        self.ep.close()


class Rig:
    def __init__(self, **options):
        self.board = SipBoard(2, [SipTrunk("carrier", frozenset({"127.0.0.1"}),
                                           options.pop("address", None), dtmf=options.pop(
                                               "dtmf", "auto"))],
                              [SipPhone("desk1", "801")], password_for=PASSWORDS.get,
                              secret=b"s" * 16, **options)
        self.events = []
        self.keys = []
        self.peers = []

    def peer(self, trusted=()):
        peer = Peer(trusted)
        self.peers.append(peer)
        return peer

    def step(self):
        self.events += self.board.tick(time.monotonic())
        self.board.read_block()
        self.keys += self.board.dtmf_events([])
        self.board.write_block(np.zeros((len(self.board.ports), BLOCK_SAMPLES), np.int16))
        for peer in self.peers:
            peer.step()

    def until(self, done):
        end = time.monotonic() + PEER_LIMIT  # a bound on a broken exchange, not a speed check
        while not done() and time.monotonic() < end:
            self.step()
        return done()

    def of(self, kind):
        return [e for e in self.events if isinstance(e, kind)]

    def close(self):
        self.board.close()
        for peer in self.peers:
            peer.close()


@pytest.fixture
def rig():
    made = []

    def make(**options):
        made.append(Rig(**options))
        return made[-1]
    yield make
    for r in made:
        r.close()


def _call_in(rig, caller="13800138000", number="95588"):
    peer = rig.peer()
    _, out = peer.ua.invite(number, rig.board.address, peer.now(), from_user=caller,
                            media_address=peer.media)
    peer.ep.send(out)
    assert rig.until(lambda: rig.of(CallerId))
    return peer


def test_ports_are_sip_channels_then_one_station_per_phone(rig):
    board = rig().board
    assert [(p.kind, p.name) for p in board.ports] == [
        (PortKind.SIP, "sip1"), (PortKind.SIP, "sip2"), (PortKind.FXS, "desk1")]
    assert board.ports[0].clear_signal is ClearSignal.SIGNALLING
    with pytest.raises(PortError):
        board.ring(0)
    with pytest.raises(PortError):
        board.answer(2)


def test_a_call_in_rings_gives_caller_id_is_answered_and_the_caller_hangs_up(rig):
    r = rig()
    peer = _call_in(r)
    (ring,) = r.of(Ring)
    assert ring.port == 0 and ring.count == 1
    assert r.of(CallerId)[0].number == "13800138000"
    r.board.answer(0)
    assert r.until(lambda: peer.of(CallAnswered))
    assert peer.of(CallAnswered)[0].media.codec == "PCMA"
    call_id = peer.of(CallAnswered)[0].call_id
    peer.ep.send(peer.ua.hangup(call_id, peer.now()))
    assert r.until(lambda: r.of(FarEndHangup))
    assert r.of(FarEndHangup)[0].signal is ClearSignal.SIGNALLING
    assert r.board.call_quality(0) is not None  # the ended call's, kept for its record


def test_the_appliance_hangs_up_and_the_caller_gets_a_bye(rig):
    r = rig()
    peer = _call_in(r)
    r.board.answer(0)
    assert r.until(lambda: peer.of(CallAnswered))
    r.board.hang_up(0)
    assert r.until(lambda: peer.of(CallEnded))
    assert peer.of(CallEnded)[0].reason == "bye"
    assert not r.of(FarEndHangup)


def test_a_withheld_number_is_absent_as_private(rig):
    r = rig()
    _call_in(r, caller="anonymous")
    (cid,) = r.of(CallerId)
    assert cid.number is None and cid.number_absent == ABSENT_PRIVATE


def test_a_source_no_trunk_names_is_refused_and_nothing_rings(rig):
    r = rig()
    r.board.agent.trusted = frozenset({"127.0.0.9"})  # the carrier is elsewhere
    peer = r.peer()
    _, out = peer.ua.invite("95588", r.board.address, peer.now(), media_address=peer.media)
    peer.ep.send(out)
    assert r.until(lambda: peer.of(CallEnded))
    assert peer.of(CallEnded)[0].status == 403
    assert not r.of(Ring)
    assert r.board.guard.metrics(time.monotonic())["unknown_users"] == 1


def test_a_dialled_number_takes_its_own_channel_and_an_unknown_one_gets_404(rig):
    r = rig(numbers={0: "95588", 1: "95566"})
    _call_in(r, number="95566")
    assert r.of(Ring)[0].port == 1
    peer = r.peer()
    _, out = peer.ua.invite("12345", r.board.address, peer.now(), media_address=peer.media)
    peer.ep.send(out)
    assert r.until(lambda: peer.of(CallEnded))
    assert peer.of(CallEnded)[0].status == 404


def test_rfc4733_keys_replace_in_band_ones_on_a_call_that_negotiated_them(rig):
    r = rig()
    peer = _call_in(r)
    r.board.answer(0)
    assert r.until(lambda: peer.of(CallAnswered))
    peer.rtp.send_digit(0, "5", 100)
    assert r.until(lambda: any(k.end is not None for k in r.keys))
    assert {(k.channel, k.digit) for k in r.keys} == {(0, "5")}
    heard = DtmfEvent(0, "7", 0, 800)  # what the in-band receiver would make of the audio
    assert r.board.dtmf_events([heard]) == []


def test_an_inband_trunk_listens_to_the_audio_and_ignores_rfc4733(rig):
    r = rig(dtmf="inband")
    peer = _call_in(r)
    r.board.answer(0)
    assert r.until(lambda: peer.of(CallAnswered))
    heard = DtmfEvent(0, "7", 0, 800)
    assert r.board.dtmf_events([heard]) == [heard]
    peer.rtp.send_digit(0, "5", 100)
    r.until(lambda: peer.rtp.stats(0).sent > 20)
    assert r.keys == []


def _phone(r):
    peer = r.peer(trusted={"127.0.0.1"})
    host, port = r.board.address
    reg = Registration("desk", "801", host, [(host, port, "udp")],
                       DigestClient("801", PASSWORDS["801"]),
                       f"sip:801@{peer.ep.address[0]}:{peer.ep.address[1]}")
    peer.ua.add_registration(reg)
    peer.ep.send(peer.ua.register("desk", peer.now()))
    return peer, reg


def test_a_phone_is_out_of_service_until_it_registers_then_rings_answers_and_hangs_up(rig):
    r = rig()
    r.step()
    assert r.of(PortOutOfService) == [PortOutOfService(2, r.events[0].time, "unregistered")]
    r.board.ring(2)  # nobody to ring yet: nothing happens
    peer, _ = _phone(r)
    assert r.until(lambda: r.of(PortInService))
    r.board.ring(2)
    assert r.until(lambda: peer.of(IncomingCall))
    incoming = peer.of(IncomingCall)[0]
    peer.ep.send(peer.ua.answer(incoming.call_id, peer.now(), media_address=peer.media))
    assert r.until(lambda: r.of(OffHook))
    peer.ep.send(peer.ua.hangup(incoming.call_id, peer.now()))
    assert r.until(lambda: r.of(OnHook))
    peer.ep.send(peer.ua.unregister("desk", peer.now()))
    assert r.until(lambda: len(r.of(PortOutOfService)) == 2)


def test_stop_ring_cancels_the_phones_invite(rig):
    r = rig()
    peer, _ = _phone(r)
    assert r.until(lambda: r.of(PortInService))
    r.board.ring(2)
    assert r.until(lambda: peer.of(IncomingCall))
    call_id = peer.of(IncomingCall)[0].call_id
    peer.ep.send(peer.ua.ring(call_id, peer.now()))
    r.step()
    r.board.stop_ring(2)
    assert r.until(lambda: peer.of(CallEnded))
    assert peer.of(CallEnded)[0].reason == "cancelled"
    assert not r.of(OffHook)


def test_a_phone_calling_in_goes_off_hook_and_on_hook_at_its_bye(rig):
    r = rig()
    peer, _ = _phone(r)
    assert r.until(lambda: r.of(PortInService))
    caller = peer.ua
    caller.outbound = OutboundPolicy(lambda n, p: True)
    call_id, out = caller.invite("100", r.board.address, peer.now(), from_user="801",
                                 media_address=peer.media,
                                 credentials=DigestClient("801", PASSWORDS["801"]))
    peer.ep.send(out)
    assert r.until(lambda: r.of(OffHook))
    assert r.until(lambda: peer.of(CallAnswered))
    peer.ep.send(caller.hangup(call_id, peer.now()))
    assert r.until(lambda: r.of(OnHook))


def test_dial_calls_only_numbers_the_policy_allows(rig):
    carrier = Peer(trusted={"127.0.0.1"})
    try:
        r = rig(address=carrier.ep.address, allow=lambda n, p: n == "13800138000")
        r.peers.append(carrier)
        r.step()
        assert r.board.dial(1, "16900000000")
        r.step()
        assert r.of(FarEndHangup) and r.board.counters["dial_refused"] == 1
        assert not carrier.of(IncomingCall)
        assert r.board.dial(1, "13800138000")
        assert r.until(lambda: carrier.of(IncomingCall))
        incoming = carrier.of(IncomingCall)[0]
        assert incoming.callee == "13800138000"
        carrier.ep.send(carrier.ua.answer(incoming.call_id, carrier.now(),
                                          media_address=carrier.media))
        assert r.until(lambda: r.of(FarEndAnswered))
        assert r.of(FarEndAnswered)[0].port == 1
    finally:
        r.peers.remove(carrier)
        carrier.close()


def test_a_board_closed_before_its_first_tick_sends_no_unregister():
    trunk = SipTrunk("carrier", address=("127.0.0.1", 5999), user="075512345678",
                     credentials=DigestClient("075512345678", "granite-otter-lamp-59"),
                     register=True)
    board = SipBoard(1, [trunk], password_for=PASSWORDS.get, secret=b"s" * 16)
    board.close()  # its registration never started: there is nothing to undo
    assert board.agent.registrations["carrier"].state == "idle"
