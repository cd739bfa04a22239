"""The jitter buffer on crafted packet sequences, fed through RtpEngine.feed (no socket),
each case cross-checked against the plain-Python model in tests/support/rtp_reference.py."""

import numpy as np
import pytest
from rtp_reference import ReferenceChannel, event_packet, rtp_packet

from branchline.dsp import DtmfEvent, alaw_decode, alaw_encode
from branchline.hw.sip.rtp import RtpEngine

TARGET = 320  # the default 40 ms depth, in samples
SSRC = 0x1234ABCD
FRAME = 160
MS = 1_000_000  # ns


@pytest.fixture
def engine():
    rtp = RtpEngine(1)
    rtp.open(0)
    yield rtp
    rtp.close(0)


def speech_like(frames, seed=1):
    rng = np.random.default_rng(seed)
    t = np.arange(frames * FRAME)
    x = 6000 * np.sin(2 * np.pi * 440 * t / 8000) + rng.normal(0, 300, t.size)
    return alaw_encode(x.astype(np.int16))


class Run:
    """Feeds the same datagrams to the engine and the reference, tick by tick."""

    def __init__(self, engine, target=TARGET):
        self.engine, self.ref = engine, ReferenceChannel(target)
        self.out, self.ref_out, self.events = [], [], []
        self.block = np.zeros((1, FRAME), np.int16)

    def tick(self, packets, now_ns, reads=(FRAME,)):
        for data in packets:
            self.events += self.engine.feed(0, data, arrival_ns=now_ns)
            self.ref.feed(data, now_ns)
        for n in reads:
            block = np.zeros((1, n), np.int16)
            self.engine.read(block)
            self.out.append(block[0].copy())
            self.ref_out.append(self.ref.read(n))

    def audio(self):
        return np.concatenate(self.out)

    def check_against_reference(self):
        assert np.array_equal(self.audio(), np.concatenate(self.ref_out))
        s = self.engine.stats(0)
        r = self.ref.stats
        assert (s.received, s.duplicate, s.late, s.bad, s.resyncs, s.ssrc_changes) == (
            r["received"], r["duplicate"], r["late"], r["bad"], r["resyncs"],
            r["ssrc_changes"])
        assert s.lost == max(0, r["expected"] - r["received"])
        assert (s.concealed_ms, s.dropped_ms, s.inserted_ms) == (
            r["concealed"] / 8, r["dropped"] / 8, r["inserted"] / 8)
        assert s.jitter_ms == self.ref.jitter16 / 16 / 8
        assert [(e.digit, e.start, e.end) for e in self.events] == [
            ("0123456789*#ABCD"[c], start, end) for c, start, end in self.ref.events]


