"""Sample-rate conversion between a sound card's rate and the appliance's 8 kHz, streaming.

``Resampler(channels, in_rate, out_rate)`` converts ``int16[channels, n]`` blocks (any n,
state carried across blocks, so the cut does not matter) by a rational factor L/M
(``up``/``down``, the rates divided by their greatest common divisor): 48000 -> 8000 is 1/6,
8000 -> 48000 is 6/1, 44100 -> 8000 is 80/441, 8000 -> 44100 is 441/80. ``process(block)``
returns the ``int16[channels, m]`` output the block completes (m = ``output_length(n)``:
about n * out_rate / in_rate, exact over any run of blocks); ``reset(channel)`` clears one
channel's history (a new call on it).

How: a polyphase FIR. The prototype low-pass (``design_lowpass``) runs at the up-sampled rate
in_rate * L = out_rate * M; it is a windowed sinc (Kaiser window, beta from the attenuation,
length from Kaiser's formula; J. F. Kaiser, "Nonrecursive digital filter design using the
I0-sinh window function", 1974) with its pass-band edge at 0.425 and its stop-band edge at 0.5
of the lower rate: 3.4 kHz (the telephone band's top, ITU-T G.712) and 4 kHz (8 kHz Nyquist)
when one side is 8 kHz. Each output sample takes K = taps / L multiply-adds (``taps``; the
kernel pads it to whole 8-float vectors), summed in float32 and rounded (saturating) to int16.

What it meets (tests/dsp/test_resample.py measures it on the designed response and on signals):

* stop band: >= 70 dB rejection from 4 kHz up, both ways (decimating: nothing above 4 kHz
  folds into the band above -70 dB; interpolating: the images of the 8 kHz signal are 70 dB
  down);
* pass band: flat within 0.01 dB from 0 to 3.4 kHz;
* delay: ``delay_s`` (half the prototype, about 3.9 ms for 48 kHz <-> 8 kHz).

Errors: ``TypeError`` for a block that is not int16, ``ValueError`` for a wrong shape, a
non-positive rate, equal rates (nothing to do: use the audio as it is) or a ratio whose
reduced factors exceed ``MAX_FACTOR`` (the polyphase table would be huge).
"""

import math

import numpy as np

from branchline.dsp import _resample

__all__ = ["MAX_FACTOR", "PASS_FRACTION", "STOP_ATTENUATION_DB", "Resampler", "design_lowpass"]

PASS_FRACTION = 0.425  # 3.4 kHz of 8 kHz: the top of the telephone band (ITU-T G.712)
STOP_FRACTION = 0.5  # the lower rate's Nyquist frequency
STOP_ATTENUATION_DB = 75.0  # design target; 70 dB is what the tests hold it to
MAX_FACTOR = 1000


def _factors(in_rate, out_rate, where):
    for name, rate in (("in_rate", in_rate), ("out_rate", out_rate)):
        if isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0:
            raise ValueError(f"{where}: {name}={rate!r}; expected a positive whole number of "
                             "samples per second, e.g. 48000")
    if in_rate == out_rate:
        raise ValueError(f"{where}: in_rate and out_rate are both {in_rate}; nothing to "
                         "convert, use the audio as it is")
    g = math.gcd(in_rate, out_rate)
    up, down = out_rate // g, in_rate // g
    if max(up, down) > MAX_FACTOR:
        raise ValueError(f"{where}: {in_rate} -> {out_rate} Hz reduces to {up}/{down}; "
                         f"factors above {MAX_FACTOR} are not supported (e.g. 44100, 48000, "
                         "16000 and 8000 Hz are)")
    return up, down


def design_lowpass(in_rate, out_rate):
    """The prototype low-pass at in_rate * L, DC gain 1, length a multiple of L."""
    up, _ = _factors(in_rate, out_rate, "design_lowpass")
    rate = in_rate * up
    low = min(in_rate, out_rate)
    f_pass, f_stop = PASS_FRACTION * low, STOP_FRACTION * low
    a = STOP_ATTENUATION_DB
    beta = 0.1102 * (a - 8.7)  # Kaiser's formula for a > 50 dB
    width = 2 * math.pi * (f_stop - f_pass) / rate
    length = math.ceil((a - 8.0) / (2.285 * width)) + 1
    length = up * math.ceil(length / up)
    cutoff = (f_pass + f_stop) / 2 / rate  # cycles per sample at the up-sampled rate
    n = np.arange(length) - (length - 1) / 2
    h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.kaiser(length, beta)
    return h / h.sum()


class Resampler:
    """Streaming rational resampler for `channels` channels (see the module docstring)."""

    def __init__(self, channels, in_rate, out_rate):
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ValueError(f"Resampler: channels={channels!r}; expected at least 1")
        self.up, self.down = _factors(in_rate, out_rate, "Resampler")
        self.channels = channels
        self.in_rate = in_rate
        self.out_rate = out_rate
        h = design_lowpass(in_rate, out_rate)
        self.taps = len(h) // self.up  # prototype taps per output sample
        # Row p: h[p], h[p + L], ... reversed, times L (zero stuffing keeps 1 sample in L).
        table = (self.up * h).reshape(self.taps, self.up).T[:, ::-1]
        self._kernel = _resample.ResampleKernel(channels, self.up, self.down,
                                                np.ascontiguousarray(table))
        self.delay_s = (len(h) - 1) / 2 / (in_rate * self.up)

    def output_length(self, n):
        """The number of output samples the next block of n input samples will give."""
        return self._kernel.output_length(n)

    def process(self, block):
        """Convert block int16[channels, n]; return the int16[channels, m] it completes."""
        if not isinstance(block, np.ndarray) or block.dtype != np.int16:
            got = getattr(block, "dtype", type(block).__name__)
            raise TypeError(f"Resampler.process: block is {got}; expected int16 "
                            f"[{self.channels}, n]")
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise ValueError(f"Resampler.process: block has shape {block.shape}; expected "
                             f"({self.channels}, n)")
        block = np.ascontiguousarray(block)
        out = np.empty((self.channels, self._kernel.output_length(block.shape[1])), np.int16)
        self._kernel.process(block, out)
        return out

    def reset(self, channel):
        """Start channel afresh: its history becomes silence."""
        if not 0 <= channel < self.channels:
            raise IndexError(f"Resampler.reset: channel {channel} out of range "
                             f"0..{self.channels - 1}")
        self._kernel.reset(channel)
