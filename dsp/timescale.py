"""Time-scale modification: a prompt played slower (or faster) at the same pitch.

    slower = stretch(samples, 1.25)   # int16[n] -> int16[round(1.25 n)], same pitch

The kernel (``_timescale.wsola``) is WSOLA, waveform-similarity overlap-add (Verhelst and
Roelands, ICASSP 1993), with our choices for 8 kHz telephone speech: frames of 30 ms
(``FRAME``: two periods of a low voice at 70 Hz), 50 % overlap (``HOP``), and a search of
±10 ms (``TOLERANCE``: at least half of any voice's pitch period, so a whole period fits).
It copies whole stretches of the input, so the pitch stays (tests/dsp/test_timescale.py:
within 2 % on tones and speech) while the duration becomes ``factor`` times the input's
(exact to the sample).

The front validates and pads; the kernel runs without the GIL. ``factor`` is 0.5 to 2.0
(``MIN_FACTOR``, ``MAX_FACTOR``); 1.0 returns a copy. Errors: ``TypeError`` for samples that
are not an int16 numpy array, ``ValueError`` for a wrong shape or a factor out of range.
"""

import numpy as np

from branchline.dsp import _timescale

__all__ = ["FRAME", "HOP", "MAX_FACTOR", "MIN_FACTOR", "TOLERANCE", "stretch"]

FRAME = 240      # 30 ms at 8 kHz
HOP = FRAME // 2
TOLERANCE = 80   # 10 ms
MIN_FACTOR, MAX_FACTOR = 0.5, 2.0


def check(samples, factor, where="stretch"):
    if not isinstance(samples, np.ndarray) or samples.dtype != np.int16:
        raise TypeError(f"{where}: samples must be a numpy int16 array (8 kHz linear PCM), "
                        f"not {getattr(samples, 'dtype', type(samples).__name__)}")
    if samples.ndim != 1:
        raise ValueError(f"{where}: samples have shape {samples.shape}; give one prompt as "
                         "a 1-D array")
    if isinstance(factor, bool) or not isinstance(factor, int | float) \
            or not (MIN_FACTOR <= factor <= MAX_FACTOR):
        raise ValueError(f"{where}: factor {factor!r}; give a duration factor from "
                         f"{MIN_FACTOR} to {MAX_FACTOR} (1.25 plays 25 % slower)")


def layout(n, factor):
    """(lead, n_out, frames, padded input length) for ``n`` samples stretched by ``factor``:
    the input gets ``HOP`` zeros in front so the first real samples sit under two frames,
    whose output (``lead`` samples) is dropped, and the kernel's zeros behind."""
    lead = round(HOP * factor)
    n_out = round(n * factor)
    return lead, n_out, (n_out + lead) // HOP + 2, HOP + n + FRAME + TOLERANCE + 2 * HOP


def stretch(samples, factor):
    """``samples`` played ``factor`` times as long, at the same pitch (a new int16 array)."""
    check(samples, factor)
    if factor == 1.0 or samples.size == 0:
        return samples.copy()
    lead, n_out, frames, padded = layout(samples.size, factor)
    x = np.zeros(padded, dtype=np.int16)
    x[HOP:HOP + samples.size] = samples
    out = np.empty(n_out + lead, dtype=np.int16)
    _timescale.wsola(x, out, float(factor), FRAME, HOP, TOLERANCE, frames)
    return out[lead:].copy()
