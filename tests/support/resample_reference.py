"""Plain NumPy reference for the resampler kernel (tests only), from the textbook definition.

Up-sample by L (insert L-1 zeros after every input sample, scale by L), filter with the
prototype low-pass, keep every M-th sample. No polyphase split: each output sample is computed
as the full convolution sum over the zero-stuffed signal, so the kernel's phase bookkeeping is
checked against something that has none.
"""

import numpy as np


def resample(x, h, up, down):
    """float64 output of one channel x (1-D) through prototype h, rational factor up/down.

    Output n sits at position n*down on the up-sampled grid; as many outputs as there are
    positions inside the input (ceil(len(x) * up / down)); samples before x[0] are silence.
    """
    x = np.asarray(x, dtype=np.float64)
    stuffed = np.zeros(len(x) * up)
    stuffed[::up] = x * up
    count = -(-len(x) * up // down)
    positions = np.arange(count) * down
    padded = np.concatenate([np.zeros(len(h) - 1), stuffed])
    # y[n] = sum_j h[j] * stuffed[n*down - j]; stuffed index i sits at padded[i + len(h) - 1].
    taps = np.arange(len(h))
    out = np.empty(count)
    for start in range(0, count, 256):  # rows of the gather matrix, a few at a time
        rows = positions[start:start + 256, None] - taps[None, :] + len(h) - 1
        out[start:start + 256] = padded[rows] @ h
    return out


def to_int16(y):
    """Round half to even and saturate, as the kernel does (lrint under the default mode)."""
    return np.clip(np.rint(y), -32768, 32767).astype(np.int16)
