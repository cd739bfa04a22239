"""Audio for the simulated board's virtual people: a speech-like voice, keys, and hearing.

``speech_like(rng, seconds)`` makes a float64 signal that stands in for a talker: noise shaped
to the long-term spectrum of telephone speech (a broad peak near 500 Hz, falling about 6 dB per
octave above 1 kHz, band-limited to 300-3400 Hz) under a syllabic envelope (syllables of
120-300 ms in talk spurts of 0.6-3 s, pauses of 0.25-1.2 s). Its RMS over the talk spurts is
0 dBm0, so a talker at L dBm0 is the signal times ``db_gain(L)``. Noise has no tonal pair, so
it does not imitate DTMF.

``Voice`` reads such a signal in 160-sample rows from its own offset, looping.
``block_levels(block)`` is each row's RMS in dBm0, the figure virtual callers hear with.
``key_audio(rng, keys, keypad)`` renders a key string as real DTMF (``dtmf_samples``) with
the human timing the scenario's keypad draws (tone length, inter-digit gap, level, twist);
``key_timings`` is that timing alone and ``key_presses`` the keys' times from it, for the
board's event mode (keys without audio).
"""

import math

import numpy as np

from branchline.dsp import DBM0_RMS, dtmf_samples
from branchline.hw.ports import BLOCK_SAMPLES

__all__ = [
    "LONGEST_PAUSE_S", "Voice", "block_levels", "db_gain", "key_audio", "key_presses",
    "key_timings", "speech_like",
]

RATE = 8000
LONGEST_PAUSE_S = 1.2
_FLOOR_DBM0 = -120.0


def db_gain(level_dbm0):
    """Linear gain that takes a 0 dBm0 signal to level_dbm0."""
    return 10 ** (level_dbm0 / 20)


def _spectral_shape(n):
    f = np.fft.rfftfreq(n, 1 / RATE)
    shape = np.where(f < 500, (f / 500) ** 1.0, (500 / np.maximum(f, 1)) ** 0.7)
    shape[(f < 300) | (f > 3400)] = 0.0
    return shape


def speech_like(rng, seconds=20.0):
    """A looping speech-like signal (float64) whose talk spurts have an RMS of 0 dBm0."""
    n = round(seconds * RATE)
    noise = np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) * _spectral_shape(n), n)
    envelope = np.zeros(n)
    t = 0
    while t < n:
        spurt_end = t + round(rng.uniform(0.6, 3.0) * RATE)
        while t < min(spurt_end, n):
            length = round(rng.uniform(0.12, 0.30) * RATE)
            window = np.hanning(length) * rng.uniform(0.5, 1.0)
            stop = min(t + length, n)
            envelope[t:stop] = window[: stop - t]
            t += length
        t += round(rng.uniform(0.25, LONGEST_PAUSE_S) * RATE)
    voiced = noise * envelope
    active = envelope > 0.05
    rms = math.sqrt(np.mean(voiced[active] ** 2))
    return voiced * (DBM0_RMS / rms)


class Voice:
    """One talker: a shared speech-like signal read from its own offset at its own level."""

    __slots__ = ("_gain", "_pos", "_signal")

    def __init__(self, signal, offset, level_dbm0):
        self._signal = signal
        self._pos = offset % len(signal)
        self._gain = db_gain(level_dbm0)

    def read(self, n):
        """The next n samples (float64)."""
        idx = (self._pos + np.arange(n)) % len(self._signal)
        self._pos = (self._pos + n) % len(self._signal)
        return self._signal[idx] * self._gain


def block_levels(block):
    """RMS of each row of an int16[channels, n] block, in dBm0."""
    power = np.mean(np.square(block, dtype=np.float64), axis=1)
    with np.errstate(divide="ignore"):
        levels = 10 * np.log10(power / DBM0_RMS**2)
    return np.maximum(levels, _FLOOR_DBM0)


def key_timings(rng, keys, keypad):
    """How long a person holds each of `keys` and pauses after it: [(on_ms, off_ms)]."""
    return [(max(keypad.key_ms.sample(rng), 1.0), max(keypad.gap_ms.sample(rng), 0.0))
            for _ in keys]


def key_presses(start, keys, timings):
    """Each of `keys` as (pressed, released, key) in seconds when pressed from `start` with
    `timings` (``key_timings``), and when the pause after the last one ends."""
    presses, t = [], start
    for key, (on_ms, off_ms) in zip(keys, timings, strict=True):
        presses.append((t, t + on_ms / 1000, key))
        t += (on_ms + off_ms) / 1000
    return presses, t


def key_audio(rng, keys, level_dbm0, twist_db, keypad):
    """DTMF audio (int16) for `keys` pressed by a person: each key held and released."""
    return np.concatenate([
        dtmf_samples(key, level_dbm0=level_dbm0, twist_db=twist_db, on_ms=on_ms, off_ms=off_ms)
        for key, (on_ms, off_ms) in zip(keys, key_timings(rng, keys, keypad), strict=True)])


def next_block(voice, pending):
    """One block of what a virtual phone sends: its voice (or None when it is not talking)
    plus the head of `pending` key audio. Returns (block or None when silent, rest of pending).
    """
    if voice is not None:
        out = voice.read(BLOCK_SAMPLES)
    elif pending.size:
        out = np.zeros(BLOCK_SAMPLES)
    else:
        return None, pending
    n = min(pending.size, BLOCK_SAMPLES)
    out[:n] += pending[:n]
    return out, pending[n:]
