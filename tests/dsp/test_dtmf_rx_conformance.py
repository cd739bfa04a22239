"""DtmfRx against the standards' table (ITU-T Q.24 AT&T column, Mitel MT8870) and the timing
rules of the issue: durations, pauses, gaps, digit rate, levels, noise, A-law, block sizes."""

import audioop
import zlib

import numpy as np
import pytest
import signals as s
from dtmf_reference import CONFORMANCE, case_signal

from branchline.dsp import DtmfEvent, DtmfRx

# Where the key starts relative to the receiver's 10 ms blocks: one run per lead, as channels.
LEADS = (0.03, 0.0337, 0.041, 0.0488, 0.0531)
# How far a reported start or end may be from the true one, in samples (1.5 ms).
POSITION_TOLERANCE = 12


def feed(rx, audio, sizes):
    """Feed `audio` (int16[channels, n]) in pieces of the given sizes; return all events."""
    events, at = [], 0
    for n in sizes:
        if at >= audio.shape[1]:
            break
        events += rx.process(np.ascontiguousarray(audio[:, at : at + n]))
        at += n
    assert at >= audio.shape[1]
    return events


def run(audio, block=160, **options):
    audio = np.atleast_2d(audio)
    return feed(DtmfRx(audio.shape[0], **options), audio, [block] * (audio.shape[1] // block + 1))


def keys(events, channel=0):
    """(digit, start, end) per key on `channel`, from its start and end events."""
    found = {}
    for e in events:
        if e.channel == channel:
            found[(e.digit, e.start)] = e.end
    return [(digit, start, end) for (digit, start), end in found.items()]


def stack(signals):
    """Signals of different lengths as the channels of one block (padded with silence)."""
    n = max(len(x) for x in signals)
    return np.stack([np.pad(x, (0, n - len(x))) for x in signals])


@pytest.mark.parametrize("case", CONFORMANCE, ids=lambda c: f"{c.group}: {c.name}")
def test_standard_case(case):
    rng = np.random.default_rng(zlib.crc32(case.name.encode()))
    audio = stack([case_signal(case, lead, rng) for lead in LEADS])
    events = run(audio)
    for channel in range(len(LEADS)):
        got = [digit for digit, _, _ in keys(events, channel)]
        assert got == ([case.digit] if case.detect else []), f"lead {LEADS[channel]} s"


def assert_close_to(found, truth, tolerance=POSITION_TOLERANCE):
    assert [d for d, _, _ in found] == [d for d, _, _ in truth]
    for (_, start, end), (_, true_start, true_end) in zip(found, truth, strict=True):
        assert abs(start - true_start) <= tolerance, (start, true_start)
        assert abs(end - true_end) <= tolerance, (end, true_end)


def test_ten_digits_per_second_with_their_positions():
    signal, truth = s.dtmf_sequence("1234567890*#ABCD", 0.05, 0.05, level_dbm0=-10.0)
    assert_close_to(keys(run(s.to_int16(signal))), truth)


def test_every_key_at_its_shortest_with_the_shortest_pause():
    signal, truth = s.dtmf_sequence("D*#0" * 4, 0.04, 0.04, level_dbm0=-20.0)
    assert_close_to(keys(run(s.to_int16(signal))), truth)


@pytest.mark.parametrize("lead", LEADS)
def test_same_key_twice_after_a_40_ms_pause_is_two_digits(lead):
    signal, truth = s.dtmf_sequence("55", 0.1, 0.04, lead_seconds=lead)
    assert_close_to(keys(run(s.to_int16(signal))), truth)


@pytest.mark.parametrize("gap_at", [0.03, 0.0437, 0.0512, 0.0581, 0.0649])
def test_a_10_ms_gap_inside_a_key_does_not_split_it(gap_at):
    signal, truth = s.dtmf_sequence("9", 0.2, 0.1)
    start, end = truth[0][1:]
    gap = start + s.samples(gap_at)
    signal[gap : gap + s.samples(0.010)] = 0
    assert_close_to(keys(run(s.to_int16(signal))), [("9", start, end)])


def test_a_key_held_for_two_seconds_is_one_digit_even_in_noise():
    rng = np.random.default_rng(2)
    tone = s.dtmf("#", 2.0, level_dbm0=-20.0)
    signal = s.sequence([s.silence(0.1), s.with_noise(tone, 15.0, rng), s.silence(0.2)])
    events = run(s.to_int16(signal))
    start, end = s.samples(0.1), s.samples(2.1)
    assert [(e.digit, e.end) for e in events] == [("#", None), ("#", events[1].end)]
    assert_close_to(keys(events), [("#", start, end)])


@pytest.mark.parametrize("level", [1.0, -10.0, -28.0])
def test_all_keys_through_an_a_law_round_trip(level):
    signal, truth = s.dtmf_sequence(s.DTMF_DIGITS, 0.05, 0.05, level_dbm0=level)
    linear = s.to_int16(signal)
    alaw = np.frombuffer(audioop.alaw2lin(audioop.lin2alaw(linear.tobytes(), 2), 2), np.int16)
    assert_close_to(keys(run(alaw)), truth)
    assert_close_to(keys(run(alaw)), keys(run(linear)), tolerance=2)


def test_all_keys_in_noise_at_15_db_snr():
    rng = np.random.default_rng(3)
    signal, truth = s.dtmf_sequence(s.DTMF_DIGITS, 0.06, 0.06, level_dbm0=-15.0)
    noisy = s.with_noise(signal, 15.0, rng, reference=s.dtmf("5", 1.0, level_dbm0=-15.0))
    assert_close_to(keys(run(s.to_int16(noisy))), truth)


def test_twist_limits_are_options():
    loud_low = s.to_int16(s.sequence([s.silence(0.05), s.dtmf("1", 0.1, -4.0, twist_db=11.0),
                                      s.silence(0.1)]))
    assert keys(run(loud_low)) == []
    assert [d for d, _, _ in keys(run(loud_low, normal_twist_db=12.0))] == ["1"]
    loud_high = s.to_int16(s.sequence([s.silence(0.05), s.dtmf("1", 0.1, -14.0, twist_db=-2.0),
                                       s.silence(0.1)]))
    assert [d for d, _, _ in keys(run(loud_high))] == ["1"]
    assert keys(run(loud_high, reverse_twist_db=1.0)) == []


@pytest.mark.parametrize("sizes", ["1", "7", "80", "160", "333", "random"])
def test_same_events_whatever_the_block_size(sizes):
    rng = np.random.default_rng(4)
    parts = [s.dtmf_sequence(digits, on, off, level_dbm0=level)[0] for digits, on, off, level in
             [("159D", 0.05, 0.05, -10.0), ("*0#", 0.2, 0.04, -25.0), ("2A", 0.045, 0.3, 0.0)]]
    audio = s.to_int16(stack([s.with_noise(p, 20.0, rng) for p in parts]))
    if sizes == "random":
        pieces = list(rng.integers(1, 400, audio.shape[1]))
    else:
        pieces = [int(sizes)] * (audio.shape[1] // int(sizes) + 1)
    expected = run(audio)
    assert len(expected) == 2 * (4 + 3 + 2)
    assert feed(DtmfRx(3), audio, pieces) == expected


def test_channels_are_independent():
    a, _ = s.dtmf_sequence("147", 0.06, 0.06)
    b, _ = s.dtmf_sequence("ABCD", 0.05, 0.07, level_dbm0=-25.0)
    together = run(s.to_int16(stack([a, b])))
    assert keys(together, 0) == keys(run(s.to_int16(a)))
    assert keys(together, 1) == keys(run(s.to_int16(b)))


def test_events_are_in_time_order_then_channel_order():
    a, _ = s.dtmf_sequence("12", 0.06, 0.06)
    events = run(s.to_int16(stack([a, a])))
    assert [(e.digit, e.channel) for e in events] == [
        ("1", 0), ("1", 1), ("1", 0), ("1", 1), ("2", 0), ("2", 1), ("2", 0), ("2", 1)]
    assert all(isinstance(e, DtmfEvent) for e in events)


def test_silence_and_noise_give_nothing():
    rng = np.random.default_rng(5)
    audio = np.stack([np.zeros(s.samples(5.0)), s.white_noise(5.0, -10.0, rng)])
    assert run(s.to_int16(audio)) == []
