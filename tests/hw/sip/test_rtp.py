"""RtpEngine over real UDP sockets on 127.0.0.1: two engines talking, and a plain socket as
the far end where the test must see the packets themselves."""

import importlib.machinery
import re
import select
import socket

import numpy as np
import pytest
from rtp_reference import rtp_packet

from branchline.dsp import DBM0_RMS, alaw_decode, alaw_encode, ulaw_encode
from branchline.hw.sip import UsageError
from branchline.hw.sip import _rtp as kernel_module
from branchline.hw.sip.rtp import RtpEngine

FRAME = 160


class VirtualClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def pair():
    clock = VirtualClock()
    a, b = RtpEngine(2, clock=clock), RtpEngine(3, clock=clock)
    yield a, b, clock
    for engine in (a, b):
        for channel in range(engine.channels):
            if engine._open[channel] is not None:
                engine.close(channel)


@pytest.fixture
def peer():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


def wait_readable(sock):
    # Loopback delivery is done when sendto returns; select(0) only confirms it.
    return bool(select.select([sock], [], [], 0)[0])


def received(sock):
    packets = []
    while wait_readable(sock):
        packets.append(sock.recvfrom(4096))
    return packets


def tone(frequency, dbm0, n):
    t = np.arange(n)
    return np.round(DBM0_RMS * np.sqrt(2) * 10 ** (dbm0 / 20)
                    * np.sin(2 * np.pi * frequency * t / 8000)).astype(np.int16)


def connect(a, ca, b, cb, **options):
    pa = a.open(ca, **options)
    pb = b.open(cb, **options)
    a.set_remote(ca, pb)
    b.set_remote(cb, pa)


def run_ticks(a, b, tx, ticks):
    """a sends tx[channel] through channel 0 of a's block; b's reads are returned."""
    heard = []
    block = np.zeros((a.channels, FRAME), np.int16)
    out = np.zeros((b.channels, FRAME), np.int16)
    events = []
    for k in range(ticks):
        block[:] = 0
        block[0] = tx[k * FRAME:(k + 1) * FRAME]
        a.write(block)
        events += b.receive()
        b.read(out)
        heard.append(out.copy())
    return np.concatenate(heard, axis=1), events


def test_the_kernel_is_compiled():
    assert isinstance(kernel_module.__spec__.loader, importlib.machinery.ExtensionFileLoader)
    assert kernel_module.__name__ == "branchline.hw.sip._rtp"


