"""CallProgressRx: busy/congestion/dial by frequency and cadence, talk-off, NumPy reference."""

import numpy as np
import pytest
import tone_reference as ref
from hypothesis import given, settings
from hypothesis import strategies as st

from branchline.dsp import (
    CALL_PROGRESS_TONES,
    CallProgressRx,
    ToneEvent,
    ToneSpec,
    ToneTx,
    alaw_decode,
    alaw_encode,
)

CN = CALL_PROGRESS_TONES["cn"]
US = CALL_PROGRESS_TONES["us"]


def run(rx, x, sizes=(160,)):
    """Feed x (one channel, or [channels, n]) in blocks; return all events."""
    x = np.atleast_2d(x)
    return [e for events in ref.feed_in_blocks(rx.process, x, list(sizes)) for e in events]


def line_signal(name, level, seed, seconds=6.0, lead_ms=None, snr=15.0, jitter=0.1):
    """A cn tone at level with cadence jitter, white noise at snr and A-law on the way."""
    rng = np.random.default_rng(seed)
    lead = rng.integers(0, 700) if lead_ms is None else lead_ms
    x, start = ref.cadence_signal((450.0,), level, CN[name].cadence, seconds * 1000, rng=rng,
                                  jitter=jitter, lead_ms=lead)
    return alaw_decode(alaw_encode(ref.add_noise(x, level, snr, rng))), start


@pytest.mark.parametrize("level", [-10.0, -20.0, -30.0])
@pytest.mark.parametrize("seed", range(4))
def test_busy_is_detected_within_three_cycles_in_noise_jitter_and_alaw(level, seed):
    x, start = line_signal("busy", level, seed)
    events = run(CallProgressRx(1), x)
    assert [e.tone for e in events] == ["busy"]
    cycle = (350 + 350) * 8
    assert 0 < events[0].sample - start <= 3 * cycle


@pytest.mark.parametrize("seed", range(3))
def test_congestion_is_told_from_busy(seed):
    x, start = line_signal("congestion", -25.0, seed, seconds=8.0)
    events = run(CallProgressRx(1), x)
    assert [e.tone for e in events] == ["congestion"]
    assert events[0].sample - start <= 3 * 1400 * 8


@pytest.mark.parametrize("seed", range(3))
def test_a_1khz_tone_in_the_busy_cadence_is_not_busy(seed):
    rng = np.random.default_rng(seed)
    x, _ = ref.cadence_signal((1000.0,), -10.0, (350, 350), 8000, rng=rng, jitter=0.05)
    rx = CallProgressRx(1, detect=list(CN))
    assert run(rx, ref.add_noise(x, -10.0, 30, rng)) == []


@pytest.mark.parametrize("seed", range(3))
def test_noise_bursts_in_the_busy_cadence_are_not_busy(seed):
    rng = np.random.default_rng(seed)
    gate, _ = ref.cadence_signal((450.0,), 0.0, (350, 350), 8000, rng=rng)
    bursts = np.where(gate != 0, rng.normal(0, ref.DBM0_RMS * 10 ** (-15 / 20), len(gate)), 0)
    x = np.clip(np.rint(bursts), -32768, 32767).astype(np.int16)
    assert run(CallProgressRx(1, detect=list(CN)), x) == []


def test_450hz_in_a_cadence_outside_the_table_is_not_reported():
    x, _ = ref.cadence_signal((450.0,), -10.0, (200, 1000), 10000)
    assert run(CallProgressRx(1, detect=list(CN)), x.astype(np.int16)) == []


def test_extra_cadence_configured_for_a_line_is_detected():
    tones = {**CN, "exchange_x": ToneSpec("exchange_x", (450.0,), -10.0, (200, 1000))}
    x, _ = ref.cadence_signal((450.0,), -10.0, (200, 1000), 10000)
    rx = CallProgressRx(1, tones=tones, detect=("busy", "exchange_x"))
    assert [e.tone for e in run(rx, x.astype(np.int16))] == ["exchange_x"]


