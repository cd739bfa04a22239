"""Malformed RTP and RTCP never crash the receive path: random and mutated datagrams are
counted and dropped, and the kernel's counters stay consistent with the reference's."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rtp_reference import ReferenceChannel, event_packet, rtp_packet

from branchline.hw.sip.rtp import RtpEngine

VALID = [rtp_packet(k, 160 * k, 77, bytes(range(160))) for k in range(4)] + [
    event_packet(4, 480, 77, 3, 320, end=True),
    rtp_packet(5, 800, 77, bytes(80), pt=8) + bytes([0, 0, 3]),
    bytes([0x90, 8, 0, 6, 0, 0, 3, 0x20, 0, 0, 0, 77, 0xBE, 0xDE, 0, 1, 1, 2, 3, 4]) + bytes(160),
]
RTCP = bytes([0x81, 201, 0, 7]) + bytes(28) + bytes([0x81, 202, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0])


def mutate(data, edits):
    out = bytearray(data)
    for position, value in edits:
        if out:
            out[position % len(out)] = value
    return bytes(out)


@pytest.fixture(scope="module")
def engine():
    rtp = RtpEngine(1)
    rtp.open(0)
    yield rtp
    rtp.close(0)


def fresh(engine):
    engine.close(0)
    engine.open(0)
    return ReferenceChannel(320)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=600), max_size=8))
def test_random_datagrams_raise_nothing(engine, datagrams):
    ref = fresh(engine)
    for k, data in enumerate(datagrams):
        engine.feed(0, data, arrival_ns=k * 20_000_000)
        ref.feed(data, k * 20_000_000)
        engine.feed(0, data, arrival_ns=k * 20_000_000, rtcp=True)
    out = np.zeros((1, 160), np.int16)
    engine.read(out)
    s = engine.stats(0)
    assert s.bad == ref.stats["bad"] and s.received == ref.stats["received"]
    assert s.received + s.bad + s.duplicate + s.late <= len(datagrams)
    assert np.array_equal(out[0], ref.read(160))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(range(len(VALID))),
                          st.lists(st.tuples(st.integers(0, 700), st.integers(0, 255)),
                                   max_size=4),
                          st.integers(-3, 3)), max_size=12))
def test_mutated_packets_match_the_reference(engine, plan):
    ref = fresh(engine)
    out = np.zeros((1, 160), np.int16)
    for k, (which, edits, cut) in enumerate(plan):
        data = mutate(VALID[which], edits)
        if cut < 0:
            data = data[:cut]
        arrival = k * 20_000_000
        events = engine.feed(0, data, arrival_ns=arrival)
        ref_before = len(ref.events)
        ref.feed(data, arrival)
        assert [(e.start, e.end) for e in events] == [
            (start, end) for _, start, end in ref.events[ref_before:]]
        engine.read(out)
        assert np.array_equal(out[0], ref.read(160))
    s = engine.stats(0)
    assert (s.received, s.bad, s.duplicate, s.late) == (
        ref.stats["received"], ref.stats["bad"], ref.stats["duplicate"], ref.stats["late"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 255)), max_size=6),
       st.integers(0, 60))
def test_mutated_rtcp_raises_nothing(engine, edits, cut):
    fresh(engine)
    data = mutate(RTCP, edits)[:len(RTCP) - cut]
    engine.feed(0, data, arrival_ns=1, rtcp=True)
    s = engine.stats(0)
    assert s.rtcp_bad in (0, 1) and s.received == 0
