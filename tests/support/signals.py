"""Test signals at 8 kHz: sines at a level in dBm0, DTMF pairs, noise, silence, sequences.

Every generator returns float64 samples on the 16-bit scale (so levels can be added and
mixed freely); ``to_int16`` rounds and saturates at the end, the way a codec or a DAC would.
Levels follow ITU-T G.711's convention as the project uses it: 0 dBm0 is a sine whose peak
is 22,827 (3.14 dB below full scale). Durations are in seconds; ``samples(seconds)`` gives
the sample count used everywhere here, so callers can compute expected positions exactly.
"""

import numpy as np

RATE = 8000
DBM0_PEAK = 22827.0  # peak of a 0 dBm0 sine on a 16-bit scale (TELEPHONY.md)

# ITU-T Q.23: the keypad as rows (low group) x columns (high group).
DTMF_ROWS = (697.0, 770.0, 852.0, 941.0)
DTMF_COLUMNS = (1209.0, 1336.0, 1477.0, 1633.0)
DTMF_KEYS = ("123A", "456B", "789C", "*0#D")
DTMF_DIGITS = "".join(DTMF_KEYS)


def samples(seconds):
    """Number of samples in `seconds` at 8 kHz (rounded to the nearest sample)."""
    return round(seconds * RATE)


def peak(level_dbm0):
    """Peak amplitude of a sine at `level_dbm0`."""
    return DBM0_PEAK * 10.0 ** (level_dbm0 / 20.0)


def dtmf_frequencies(digit):
    """(row Hz, column Hz) of a DTMF key per ITU-T Q.23."""
    for row, keys in enumerate(DTMF_KEYS):
        if digit in keys:
            return DTMF_ROWS[row], DTMF_COLUMNS[keys.index(digit)]
    raise ValueError(f"dtmf_frequencies: {digit!r} is not a DTMF key; use one of {DTMF_DIGITS}")


def sine(freq, seconds, level_dbm0=-10.0, phase=0.0):
    """A sine of `freq` Hz at `level_dbm0`, starting at `phase` radians."""
    n = np.arange(samples(seconds))
    return peak(level_dbm0) * np.sin(2 * np.pi * freq * n / RATE + phase)


def dtmf(digit, seconds, level_dbm0=-10.0, *, twist_db=0.0, row_offset_hz=0.0,
         col_offset_hz=0.0, phases=(0.0, 0.0)):
    """A DTMF key: the row tone at `level_dbm0`, the column tone `twist_db` below it.

    Positive `twist_db` is "normal twist" (low group louder), negative is "reverse twist".
    The offsets move each tone away from its Q.23 frequency.
    """
    row, col = dtmf_frequencies(digit)
    return (sine(row + row_offset_hz, seconds, level_dbm0, phases[0])
            + sine(col + col_offset_hz, seconds, level_dbm0 - twist_db, phases[1]))


def offset_hz(freq, percent, extra_hz=0.0):
    """A frequency error of `percent` % plus `extra_hz`, signed like `percent` (MT8870 style)."""
    sign = -1.0 if percent < 0 else 1.0
    return freq * percent / 100.0 + sign * extra_hz


def silence(seconds):
    return np.zeros(samples(seconds))


def white_noise(seconds, level_dbm0, rng):
    """Gaussian white noise whose power equals a sine at `level_dbm0`."""
    rms = peak(level_dbm0) / np.sqrt(2.0)
    return rng.normal(0.0, rms, samples(seconds))


def power(signal):
    """Mean power of `signal` (in squared 16-bit units)."""
    return float(np.mean(np.square(signal, dtype=np.float64)))


def with_noise(signal, snr_db, rng, reference=None):
    """`signal` plus white noise `snr_db` below the power of `reference` (default: `signal`)."""
    ref = power(signal if reference is None else reference)
    noise = rng.normal(0.0, np.sqrt(ref / 10.0 ** (snr_db / 10.0)), len(signal))
    return signal + noise


def sequence(parts):
    """Concatenate signal pieces (float arrays) into one."""
    return np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])


def bursts(make, pattern, lead_seconds=0.0):
    """Bursts of `make(seconds)` with the given [(on, off), ...] seconds, after a lead.

    For cadenced tones: ``bursts(lambda t: sine(450, t, -10), [(0.35, 0.35)] * 4)`` is a
    Chinese busy tone. Returns (signal, [(start, end)] in samples, end exclusive).
    """
    parts, spans = [silence(lead_seconds)], []
    at = samples(lead_seconds)
    for on, off in pattern:
        burst = np.asarray(make(on), dtype=np.float64)
        parts += [burst, silence(off)]
        spans.append((at, at + len(burst)))
        at += len(burst) + samples(off)
    return sequence(parts), spans


def dtmf_sequence(digits, on_seconds, off_seconds, lead_seconds=0.05, **tone):
    """Keys `digits` with the given on/off times after `lead_seconds` of silence.

    Returns (signal, truth) where truth lists (digit, start, end) in samples, end exclusive.
    Extra keywords go to ``dtmf`` for every key.
    """
    keys = iter(digits)
    signal, spans = bursts(lambda seconds: dtmf(next(keys), seconds, **tone),
                           [(on_seconds, off_seconds)] * len(digits), lead_seconds)
    return signal, [(d, start, end) for d, (start, end) in zip(digits, spans, strict=True)]


def to_int16(signal):
    """Round to int16, saturating as a converter would."""
    return np.clip(np.round(signal), -32768, 32767).astype(np.int16)