def test_dial_tone_is_reported_once_after_three_seconds():
    x = ref.render_segments(ref.spec_segments(CN["dial"]), 0, 8000 * 10)
    rx = CallProgressRx(1, detect=("busy", "congestion", "dial"))
    assert run(rx, x[: 8000 * 2]) == []
    assert run(rx, x[8000 * 2:]) == [ToneEvent(0, "dial", 24000)]


def test_detection_rearms_after_the_tone_stops():
    x, _ = line_signal("busy", -20.0, 7, seconds=3.0, lead_ms=0)
    silence = np.zeros(8000 * 2, np.int16)
    events = run(CallProgressRx(1), np.concatenate([x, silence, x]))
    assert [e.tone for e in events] == ["busy", "busy"]


@pytest.mark.parametrize("sizes", [(160,), (1,), (7, 333), (1000,), (200,)])
def test_events_do_not_depend_on_block_sizes(sizes):
    x, _ = line_signal("busy", -20.0, 11, seconds=4.0)
    y, _ = line_signal("congestion", -12.0, 12, seconds=4.0)
    both = np.stack([x, y])
    got = run(CallProgressRx(2), both, sizes)
    for channel, name, signal in ((0, "busy", x), (1, "congestion", y)):
        want = [ToneEvent(channel, t, s) for t, s in ref.cpt_reference(signal, CN, HANG)]
        assert [e for e in got if e.channel == channel] == want
        assert [e.tone for e in want] == [name]


HANG = ("busy", "congestion")


@pytest.mark.parametrize(("country", "name"),
                         [(c, n) for c in ("cn", "us") for n in CALL_PROGRESS_TONES[c]])
def test_every_table_tone_is_detected_as_the_reference_says(country, name):
    tones = CALL_PROGRESS_TONES[country]
    tx = ToneTx(1)
    tx.start(0, tones[name])
    out = np.zeros((1, 8000 * 13), np.int16)
    tx.render(out)
    rng = np.random.default_rng(5)
    x = np.concatenate([np.zeros(1234, np.int16),
                        ref.add_noise(out[0], tones[name].level_dbm0, 20, rng)])
    events = run(CallProgressRx(1, tones=tones, detect=list(tones)), x)
    assert [(e.tone, e.sample) for e in events] == ref.cpt_reference(x, tones, list(tones))
    assert [e.tone for e in events] == [name]


def test_channels_are_independent_and_configurable_per_line():
    x, _ = line_signal("busy", -15.0, 3, seconds=3.0)
    rx = CallProgressRx(3)
    rx.set_detect(2, [])
    events = run(rx, np.stack([x, np.zeros_like(x), x]))
    assert [(e.channel, e.tone) for e in events] == [(0, "busy")]


def test_reset_restarts_a_channel():
    x, _ = line_signal("busy", -15.0, 4, seconds=3.0, lead_ms=0)
    rx = CallProgressRx(1)
    run(rx, x[:8000])
    rx.reset(0)
    events = run(rx, x)
    assert len(events) == 1 and events[0].sample <= 3 * 5600


def test_a_channel_listening_for_nothing_is_not_analysed_and_starts_afresh():
    x, _ = line_signal("busy", -15.0, 4, seconds=4.0, lead_ms=0)
    rx = CallProgressRx(1)
    assert run(rx, x[:8000]) == []  # a second of busy heard: half its pattern
    rx.set_detect(0, [])
    assert not rx.listening(0)
    assert run(rx, x[8000:16000]) == []
    rx.set_detect(0, ["busy"])
    assert rx.listening(0)
    # what it heard before and while it listened for nothing does not count
    [event] = run(rx, x[16000:])
    assert event.sample == run(CallProgressRx(1), x[16000:])[0].sample


