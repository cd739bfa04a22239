"""Line echo canceller for every analog line of a board: ``EchoCanceller(channels).process``.

Contract: ``process(rx, tx, active=None)`` takes the block the lines returned, ``rx``, and the
block that was being sent while it was received, ``tx`` (both int16[channels, n], C-contiguous;
the runtime passes n = 160 every 20 ms with the previous tick's transmit block) and returns a
new int16 block: rx with the echo of tx removed on the channels where ``active`` (bool
[channels], default all) is true, rx as it was elsewhere (those channels' state stands still).
``reset(channel)`` forgets a channel's echo path. The result does not depend on how the audio
is cut into blocks.

What it is (ITU-T G.168 style; docs/line-dsp.md has the design and the measured figures): an
NLMS FIR of ``tail_ms`` (16-64 ms: 128-512 taps at 8 kHz) on the transmit signal, step
``mu``; a Geigel double-talk detector (rx at least as loud as half the largest tx sample in the
tail holds adaptation off for 30 ms); adaptation frozen while tx is a pure tone (G.168
requires it: a call-progress tone we send) and while the output is one (a DTMF key the caller
sends), by a 4th-order linear predictor per 10 ms frame. No non-linear processor: the output
feeds the DTMF and tone detectors and the recordings, which want the caller untouched.

Errors: ``TypeError`` for a block that is not an int16 array, ``ValueError`` for a wrong shape
or a bad option or channel. The work is done by ``branchline.dsp._echo``; there is no fallback.
"""

import numpy as np

from branchline.dsp._blocks import check_block, check_channel
from branchline.dsp._echo import EchoKernel
from branchline.dsp.tones import DBM0_RMS

__all__ = ["EchoCanceller"]

RATE = 8000
TAIL_MS = (16, 64)
# Regularisation: the NLMS step is divided by (x.x + delta); delta is the tail's energy at
# -40 dBm0 (our choice), so quiet tx barely moves the filter.
DELTA_DBM0 = -40.0


class EchoCanceller:
    """Echo cancellers for `channels` lines (see the module docstring)."""

    def __init__(self, channels, *, tail_ms=64, mu=0.5):
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ValueError(f"EchoCanceller: channels={channels!r}; expected an int >= 1")
        if isinstance(tail_ms, bool) or not isinstance(tail_ms, int) or not (
                TAIL_MS[0] <= tail_ms <= TAIL_MS[1]):
            raise ValueError(f"EchoCanceller: tail_ms={tail_ms!r}; expected an int of ms in "
                             f"{TAIL_MS[0]}..{TAIL_MS[1]} (G.168 tails: 16, 32, 64 ms)")
        if not isinstance(mu, int | float) or not (0 < mu <= 1):
            raise ValueError(f"EchoCanceller: mu={mu!r}; expected an NLMS step in (0, 1]")
        self._channels = channels
        self.tail_ms = tail_ms
        self.taps = tail_ms * RATE // 1000
        delta = self.taps * (DBM0_RMS * 10 ** (DELTA_DBM0 / 20)) ** 2
        self._kernel = EchoKernel(channels, self.taps, float(mu), float(delta))
        self._all = np.ones(channels, dtype=np.uint8)

    @property
    def channels(self):
        return self._channels

    @property
    def counters(self):
        """Samples (over all channels) adapted, held by double talk, held by a tone freeze;
        frames where the background filter became the output one, or was taken back."""
        k = self._kernel
        return {"adapted": k.adapted, "double_talk": k.double_talk, "tone_freeze": k.frozen,
                "transfers": k.transfers, "restores": k.restores}

    def process(self, rx, tx, active=None):
        """Return rx with the echo of tx removed (see the module docstring)."""
        check_block(rx, self._channels, "EchoCanceller.process", "rx")
        check_block(tx, self._channels, "EchoCanceller.process", "tx")
        if rx.shape != tx.shape:
            raise ValueError(f"EchoCanceller.process: rx has shape {rx.shape} but tx "
                             f"{tx.shape}; expected the same [channels, n] for both")
        if active is None:
            mask = self._all
        else:
            mask = np.asarray(active)
            if mask.shape != (self._channels,) or mask.dtype != np.bool_:
                raise ValueError(f"EchoCanceller.process: active has shape {mask.shape} and "
                                 f"dtype {mask.dtype}; expected bool[{self._channels}]")
            mask = np.ascontiguousarray(mask.view(np.uint8))
        out = np.empty_like(rx)
        self._kernel.process(rx, tx, mask, out)
        return out

    def coefficients(self, channel):
        """The channel's echo path estimate, tap k = k samples of delay (float64[taps])."""
        check_channel(channel, self._channels, "EchoCanceller.coefficients")
        return np.array(self._kernel.coefficients(channel), dtype=np.float64)

    def reset(self, channel):
        """Forget `channel`'s echo path (a different line behind the port)."""
        check_channel(channel, self._channels, "EchoCanceller.reset")
        self._kernel.reset(channel)

