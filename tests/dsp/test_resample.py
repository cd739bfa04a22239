"""Resampler: the kernel against the NumPy reference, the filter's stated figures, streaming."""

import itertools

import numpy as np
import pytest
import resample_reference as ref
import signals as s
from hypothesis import given, settings
from hypothesis import strategies as st

from branchline.dsp import DtmfRx, Resampler, design_lowpass

PAIRS = [(48000, 8000), (8000, 48000), (44100, 8000), (8000, 44100)]
FFT_POINTS = 1 << 22


def run(rs, x, block):
    """Feed x [channels, n] in blocks of `block` input samples; return the joined output."""
    parts = [rs.process(x[:, i:i + block]) for i in range(0, x.shape[1], block)]
    return np.concatenate(parts, axis=1)


def tone(freq, rate, seconds, amp=20000.0, phase=0.0):
    n = np.arange(round(rate * seconds))
    return amp * np.sin(2 * np.pi * freq * n / rate + phase)


def response_db(in_rate, out_rate):
    h = design_lowpass(in_rate, out_rate)
    rate = in_rate * Resampler(1, in_rate, out_rate).up
    spectrum = np.abs(np.fft.rfft(h, FFT_POINTS))
    return np.fft.rfftfreq(FFT_POINTS, 1 / rate), 20 * np.log10(np.maximum(spectrum, 1e-12))


def db(ratio):
    return 20 * np.log10(ratio)


def rms(x):
    return float(np.sqrt(np.mean(np.square(np.asarray(x, np.float64)))))


# -- against the reference ---------------------------------------------------------------------

@pytest.mark.parametrize(("in_rate", "out_rate"), PAIRS)
def test_kernel_matches_the_reference_on_every_channel(in_rate, out_rate):
    rng = np.random.default_rng(in_rate + out_rate)
    seconds = 0.06
    x = np.stack([
        tone(1000, in_rate, seconds) + tone(3300, in_rate, seconds, 5000),
        rng.normal(0, 6000, round(in_rate * seconds)),
        tone(5000, in_rate, seconds, 30000),  # above 4 kHz on the 48/44.1 kHz side
    ])
    x = ref.to_int16(x)
    rs = Resampler(3, in_rate, out_rate)
    got = run(rs, x, in_rate // 50)
    h = design_lowpass(in_rate, out_rate)
    for c in range(3):
        want = ref.to_int16(ref.resample(x[c], h, rs.up, rs.down))
        assert got.shape[1] == len(want)
        # Summation order differs (four partial sums): at most one step of rounding apart.
        assert np.abs(got[c].astype(int) - want.astype(int)).max() <= 1


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(PAIRS), st.lists(st.integers(1, 700), min_size=1, max_size=12))
def test_any_cut_into_blocks_gives_the_same_audio(pair, cuts):
    in_rate, out_rate = pair
    x = ref.to_int16(np.stack([tone(697, in_rate, 0.05), tone(1633, in_rate, 0.05, 9000)]))
    whole = Resampler(2, in_rate, out_rate).process(x)
    rs = Resampler(2, in_rate, out_rate)
    edges = np.cumsum([0, *cuts])
    edges = [int(e) for e in edges if e < x.shape[1]] + [x.shape[1]]
    parts = [rs.process(x[:, a:b]) for a, b in itertools.pairwise(edges)]
    assert np.array_equal(np.concatenate(parts, axis=1), whole)


