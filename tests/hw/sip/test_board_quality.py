"""What the SIP board keeps of a call's media for its record and /metrics, against a caller
made of our own endpoint and RTP engine on 127.0.0.1: the statistics stay readable after the
caller's BYE closed the channel, until the channel's next call; RTP totals count ended calls;
a board without media statistics gives None through the composite board. A channel freed in a
tick is not given to a call arriving in the same tick: the appliance's hang-up of the old call
must not reach the new one."""

import time

import numpy as np
import pytest
from hwsim_kit import scenario
from sip_harness import PEER_LIMIT

from branchline.hw import SimBoard
from branchline.hw.composite import CompositeBoard
from branchline.hw.ports import BLOCK_SAMPLES, CallerId, FarEndHangup
from branchline.hw.sip.agent import UserAgent
from branchline.hw.sip.board import SipBoard, SipTrunk
from branchline.hw.sip.calls import CallAnswered
from branchline.hw.sip.driver import SipEndpoint
from branchline.hw.sip.guard import OutboundPolicy
from branchline.hw.sip.rtp import RtpEngine


class Caller:
    def __init__(self):
        self.ep = SipEndpoint(lambda h, p: UserAgent(h, p, outbound=OutboundPolicy(
            lambda n, p: True)))
        self.rtp = RtpEngine(1)
        self.media = self.rtp.open(0, host="127.0.0.1")
        self.seen = []

    def step(self):
        self.ep.poll(0)
        while self.ep.agent.events:
            self.seen.append(self.ep.agent.events.popleft())
        self.rtp.receive()
        self.rtp.write(np.full((1, BLOCK_SAMPLES), 1000, dtype=np.int16))

    def close(self):
        self.rtp.close(0)
        self.ep.close()


@pytest.fixture
def rig():
    board = SipBoard(2, [SipTrunk("carrier", frozenset({"127.0.0.1"}))], (),
                     password_for={}.get, secret=b"s" * 16)
    callers, events = [], []

    def until(done):
        end = time.monotonic() + PEER_LIMIT  # a bound on a broken exchange, not a speed check
        while not done() and time.monotonic() < end:
            events.extend(board.tick(time.monotonic()))
            board.read_block()
            board.write_block(np.zeros((2, BLOCK_SAMPLES), np.int16))
            for caller in callers:
                caller.step()
        return done()

    def call(answer=True, wait=True):
        caller = Caller()
        callers.append(caller)
        _, out = caller.ep.agent.invite("95588", board.address, time.monotonic(),
                                        media_address=caller.media)
        caller.ep.send(out)
        if not wait:
            return caller
        assert until(lambda: any(isinstance(e, CallerId) for e in events))
        events.clear()
        if not answer:
            return caller
        board.answer(0)
        assert until(lambda: any(isinstance(e, CallAnswered) for e in caller.seen))
        return caller

    yield board, call, until, events
    board.close()
    for caller in callers:
        caller.close()


def test_a_calls_statistics_outlive_its_bye_until_the_channels_next_call(rig):
    board, call, until, events = rig
    caller = call()
    assert until(lambda: board.call_quality(0).received >= 25)  # half a second of audio
    (answered,) = [e for e in caller.seen if isinstance(e, CallAnswered)]
    caller.ep.send(caller.ep.agent.hangup(answered.call_id, time.monotonic()))
    assert until(lambda: any(isinstance(e, FarEndHangup) for e in events))
    ended = board.call_quality(0)
    assert ended.received >= 25 and ended.lost == 0
    assert 4.0 < ended.mos <= 4.5 and ended.r > 85
    assert board.status()["rtp"] == {"lost": ended.lost, "late": ended.late}

    call(answer=False)  # the channel's next call rings: the last one's figures are gone
    assert board.call_quality(0) is None


def test_the_composite_board_asks_the_ports_own_board():
    sip = SipBoard(1, (), (), password_for={}.get, secret=b"s" * 16)
    try:
        composite = CompositeBoard([SimBoard(scenario=scenario(board={"trunks": 1,
                                                                      "stations": 0})), sip])
        analog = 0
        assert composite.call_quality(analog) is None
        assert composite.call_quality(len(composite.ports) - 1) is None  # no call yet
    finally:
        sip.close()


def test_a_channel_freed_in_a_tick_is_not_taken_by_a_call_arriving_in_it(rig):
    board, call, until, events = rig
    first = call()
    (answered,) = [e for e in first.seen if isinstance(e, CallAnswered)]
    # The BYE and the next INVITE are both queued on loopback before the board's next tick.
    first.ep.send(first.ep.agent.hangup(answered.call_id, time.monotonic()))
    second = call(wait=False)
    events.extend(board.tick(time.monotonic()))
    hangups = [e.port for e in events if isinstance(e, FarEndHangup)]
    rings = [e.port for e in events if isinstance(e, CallerId)]
    assert hangups == [0] and rings == [1]
    board.hang_up(0)  # what the appliance does for the first call: nothing left to end
    board.answer(1)
    assert until(lambda: any(isinstance(e, CallAnswered) for e in second.seen))
