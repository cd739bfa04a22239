"""A plain NumPy WSOLA, written from the paper (Verhelst and Roelands, ICASSP 1993), to
cross-check the Cython kernel ``branchline.dsp._timescale``: same frames, same search, same
tie-break (the first best offset), sums in double."""

import numpy as np

from branchline.dsp.timescale import FRAME, HOP, TOLERANCE, check, layout


def stretch_reference(samples, factor):
    check(samples, factor, "stretch_reference")
    lead, n_out, frames, padded = layout(samples.size, factor)
    x = np.zeros(padded)
    x[HOP:HOP + samples.size] = samples
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME) / FRAME)
    acc = np.zeros(n_out + lead)
    segments = np.lib.stride_tricks.sliding_window_view(x, FRAME)
    prev = 0
    for k in range(frames):
        if k == 0:
            start = 0
        else:
            nominal = int(k * HOP / factor + 0.5)
            hi = min(nominal + TOLERANCE, padded - FRAME - HOP)
            lo = min(max(nominal - TOLERANCE, 0), hi)
            scores = segments[lo:hi + 1] @ x[prev + HOP:prev + HOP + FRAME]
            start = lo + int(np.argmax(scores))
        at = k * HOP
        take = max(0, min(FRAME, acc.size - at))
        acc[at:at + take] += window[:take] * x[start:start + take]
        prev = start
    return np.clip(np.rint(acc), -32768, 32767).astype(np.int16)[lead:]
