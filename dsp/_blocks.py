"""The argument checks the DSP fronts share (errors as docs/dsp.md describes them).

``check_block(block, channels, where, name="block")`` accepts exactly an int16[channels, n]
C-contiguous array with n >= 1 and otherwise raises TypeError (not an array, wrong dtype) or
ValueError (shape, contiguity) naming `where`, the bad value and what would be right.
``check_channel(channel, channels, where)`` accepts an int in 0..channels-1 (not a bool).
"""

import numpy as np


def is_block(block, channels):
    """The fast test a front runs on every call before anything else."""
    return (isinstance(block, np.ndarray) and block.dtype == np.int16 and block.ndim == 2
            and block.shape[0] == channels and block.shape[1] >= 1
            and block.flags.c_contiguous)


def check_block(block, channels, where, name="block"):
    if is_block(block, channels):
        return
    if not isinstance(block, np.ndarray):
        raise TypeError(f"{where}: {name} is a {type(block).__name__}; expected a numpy int16 "
                        f"array shaped [channels={channels}, n]")
    if block.dtype != np.int16:
        raise TypeError(f"{where}: {name} has dtype {block.dtype}; expected int16 (16-bit "
                        "linear PCM; decode G.711 first)")
    if block.ndim != 2 or block.shape[0] != channels or block.shape[1] < 1:
        raise ValueError(f"{where}: {name} has shape {block.shape}; expected "
                         f"[channels={channels}, n >= 1]")
    raise ValueError(f"{where}: {name} is not C-contiguous; pass "
                     f"numpy.ascontiguousarray({name})")


def check_channel(channel, channels, where):
    if isinstance(channel, bool) or not isinstance(channel, int) or not (
            0 <= channel < channels):
        raise ValueError(f"{where}: channel={channel!r}; expected an int in "
                         f"0..{channels - 1}")
