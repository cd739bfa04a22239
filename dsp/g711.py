"""G.711 companding (ITU-T G.711): 16-bit linear PCM to and from A-law and u-law bytes.

``alaw_encode(x)`` / ``ulaw_encode(x)`` take int16 of any shape and return uint8 of the same
shape; ``alaw_decode(c)`` / ``ulaw_decode(c)`` take uint8 and return int16. Each accepts
``out=``: a C-contiguous array of the result's shape and dtype to write into (returned). The
16-bit sample is first cut to the 13 (A-law) or 14 (u-law) bits G.711 codes by an arithmetic
shift, as Python's audioop does: the tests check all 65,536 inputs and 256 codes against it.
(For u-law, audioop takes the magnitude of a negative 14-bit value as -x; a ones' complement
~x, which some implementations use, moves 508 negative inputs next to a decision value one
code step.) Silence: A-law has no zero code, ``ALAW_IDLE`` (0xD5) decodes to +8; ``ULAW_IDLE`` is
0xFF. Stateless, so block boundaries cannot matter.
"""

import numpy as np

from branchline.dsp import _g711

__all__ = [
    "ALAW_IDLE",
    "ULAW_IDLE",
    "alaw_decode",
    "alaw_encode",
    "ulaw_decode",
    "ulaw_encode",
]

ALAW_IDLE = 0xD5
ULAW_IDLE = 0xFF


def _prepare(name, data, dtype, out_dtype, out):
    array = np.asarray(data)
    if array.dtype != dtype:
        raise TypeError(f"{name}: input has dtype {array.dtype}; expected {np.dtype(dtype)}")
    array = np.ascontiguousarray(array)
    if out is None:
        out = np.empty(array.shape, dtype=out_dtype)
    elif not isinstance(out, np.ndarray) or out.dtype != out_dtype:
        got = getattr(out, "dtype", type(out).__name__)
        raise TypeError(f"{name}: out has dtype {got}; expected {np.dtype(out_dtype)}")
    elif out.shape != array.shape:
        raise ValueError(f"{name}: out has shape {out.shape}; expected {array.shape}")
    elif not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError(f"{name}: out must be a writeable C-contiguous array")
    return array.reshape(-1), out.reshape(-1), out


def alaw_encode(x, out=None):
    """Encode int16 samples to A-law codes (uint8, same shape)."""
    flat, flat_out, out = _prepare("alaw_encode", x, np.int16, np.uint8, out)
    _g711.encode(flat, flat_out, True)
    return out


def ulaw_encode(x, out=None):
    """Encode int16 samples to u-law codes (uint8, same shape)."""
    flat, flat_out, out = _prepare("ulaw_encode", x, np.int16, np.uint8, out)
    _g711.encode(flat, flat_out, False)
    return out


def alaw_decode(c, out=None):
    """Decode A-law codes (uint8) to int16 samples of the same shape."""
    flat, flat_out, out = _prepare("alaw_decode", c, np.uint8, np.int16, out)
    _g711.decode(flat, flat_out, True)
    return out


def ulaw_decode(c, out=None):
    """Decode u-law codes (uint8) to int16 samples of the same shape."""
    flat, flat_out, out = _prepare("ulaw_decode", c, np.uint8, np.int16, out)
    _g711.decode(flat, flat_out, False)
    return out
