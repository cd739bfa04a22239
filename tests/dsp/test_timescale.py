"""WSOLA time-scaling: pitch kept, duration stretched as asked, on tones and on speech; the
Cython kernel equals the NumPy reference (tests/support/timescale_reference.py)."""

from __future__ import annotations

import io
import subprocess

import numpy as np
import pytest
import soundfile
import soxr
from timescale_reference import stretch_reference

from branchline.dsp.timescale import stretch

RATE = 8000


def tone(freq, seconds, amplitude=8000.0):
    t = np.arange(int(seconds * RATE)) / RATE
    return np.rint(amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def peak_frequency(x):
    """The strongest frequency, by a long zero-padded FFT with parabolic interpolation."""
    x = x.astype(float) * np.hanning(x.size)
    spectrum = np.abs(np.fft.rfft(x, 1 << 18))
    i = int(np.argmax(spectrum))
    a, b, c = np.log(spectrum[i - 1:i + 2])
    return (i + 0.5 * (a - c) / (a - 2 * b + c)) * RATE / (1 << 18)


def active_seconds(x, floor_db=-30.0):
    """Seconds from the first to the last 10 ms frame within ``floor_db`` of the loudest."""
    frames = x[: x.size // 80 * 80].astype(float).reshape(-1, 80)
    energy = (frames ** 2).mean(axis=1) + 1e-9
    loud = np.flatnonzero(10 * np.log10(energy / energy.max()) > floor_db)
    return (loud[-1] - loud[0] + 1) * 0.01


def f0_track(x):
    """Per 40 ms frame of voiced speech, F0 by autocorrelation between 70 and 400 Hz."""
    out = []
    frames = x[: x.size // 320 * 320].astype(float).reshape(-1, 320)
    loudest = (frames ** 2).mean(axis=1).max()
    for frame in frames:
        if (frame ** 2).mean() < loudest * 0.1:
            continue
        frame = frame - frame.mean()
        ac = np.correlate(frame, frame, "full")[frame.size - 1:]
        lo, hi = RATE // 400, RATE // 70
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.5 * ac[0]:
            out.append(RATE / lag)
    return np.array(out)


@pytest.fixture(scope="module")
def speech():
    """A sentence from espeak-ng (a Debian package the project installs) at 8 kHz."""
    result = subprocess.run(
        ["espeak-ng", "-v", "en", "-s", "150", "-p", "40", "--stdout",
         "Your balance is one thousand two hundred and thirty four yuan. Press zero for a "
         "person."], capture_output=True, check=True)
    samples, rate = soundfile.read(io.BytesIO(result.stdout), dtype="float32")
    audio = soxr.resample(samples, rate, RATE)
    return np.rint(audio / np.abs(audio).max() * 12000).astype(np.int16)


@pytest.mark.parametrize("factor", [1.25, 1.5, 0.8])
@pytest.mark.parametrize("freq", [300.0, 697.0, 1000.0, 2000.0, 3000.0])
def test_a_tone_keeps_its_pitch_and_level_and_lasts_as_asked(freq, factor):
    x = tone(freq, 1.0)
    y = stretch(x, factor)
    assert y.size == round(x.size * factor)
    inner = slice(400, y.size - 400)
    assert abs(peak_frequency(y[inner]) / freq - 1) < 0.02
    level = np.sqrt(np.mean(y[inner].astype(float) ** 2)) / np.sqrt(np.mean(
        x.astype(float) ** 2))
    assert abs(20 * np.log10(level)) < 1.0


@pytest.mark.parametrize("factor", [1.25, 1.5])
def test_a_tone_burst_in_silence_lasts_factor_times_as_long(factor):
    x = np.concatenate([np.zeros(2000, np.int16), tone(1000.0, 0.6), np.zeros(2000, np.int16)])
    y = stretch(x, factor)
    assert abs(active_seconds(y) / (active_seconds(x) * factor) - 1) < 0.03


@pytest.mark.parametrize("factor", [1.25, 1.5])
def test_speech_keeps_its_pitch_and_is_stretched_as_asked(speech, factor):
    y = stretch(speech, factor)
    assert y.size == round(speech.size * factor)
    assert abs(active_seconds(y) / (active_seconds(speech) * factor) - 1) < 0.03
    before, after = np.median(f0_track(speech)), np.median(f0_track(y))
    assert len(f0_track(y)) > 20
    assert abs(after / before - 1) < 0.03


@pytest.mark.parametrize("factor", [1.25, 1.5, 0.7, 2.0])
def test_the_kernel_equals_the_numpy_reference(speech, factor):
    rng = np.random.default_rng(7)
    noise = rng.integers(-3000, 3000, 3000).astype(np.int16)
    for x in (speech[:12000], tone(440.0, 0.5), noise, speech[:37]):
        assert np.array_equal(stretch(x, factor), stretch_reference(x, factor))


def test_bad_input_says_what_would_be_right():
    with pytest.raises(TypeError, match="numpy int16 array"):
        stretch(np.zeros(10, np.float32), 1.25)
    with pytest.raises(ValueError, match="1-D array"):
        stretch(np.zeros((2, 10), np.int16), 1.25)
    with pytest.raises(ValueError, match=r"from 0\.5 to 2\.0 \(1\.25 plays 25 % slower\)"):
        stretch(np.zeros(10, np.int16), 3.0)
    x = tone(440.0, 0.1)
    assert np.array_equal(stretch(x, 1.0), x)