@pytest.mark.parametrize(("payload_type", "ptime"), [(8, 20), (0, 20), (8, 10), (0, 30)])
def test_a_tone_arrives_with_its_frequency_and_level(pair, payload_type, ptime):
    a, b, _ = pair
    connect(a, 0, b, 2, payload_type=payload_type, ptime=ptime)
    sent = tone(1020, -10, 100 * FRAME)
    heard, _ = run_ticks(a, b, sent, 100)
    assert not heard[:2].any()  # other channels stay silent
    x = heard[2, 20 * FRAME:].astype(float)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    assert np.fft.rfftfreq(x.size, 1 / 8000)[spectrum.argmax()] == pytest.approx(1020, abs=2)
    level = 20 * np.log10(np.sqrt(np.mean(x ** 2)) / DBM0_RMS)
    assert level == pytest.approx(-10, abs=0.2)
    s = b.stats(2)
    assert (s.received, s.lost, s.bad, s.late) == (100 * 20 // ptime, 0, 0, 0)
    assert a.stats(0).sent == 100 * 20 // ptime


def test_packets_on_the_wire(pair, peer):
    a, _, _ = pair
    a.open(1, ptime=20, payload_type=0, remote=peer.getsockname())
    block = np.zeros((2, FRAME * 3), np.int16)
    block[1] = tone(500, -20, FRAME * 3)
    a.write(block)
    packets = [data for data, _ in received(peer)]
    assert len(packets) == 3
    seqs = [int.from_bytes(p[2:4], "big") for p in packets]
    stamps = [int.from_bytes(p[4:8], "big") for p in packets]
    assert [(s - seqs[0]) & 0xFFFF for s in seqs] == [0, 1, 2]
    assert [(t - stamps[0]) & 0xFFFFFFFF for t in stamps] == [0, 160, 320]
    assert len({p[8:12] for p in packets}) == 1
    assert [p[0] for p in packets] == [0x80] * 3
    assert [p[1] for p in packets] == [0x80, 0, 0]  # PCMU, marker on the first only
    assert b"".join(p[12:] for p in packets) == ulaw_encode(block[1]).tobytes()
    # Hold (recvonly) sends nothing; resuming marks the next packet; the clock ran on.
    a.set_direction(1, "recvonly")
    a.write(block)
    assert received(peer) == []
    a.set_direction(1, "sendrecv")
    a.write(block[:, :FRAME].copy())
    (data, _), = received(peer)
    assert data[1] == 0x80 and int.from_bytes(data[2:4], "big") == (seqs[0] + 3) & 0xFFFF
    assert (int.from_bytes(data[4:8], "big") - stamps[0]) & 0xFFFFFFFF == 6 * FRAME
    # A new call on the channel: a new SSRC.
    a.close(1)
    a.open(1, remote=peer.getsockname())
    a.write(block[:, :FRAME].copy())
    (again, _), = received(peer)
    assert again[8:12] != packets[0][8:12] and again[1] == 0x88


def test_rfc4733_digit_train_on_the_wire(pair, peer):
    a, _, _ = pair
    a.open(0, remote=peer.getsockname(), telephone_event=101)
    a.send_digit(0, "#", ms=100)
    a.send_digit(0, "7", ms=60)
    block = np.zeros((2, FRAME * 16), np.int16)
    a.write(block)
    packets = [data for data, _ in received(peer)]
    assert len(packets) == 16
    kinds = [(p[1] & 0x7F, p[1] >> 7) for p in packets]
    events = [(p[12], p[13] >> 7, int.from_bytes(p[14:16], "big"),
               int.from_bytes(p[4:8], "big")) for p in packets if p[1] & 0x7F == 101]
    first_ts = int.from_bytes(packets[0][4:8], "big")
    assert kinds[0] == (101, 1) and kinds[1] == (101, 0)
    assert events[:7] == [(11, 0, 160, first_ts), (11, 0, 320, first_ts),
                          (11, 0, 480, first_ts), (11, 0, 640, first_ts),
                          (11, 1, 800, first_ts), (11, 1, 800, first_ts),
                          (11, 1, 800, first_ts)]
    # 40 ms of audio between the digits (its first packet starts a talkspurt: marker), then
    # '7' with its own timestamp and marker.
    assert kinds[7:9] == [(8, 1), (8, 0)] and kinds[9] == (101, 1)
    seven_ts = first_ts + 9 * FRAME
    assert events[7:] == [(7, 0, 160, seven_ts), (7, 0, 320, seven_ts),
                          (7, 1, 480, seven_ts), (7, 1, 480, seven_ts),
                          (7, 1, 480, seven_ts)]
    seqs = [int.from_bytes(p[2:4], "big") for p in packets]
    assert all((s - seqs[0]) & 0xFFFF == k for k, s in enumerate(seqs))


def test_digits_between_two_engines_are_keys_once(pair):
    a, b, _ = pair
    connect(a, 0, b, 1)
    for digit in "5#A":
        a.send_digit(0, digit, ms=80)
    _, events = run_ticks(a, b, np.zeros(60 * FRAME, np.int16), 60)
    assert [(e.channel, e.digit, e.end is None) for e in events] == [
        (1, "5", True), (1, "5", False), (1, "#", True), (1, "#", False),
        (1, "A", True), (1, "A", False)]
    assert all(e.end - e.start == 640 for e in events[1::2])


def test_symmetric_rtp_answers_where_packets_come_from(pair, peer):
    a, _, _ = pair
    local = a.open(0)
    assert a.remote(0) is None
    peer.sendto(rtp_packet(1, 0, 42, alaw_encode(np.zeros(FRAME, np.int16))), local)
    assert wait_readable_for_engine(a)
    a.receive()
    assert a.remote(0) == peer.getsockname()
    a.write(np.zeros((2, FRAME), np.int16))
    assert len(received(peer)) == 1


def wait_readable_for_engine(engine):
    return bool(select.select([engine._open[0].rtp], [], [], 0)[0])


def test_a_channel_that_is_not_symmetric_refuses_other_sources(pair, peer):
    a, _, _ = pair
    local = a.open(0, symmetric=False, remote=("127.0.0.1", 9))
    peer.sendto(rtp_packet(1, 0, 42, bytes(FRAME)), local)
    assert wait_readable_for_engine(a)
    a.receive()
    s = a.stats(0)
    assert (s.foreign, s.received) == (1, 0) and a.remote(0) == ("127.0.0.1", 9)


def test_garbage_on_the_socket_is_counted_and_dropped(pair, peer):
    a, _, _ = pair
    local = a.open(0)
    for data in (b"", b"\x80", b"\x00" * 20, b"\x80\x08" + bytes(10), b"\xff" * 3000):
        peer.sendto(data, local)
    peer.sendto(rtp_packet(1, 0, 42, bytes(FRAME)), local)
    a.receive()
    s = a.stats(0)
    assert (s.bad, s.received) == (5, 1)


def test_rtcp_reports_both_ways_give_a_round_trip(pair):
    a, b, clock = pair
    connect(a, 0, b, 0)
    rtcp_peer_a = b._open[0].rtcp.getsockname()
    assert rtcp_peer_a[1] == b._open[0].rtp.getsockname()[1] + 1
    block = np.zeros((3, FRAME), np.int16)
    for _ in range(3):
        clock.now += 4.0  # past the first randomised interval (at most 3.1 s)
        for _ in range(5):
            a.write(block[:2])
            b.write(block)
            a.receive()
            b.receive()
        a.rtcp()
        for _ in range(10):  # RTCP sockets are drained every 10th receive
            b.receive()
        b.rtcp()
        for _ in range(10):
            a.receive()
    for engine in (a, b):
        s = engine.stats(0)
        assert s.rtt_ms is not None and 0 <= s.rtt_ms < 1000 and s.rtcp_bad == 0
        assert s.received == 15 and s.lost == 0


def test_rtcp_compound_packet_layout(pair, peer):
    a, _, clock = pair
    a.open(0, remote=("127.0.0.1", peer.getsockname()[1] - 1))
    a.write(np.zeros((2, FRAME), np.int16))
    clock.now += 4.0
    a.rtcp()
    (data, _), = received(peer)
    assert data[0] == 0x80 and data[1] == 200  # SR without report blocks: nothing received
    length = (int.from_bytes(data[2:4], "big") + 1) * 4
    assert length == 28 and data[length + 1] == 202  # then SDES
    assert int.from_bytes(data[20:24], "big") == 1  # one packet sent
    sdes = data[length:]
    assert sdes[8] == 1 and sdes[10:10 + sdes[9]].startswith(b"branchline-")


def test_port_range_takes_an_even_port_and_the_next_for_rtcp(pair):
    a, _, _ = pair
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        low = probe.getsockname()[1] & ~1
    host, port = a.open(0, ports=(low, low + 200))
    assert host == "127.0.0.1" and port % 2 == 0 and low <= port < low + 200
    assert a._open[0].rtcp.getsockname()[1] == port + 1


def test_closed_channel_reads_silence_and_refuses_calls(pair):
    a, b, _ = pair
    connect(a, 0, b, 0)
    heard, _ = run_ticks(a, b, tone(700, -10, 10 * FRAME), 10)
    assert heard[0].any()
    b.close(0)
    out = np.ones((3, FRAME), np.int16)
    b.receive()
    b.read(out)
    assert not out.any()
    with pytest.raises(UsageError, match="channel 0 is not open"):
        b.stats(0)


@pytest.mark.parametrize(("call", "message"), [
    (lambda e: e.open(0, payload_type=9), "payload_type=9; expected 8 (PCMA) or 0 (PCMU)"),
    (lambda e: e.open(0, ptime=25), "ptime=25; expected 10, 20 or 30"),
    (lambda e: e.open(0, direction="hold"), "direction='hold'; expected one of"),
    (lambda e: e.open(0, telephone_event=13), "telephone_event=13; expected a dynamic"),
    (lambda e: e.open(0, jitter_ms=500), "jitter_ms=500; expected an int of ms in 0..200"),
    (lambda e: e.open(5), "channel=5; expected an int in 0..1"),
    (lambda e: e.open(0, host="example.org"), "host='example.org'; expected an IP address"),
])
def test_bad_arguments_are_refused_with_the_fix(call, message):
    engine = RtpEngine(2)
    kind = ValueError if "channel=" in message else UsageError
    with pytest.raises(kind, match=re.escape(message)):
        call(engine)
    assert engine._open == [None, None]


def test_digits_refused_when_on_hold_or_bad(pair):
    a, _, _ = pair
    a.open(0, direction="recvonly")
    with pytest.raises(UsageError, match="is recvonly; digits need a direction that sends"):
        a.send_digit(0, "1")
    a.set_direction(0, "sendonly")
    with pytest.raises(UsageError, match="digit='x'; expected one of 0-9"):
        a.send_digit(0, "x")
    a.send_digit(0, "1", ms=40)


def test_decoding_uses_the_dsp_g711_tables(pair, peer):
    a, _, _ = pair
    local = a.open(0)
    codes = np.arange(256, dtype=np.uint8)
    for k in range(2):
        payload = codes[k * 128:(k + 1) * 128].tobytes() + bytes([0xD5]) * 32
        peer.sendto(rtp_packet(k, k * FRAME, 7, payload), local)
    a.receive()
    out = np.zeros((2, 4 * FRAME), np.int16)
    a.read(out)
    expected = alaw_decode(codes)
    assert np.array_equal(out[0, 320:448], expected[:128])
    assert np.array_equal(out[0, 480:608], expected[128:])


def test_totals_come_from_one_kernel_call_over_the_open_channels():
    engine = RtpEngine(30)
    try:
        for c in range(30):
            engine.open(c)
            for seq in range(12):
                if seq % 4 != c % 4 or seq in (0, 11):  # channel c loses up to 2 of 10
                    engine.feed(c, rtp_packet(seq, seq * FRAME, 7 + c, bytes(FRAME)))
        expected = {"lost": sum(engine.stats(c).lost for c in range(1, 30)),
                    "late": sum(engine.stats(c).late for c in range(1, 30))}
        assert expected["lost"] > 20
        engine.close(0)  # a closed channel is not counted
        kernel, asked = engine._kernel, []

        class Watched:  # what /metrics costs the tick: not a Python loop over the channels
            def __getattr__(self, name):
                asked.append(name)
                return getattr(kernel, name)

        engine._kernel = Watched()
        assert engine.totals() == expected and asked == ["totals"]
    finally:
        engine._kernel = kernel
        for c in range(1, 30):
            engine.close(c)


def test_a_due_rtcp_report_is_built_and_sent_by_the_kernel(pair, peer):
    a, _, clock = pair
    remote = ("127.0.0.1", peer.getsockname()[1] - 1)
    a.open(0, remote=remote)
    for seq in range(20):
        if seq % 5 != 2:  # 4 of 20 lost
            a.feed(0, rtp_packet(seq, seq * FRAME, 0x5EED, bytes(FRAME)), source=remote)
    stats = a.stats(0)
    kernel, asked = a._kernel, []

    class Watched:  # a report costs the tick one kernel call, not Python per field
        def __getattr__(self, name):
            asked.append(name)
            return getattr(kernel, name)

    a._kernel = Watched()
    clock.now += 4.0
    try:
        a.rtcp()
    finally:
        a._kernel = kernel
    assert asked == ["report"]
    (data, _), = received(peer)
    assert data[:2] == bytes([0x81, 201])  # RR (nothing sent yet), one report block
    block = data[8:32]
    assert int.from_bytes(block[:4], "big") == 0x5EED
    expected = stats.received + stats.lost  # RFC 3550 A.3, since the stream was taken
    assert stats.lost == 3 and block[4] == 3 * 256 // expected  # fraction lost, 8 bits
    assert int.from_bytes(block[5:8], "big") == 3  # cumulative lost
    assert int.from_bytes(block[8:12], "big") == 19  # extended highest sequence number
    assert data[33] == 202 and b"branchline-" in data[32:]