@pytest.mark.parametrize(("in_rate", "out_rate"), PAIRS)
def test_output_length_is_exact_over_a_run_of_blocks(in_rate, out_rate):
    rs = Resampler(1, in_rate, out_rate)
    block = np.zeros((1, in_rate // 50), np.int16)  # 20 ms
    counts = []
    for _ in range(50):
        expected = rs.output_length(block.shape[1])
        counts.append(rs.process(block).shape[1])
        assert counts[-1] == expected
    assert sum(counts) == out_rate  # one second in, one second out, to the sample
    assert set(counts) <= {out_rate // 50, out_rate // 50 + 1}


# -- the stated figures ------------------------------------------------------------------------

@pytest.mark.parametrize(("in_rate", "out_rate"), PAIRS)
def test_designed_response_meets_the_stated_figures(in_rate, out_rate):
    freq, gain = response_db(in_rate, out_rate)
    passband = gain[freq <= 3400]
    assert passband.max() - passband.min() <= 0.01
    assert np.abs(passband).max() <= 0.01
    assert gain[freq >= 4000].max() <= -70.0


@pytest.mark.parametrize("in_rate", [48000, 44100])
@pytest.mark.parametrize("freq", [4000, 4500, 6000, 11025, 20000])
def test_decimating_rejects_everything_above_4_khz(in_rate, freq):
    x = ref.to_int16(tone(freq, in_rate, 0.2)[None])
    y = Resampler(1, in_rate, 8000).process(x)[0, 400:]  # past the filter's delay
    assert rms(y) <= rms(x) * 10 ** (-70 / 20)  # (y may be all zeros: no log of 0)


@pytest.mark.parametrize("in_rate", [48000, 44100])
@pytest.mark.parametrize("freq", [300, 1000, 2000, 3000, 3400])
def test_decimating_keeps_the_telephone_band_flat(in_rate, freq):
    x = ref.to_int16(tone(freq, in_rate, 0.2)[None])
    y = Resampler(1, in_rate, 8000).process(x)[0, 400:]
    assert abs(db(rms(y) / rms(x))) <= 0.5


@pytest.mark.parametrize("out_rate", [48000, 44100])
@pytest.mark.parametrize("freq", [300, 1000, 3000, 3400])
def test_interpolating_leaves_no_image_above_4_khz(out_rate, freq):
    x = ref.to_int16(tone(freq, 8000, 0.2)[None])
    y = Resampler(1, 8000, out_rate).process(x)[0, out_rate // 50:].astype(np.float64)
    # Fit the tone itself; what is left is images and rounding.
    n = np.arange(len(y))
    basis = np.stack([np.sin(2 * np.pi * freq * n / out_rate),
                      np.cos(2 * np.pi * freq * n / out_rate)], axis=1)
    fit, *_ = np.linalg.lstsq(basis, y, rcond=None)
    residual = y - basis @ fit
    assert abs(db(np.hypot(*fit) / np.sqrt(2) / rms(x))) <= 0.5
    assert db(rms(residual) / rms(y)) <= -70.0


def test_dtmf_survives_a_round_trip_through_a_48_khz_sound_card():
    keys = "1234567890*#ABCD"
    x, _ = s.dtmf_sequence(keys, 0.06, 0.06, lead_seconds=0.1, level_dbm0=-20.0)
    audio = s.to_int16(x)[None]
    up, down = Resampler(1, 8000, 48000), Resampler(1, 48000, 8000)
    back = run(down, run(up, audio, 160), 960)
    rx = DtmfRx(1)
    heard = "".join(e.digit for e in rx.process(back) if e.end is None)
    assert heard == keys


# -- channels, reset, errors -------------------------------------------------------------------

def test_reset_clears_one_channel_only():
    x = ref.to_int16(np.stack([tone(1000, 44100, 0.04), tone(2000, 44100, 0.04)]))
    rs = Resampler(2, 44100, 8000)
    rs.process(x[:, :441])  # 441 inputs = 80 outputs: the position is back on a sample
    rs.reset(1)
    after = rs.process(x[:, 441:])
    fresh = Resampler(2, 44100, 8000)
    fresh.process(x[:, :441])
    untouched = fresh.process(x[:, 441:])
    assert np.array_equal(after[0], untouched[0])
    assert np.array_equal(after[1], Resampler(1, 44100, 8000).process(x[1:, 441:])[0])
    assert not np.array_equal(after[1], untouched[1])


@pytest.mark.parametrize(("in_rate", "out_rate"), PAIRS)
def test_a_block_comes_out_at_once_delayed_by_the_stated_delay_only(in_rate, out_rate):
    # What the sound-card line relies on (docs/dsp.md, why not soxr's stream): no output held
    # back for later blocks, so an impulse 5 ms into a 20 ms block leaves in that block's output.
    rs = Resampler(1, in_rate, out_rate)
    block = np.zeros((1, in_rate // 50), np.int16)
    block[0, in_rate // 200] = 20000
    out = rs.process(block)[0]
    peak = int(np.argmax(np.abs(out)))
    assert abs(peak / out_rate - (0.005 + rs.delay_s)) <= 1 / min(in_rate, out_rate)
    assert np.max(np.abs(rs.process(np.zeros_like(block)))) < np.abs(out[peak]) / 10


def test_delay_and_factors_are_reported():
    rs = Resampler(1, 44100, 8000)
    assert (rs.up, rs.down) == (80, 441)
    assert 0.003 < rs.delay_s < 0.005
    assert (Resampler(1, 8000, 48000).up, Resampler(1, 8000, 48000).down) == (6, 1)


@pytest.mark.parametrize(("args", "error", "text"), [
    ((1, 8000, 8000), ValueError, "both 8000; nothing to convert"),
    ((1, 0, 8000), ValueError, "in_rate=0; expected a positive whole number"),
    ((1, 48000, 8000.0), ValueError, "out_rate=8000.0; expected a positive whole number"),
    ((1, 44101, 8000), ValueError, "reduces to 8000/44101; factors above 1000"),
    ((0, 48000, 8000), ValueError, "channels=0; expected at least 1"),
])
def test_bad_options_say_what_would_be_right(args, error, text):
    with pytest.raises(error, match=text):
        Resampler(*args)


def test_bad_blocks_are_refused_with_the_expected_shape():
    rs = Resampler(2, 48000, 8000)
    with pytest.raises(TypeError, match=r"block is float64; expected int16 \[2, n\]"):
        rs.process(np.zeros((2, 960)))
    with pytest.raises(ValueError, match=r"block has shape \(1, 960\); expected \(2, n\)"):
        rs.process(np.zeros((1, 960), np.int16))
    with pytest.raises(IndexError, match=r"channel 2 out of range 0\.\.1"):
        rs.reset(2)
    assert rs.process(np.zeros((2, 0), np.int16)).shape == (2, 0)