def stream(codes, seq0=100, ts0=5000, ssrc=SSRC, ptime=FRAME):
    return [rtp_packet(seq0 + k, ts0 + k * ptime, ssrc, codes[k * ptime:(k + 1) * ptime])
            for k in range(len(codes) // ptime)]


def play(engine, packets_per_tick, target=TARGET):
    run = Run(engine, target)
    for k, packets in enumerate(packets_per_tick):
        run.tick(packets, k * 20 * MS)
    run.check_against_reference()
    return run


def test_in_order_stream_comes_out_delayed_by_the_target_depth(engine):
    codes = speech_like(50)
    run = play(engine, [[p] for p in stream(codes)] + [[]] * 2)
    out = run.audio()
    assert np.array_equal(out[:TARGET], np.zeros(TARGET, np.int16))
    assert np.array_equal(out[TARGET:TARGET + codes.size], alaw_decode(codes))
    s = engine.stats(0)
    assert (s.received, s.lost, s.late, s.duplicate, s.bad) == (50, 0, 0, 0, 0)
    assert s.jitter_ms == 0  # arrivals exactly 20 ms apart, as their timestamps say


def test_reordered_and_duplicated_packets_give_the_in_order_audio(engine):
    codes = speech_like(40)
    packets = stream(codes)
    ticks = [[p] for p in packets]
    ticks[10], ticks[11] = [], [packets[11], packets[10]]
    ticks[20] = [packets[20], packets[20]]
    ticks[30] = [packets[30], packets[29]]
    run = play(engine, ticks + [[]] * 2)
    assert np.array_equal(run.audio()[TARGET:TARGET + codes.size], alaw_decode(codes))
    s = engine.stats(0)
    assert (s.duplicate, s.lost, s.late, s.concealed_ms) == (2, 0, 0, TARGET / 8)


def test_lost_packet_is_concealed_by_repeating_the_last_frame_fading_out(engine):
    codes = speech_like(30)
    packets = stream(codes)
    ticks = [[p] for p in packets]
    ticks[10] = []
    ticks[11] = []
    ticks[12] = []
    ticks[13] = []
    run = play(engine, ticks)
    out, decoded = run.audio(), alaw_decode(codes)
    gap = slice(TARGET + 10 * FRAME, TARGET + 14 * FRAME)
    last = decoded[9 * FRAME:10 * FRAME].astype(np.int64)
    fade = np.arange(480, 0, -1)
    expected = np.zeros(4 * FRAME, np.int64)
    expected[:480] = np.trunc(np.tile(last, 3) * fade / 480)
    assert np.array_equal(out[gap], expected)
    assert engine.stats(0).lost == 4


def test_packet_after_its_playout_time_is_late_and_dropped(engine):
    codes = speech_like(20)
    packets = stream(codes)
    ticks = [[p] for p in packets]
    ticks[5], ticks[9] = [], [packets[9], packets[5]]  # 80 ms late against a 40 ms depth
    play(engine, ticks)
    s = engine.stats(0)
    assert (s.late, s.lost) == (1, 0)


@pytest.mark.parametrize("ppm", [10_000, -10_000, 2_000, -2_000])
def test_sender_clock_drift_keeps_the_depth_bounded(engine, ppm):
    # The sender's 8 kHz runs `ppm` fast (or slow): packets of 160 samples arrive every
    # 20 ms * (1 - ppm/1e6) of our time. A minute of it.
    seconds = 60
    period = 20 * MS * (1_000_000 - ppm) // 1_000_000
    count = seconds * 50 * (1_000_000 + ppm) // 1_000_000
    codes = speech_like(count)
    packets = stream(codes)
    ticks = [[] for _ in range(seconds * 50)]
    for k, packet in enumerate(packets):
        tick = (k * period) // (20 * MS)
        if tick < len(ticks):
            ticks[tick].append(packet)
    run = Run(engine)
    depths = []
    for k, packets_now in enumerate(ticks):
        run.tick(packets_now, k * 20 * MS)
        depths.append(engine.stats(0).depth_ms)
    run.check_against_reference()
    s = engine.stats(0)
    assert s.late == 0
    # 1 % of a minute is 600 ms of drift; the depth (after each read) stays within 20 ms
    # (slack and step) plus a packet of its 40 ms target, and never runs dry.
    assert min(depths[100:]) >= 40 - 20 - 20 and max(depths[100:]) <= 40 + 20 + 20
    if ppm > 0:
        assert s.dropped_ms >= 0.8 * seconds * ppm / 1000 and s.inserted_ms == 0
    else:
        assert s.inserted_ms >= 0.8 * seconds * -ppm / 1000 and s.dropped_ms == 0


def test_new_ssrc_is_believed_after_two_packets_in_sequence(engine):
    codes = speech_like(30)
    first = stream(codes[:10 * FRAME])
    stray = rtp_packet(7, 999_999, 0xBAD, codes[:FRAME])
    second = stream(codes[10 * FRAME:], seq0=40_000, ts0=1_000_000, ssrc=0x5555)
    ticks = [[p] for p in first] + [[stray]] + [[p] for p in second] + [[]] * 2
    run = play(engine, ticks)
    s = engine.stats(0)
    assert (s.ssrc_changes, s.resyncs, s.bad) == (1, 1, 2)  # the stray, the probation one
    decoded = alaw_decode(codes)
    out = run.audio()
    # After the switch the new source plays from its second packet, at the target depth.
    start = 12 * FRAME + TARGET
    assert np.array_equal(out[start:start + 19 * FRAME], decoded[11 * FRAME:30 * FRAME])


def test_timestamp_jump_in_sequence_resyncs_without_a_long_gap(engine):
    codes = speech_like(30)
    packets = stream(codes[:15 * FRAME]) + stream(codes[15 * FRAME:], seq0=115,
                                                  ts0=5000 + 15 * FRAME + 3_000_000)
    run = play(engine, [[p] for p in packets] + [[]] * 2)
    assert engine.stats(0).resyncs == 1 and engine.stats(0).lost == 0
    decoded, out = alaw_decode(codes), run.audio()
    start = 15 * FRAME + TARGET
    assert np.array_equal(out[start:start + 15 * FRAME], decoded[15 * FRAME:])


def test_sequence_jump_is_believed_on_the_second_packet(engine):
    codes = speech_like(30)
    packets = stream(codes[:15 * FRAME]) + stream(codes[15 * FRAME:], seq0=30_000,
                                                  ts0=5000 + 15 * FRAME)
    play(engine, [[p] for p in packets])
    s = engine.stats(0)
    assert (s.resyncs, s.bad, s.lost) == (1, 1, 0)


def test_reading_in_any_split_gives_the_same_audio():
    codes = speech_like(30)
    packets = stream(codes)
    ticks = [[p] for p in packets]
    ticks[7], ticks[8] = [], [packets[8], packets[7]]
    ticks[12] = []
    outs = []
    for reads in [(160,), (80, 80), (1, 159), (40, 40, 40, 40)]:
        rtp = RtpEngine(1)
        rtp.open(0)
        run = Run(rtp)
        for k, now in enumerate(ticks):
            run.tick(now, k * 20 * MS, reads)
        run.check_against_reference()
        outs.append(run.audio())
        rtp.close(0)
    assert all(np.array_equal(outs[0], o) for o in outs[1:])


def test_interarrival_jitter_follows_rfc3550_a8(engine):
    codes = speech_like(40)
    rng = np.random.default_rng(3)
    run = Run(engine)
    for k, packet in enumerate(stream(codes)):
        delay = int(rng.integers(0, 15)) * MS  # the network adds 0-14 ms
        run.tick([packet], k * 20 * MS + delay)
    run.check_against_reference()
    assert 2 < engine.stats(0).jitter_ms < 8


def test_random_network_against_the_reference(engine):
    # Loss, duplicates, reordering by jitter, and a clock drift, all at once.
    rng = np.random.default_rng(7)
    codes = speech_like(1500)
    packets = stream(codes)
    ticks = [[] for _ in range(1600)]
    for k, packet in enumerate(packets):
        if rng.random() < 0.03:
            continue
        at = int(k * 20 * 1.003 + rng.exponential(12)) // 20
        for _ in range(2 if rng.random() < 0.02 else 1):
            if at < len(ticks):
                ticks[at].append(packet)
    run = Run(engine)
    for k, now in enumerate(ticks):
        rng.shuffle(now)
        run.tick(now, k * 20 * MS)
    run.check_against_reference()
    s = engine.stats(0)
    assert s.lost > 0 and s.duplicate > 0 and s.concealed_ms > 0


# -- RFC 4733 events in -------------------------------------------------------------------

def test_event_start_updates_and_three_ends_give_one_key(engine):
    run = Run(engine)
    codes = speech_like(4)
    run.tick(stream(codes)[:2], 0)
    ts = 5000 + 2 * FRAME
    train = [event_packet(102, ts, SSRC, 5, 160, marker=True)] + [
        event_packet(102 + k, ts, SSRC, 5, 160 * k) for k in range(2, 6)] + [
        event_packet(106 + k, ts, SSRC, 5, 800, end=True) for k in range(3)]
    for packet in train:
        run.tick([packet], 0)
    run.tick([train[-1], train[3]], 0)  # a retransmission and a stale update, late
    run.check_against_reference()
    start = TARGET + 2 * FRAME
    assert run.events == [DtmfEvent(0, "5", start, None), DtmfEvent(0, "5", start, start + 800)]


def test_event_whose_start_was_lost_still_counts_once(engine):
    run = Run(engine)
    run.tick(stream(speech_like(1)), 0)
    ts = 5000 + FRAME
    run.tick([event_packet(103, ts, SSRC, 11, 640, end=True)] * 3, 0)
    run.tick([event_packet(106, ts + 1600, SSRC, 10, 320)], 0)
    run.tick([event_packet(107, ts + 3200, SSRC, 12, 160)], 0)  # '*' never ended: ends here
    run.check_against_reference()
    assert [(e.digit, e.end is None) for e in run.events] == [
        ("#", True), ("#", False), ("*", True), ("*", False), ("A", True)]
    assert run.events[3].end - run.events[3].start == 320


def test_rtcp_receiver_report_gives_the_round_trip(engine):
    ssrc, _, _ = engine._kernel.tx_state(0)
    # Our SR left at compact NTP time LSR; the peer held it DLSR = 0.25 s; it came back
    # at LSR + 0.3 s: the round trip is 50 ms.
    arrival_ns = 1_700_000_000 * 1_000_000_000 + 123_456_789
    seconds, rest = divmod(arrival_ns, 1_000_000_000)
    now = (((seconds + 2208988800) & 0xFFFF) << 16) | (rest * 65536 // 1_000_000_000)
    lsr = now - int(0.3 * 65536)
    dlsr = int(0.25 * 65536)
    block = ssrc.to_bytes(4, "big") + bytes(12) + lsr.to_bytes(4, "big") + dlsr.to_bytes(
        4, "big")
    rr = bytes([0x81, 201]) + (7).to_bytes(2, "big") + (0xFEED).to_bytes(4, "big") + block
    engine.feed(0, rr, arrival_ns=arrival_ns, rtcp=True)
    assert engine.stats(0).rtt_ms == pytest.approx(50, abs=0.05)
    engine.feed(0, rr[:20], arrival_ns=arrival_ns, rtcp=True)
    engine.feed(0, bytes([0x81, 200, 0, 1]) + bytes(4), arrival_ns=arrival_ns, rtcp=True)
    assert engine.stats(0).rtcp_bad == 2
