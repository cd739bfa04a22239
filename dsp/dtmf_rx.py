"""DTMF receiver for every channel of a board: ``DtmfRx(channels).process(block)``.

Contract: ``process`` takes one block ``int16[channels, n]`` (C-contiguous, any n >= 1; the
runtime passes n = 160 every 20 ms) and returns the ``DtmfEvent``s that block completed, in
time order (then channel order). A key gives two events: one when it is recognised, with
``end=None``, and one when it is released, with the same ``start`` and the sample where it
ended. Sample indices count per channel from the receiver's creation or that channel's last
``reset``. The same audio gives the same events however it is cut into blocks.

What is recognised (ITU-T Q.23 keys; ITU-T Q.24 AT&T column and the Mitel MT8870 figures):
tones within +-(1.5 % + 2 Hz) are accepted and tones 3.5 % off rejected; twist up to
``normal_twist_db`` (low group louder) and ``reverse_twist_db`` (high group louder);
keys of 40 ms and longer, not 23 ms and shorter; gaps up to 10 ms bridged, pauses of 40 ms
separate keys; -28 to +1 dBm0 per tone. docs/dsp.md describes how.

Errors: ``TypeError`` for a block that is not an int16 numpy array, ``ValueError`` for a
wrong shape, an empty block or a non-contiguous one, or a bad option or channel number.
The work is done by the compiled kernel ``branchline.dsp._dtmf_rx``; there is no fallback.
"""

import math
from dataclasses import dataclass

import numpy as np

from branchline.dsp._blocks import check_block, check_channel
from branchline.dsp._dtmf_rx import DtmfKernel

KEYS = "123A456B789C*0#D"  # kernel digit index = row * 4 + column (ITU-T Q.23 keypad)


@dataclass(frozen=True, slots=True)
class DtmfEvent:
    """A key on a channel: `end` is None while it is held, else the sample after its end."""

    channel: int
    digit: str
    start: int
    end: int | None


class DtmfRx:
    """DTMF receivers for `channels` channels, fed one block of all channels at a time."""

    def __init__(self, channels, *, normal_twist_db=8.0, reverse_twist_db=4.0):
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ValueError(f"DtmfRx: channels={channels!r}; expected an int >= 1")
        for name, value in (("normal_twist_db", normal_twist_db),
                            ("reverse_twist_db", reverse_twist_db)):
            if not isinstance(value, int | float) or not math.isfinite(value) or not (
                0 <= value <= 20
            ):
                raise ValueError(f"DtmfRx: {name}={value!r}; expected a number of dB in 0..20")
        self._channels = channels
        self._kernel = DtmfKernel(channels, float(normal_twist_db), float(reverse_twist_db))
        self._out = np.empty((0, 4), dtype=np.int64)  # the kernel's event rows, reused
        self._n = 0  # the block length self._out was last sized for

    @property
    def channels(self):
        return self._channels

    def process(self, block):
        """Feed `block` (int16[channels, n]); return the events it completed."""
        check_block(block, self._channels, "DtmfRx.process")
        if block.shape[1] != self._n:
            self._n = block.shape[1]
            need = DtmfKernel.event_capacity(self._channels, self._n)
            if len(self._out) < need:
                self._out = np.empty((need, 4), dtype=np.int64)
        count = self._kernel.process(block, self._out)
        if not count:
            return []
        return [
            DtmfEvent(c, KEYS[d], start, None if end < 0 else end)
            for c, d, start, end in self._out[:count].tolist()
        ]

    def reset(self, channel):
        """A new call on `channel`: forget its state; its sample count restarts at 0."""
        check_channel(channel, self._channels, "DtmfRx.reset")
        self._kernel.reset(channel)