def test_changing_what_a_listening_channel_hears_keeps_its_history():
    x, _ = line_signal("busy", -15.0, 4, seconds=4.0, lead_ms=0)
    rx = CallProgressRx(1, detect=["congestion"])
    run(rx, x[:8000])
    rx.set_detect(0, ["busy"])
    [event] = run(rx, x[8000:])
    assert event.sample == run(CallProgressRx(1), x)[0].sample


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"unknown tone\(s\) \['beep'\]; expected some of"):
        CallProgressRx(1, detect=("beep",))
    rx = CallProgressRx(2)
    with pytest.raises(ValueError, match=r"block has shape \(3, 160\); expected \(2, n\)"):
        rx.process(np.zeros((3, 160), np.int16))
    with pytest.raises(TypeError, match="int16 array"):
        rx.process(np.zeros((2, 160)))
    with pytest.raises(IndexError, match=r"reset: channel 5 out of range 0\.\.1"):
        rx.reset(5)


@pytest.mark.slow
def test_no_busy_or_congestion_on_the_talkoff_corpus():
    from corpus import talkoff_corpus

    corpus = talkoff_corpus()
    assert sum(len(x) for _, x in corpus) >= 3600 * 8000
    for country in ("cn", "us"):
        tones = CALL_PROGRESS_TONES[country]
        for name, x in corpus:
            rx = CallProgressRx(1, tones=tones, detect=list(tones))
            assert rx.process(x[None]) == [], (country, name)


@pytest.mark.parametrize("seed", range(4))
def test_busy_is_heard_through_the_echo_of_a_prompt_10db_below_it(seed):
    # The caller hangs up while a prompt plays: the line returns busy tone plus prompt echo.
    rng = np.random.default_rng(seed)
    tone, start = ref.cadence_signal((450.0,), -25.0, (350, 350), 5000, rng=rng, jitter=0.1,
                                     lead_ms=300)
    echo = ref.speech_like(5.0, -35.0, rng)
    x = alaw_decode(alaw_encode(np.clip(np.rint(tone + echo), -32768, 32767).astype(np.int16)))
    events = run(CallProgressRx(1), x)
    assert [e.tone for e in events] == ["busy"]
    assert events[0].sample - start <= 3 * 5600


@pytest.mark.parametrize("seed", range(3))
def test_a_voice_alone_is_no_call_progress_tone(seed):
    x = ref.speech_like(60.0, -15.0, np.random.default_rng(seed))
    rx = CallProgressRx(1, detect=list(CN))
    assert run(rx, np.clip(np.rint(x), -32768, 32767).astype(np.int16)) == []


@pytest.mark.parametrize("offset_hz", [-25.0, -12.0, 9.0, 25.0])
def test_an_off_nominal_busy_tone_within_25hz_is_detected(offset_hz):
    rng = np.random.default_rng(int(offset_hz) + 100)
    x, start = ref.cadence_signal((450.0 + offset_hz,), -25.0, (350, 350), 5000, rng=rng,
                                  jitter=0.1, lead_ms=200)
    events = run(CallProgressRx(1), ref.add_noise(x, -25.0, 15, rng))
    assert [e.tone for e in events] == ["busy"] and events[0].sample - start <= 3 * 5600


@pytest.mark.parametrize("freq", [380.0, 520.0])
def test_a_tone_well_away_from_450hz_is_not_busy(freq):
    x, _ = ref.cadence_signal((freq,), -15.0, (350, 350), 5000)
    assert run(CallProgressRx(1), x.astype(np.int16)) == []


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(1, 700), min_size=1, max_size=6), seed=st.integers(0, 999))
def test_any_block_sizes_give_the_events_of_one_big_block(sizes, seed):
    x, _ = line_signal("busy", -22.0, seed, seconds=3.0)
    whole = CallProgressRx(1).process(x[None])
    assert len(whole) == 1
    assert run(CallProgressRx(1), x, sizes) == whole
