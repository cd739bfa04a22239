"""Call-progress tone detection (busy, congestion, ringback, dial...) by frequency AND cadence.

``CallProgressRx(channels, tones=CALL_PROGRESS_TONES["cn"], detect=None)`` watches every
channel of a board. ``process(block)`` takes ``int16[channels, n]`` (any n; state carries
across blocks, so the cut does not matter) and returns ``ToneEvent(channel, tone, sample)``
for each detection, ``sample`` being the channel's sample count (since construction or
``reset``) at the end of the analysis frame that decided it. ``detect`` names the tones to
report (default: the hang-up tones "busy", "congestion" and "reorder" present in ``tones``);
``set_detect(channel, names)`` changes the set for one line (a channel listening for none is
not analysed at all, and starts afresh, as after ``reset``, when it listens again), and
``tones`` may hold any cadences a local exchange sends (add a ``ToneSpec``).

How it decides, per 25 ms frame (200 samples: 40 Hz bins put the US ringback pair 440/480 Hz
on orthogonal bins): the Goertzel power at each tone frequency against the frame's total power.
A frequency's power is the best of probes 20 Hz apart around it, enough to cover
``frequency_tolerance_hz`` (default 25 Hz, so 450 Hz is probed at 430, 450 and 470 Hz):
exchanges are not all exact. A probe as close to another frequency of the table as to its
own is left out (US 440 Hz is not probed at 460, which is as near 480).
The frame is "on" for a tone's frequencies when they hold at least ``on_ratio`` of it (0.5:
the tone is louder than everything else together, so the echo of our own prompt or speech
10 dB under the tone does not chop it), each frequency at least 10 %, and the frame is above
``min_level_dbm0`` (-45 dBm0). Energy alone never counts: a 1 kHz tone or noise gated in the
busy rhythm stays "off". Runs of equal frames are segments; a different frame alone (25 ms)
inside a run is bridged. A cadenced tone is detected when the last four segments (or one
full cycle of a longer pattern) alternate on/off with durations within +-``tolerance`` (15 %)
+- 40 ms of the table's, and each "on" held its level within 6 dB (speech does not): busy
0.35/0.35 s is reported 50 ms into its third burst, about 2.1 cycles (1.45 s) after it began;
congestion 0.7/0.7 s after about 2.85 s. A continuous tone (dial) is reported once it has
lasted ``continuous_ms`` (default 3 s: longer than any cadenced burst, short enough for a line
left off-hook after the far end hung up). Each detection is reported once, and re-armed when
a segment breaks the pattern (so a tone heard again after a pause is reported again).
"""

import math
from dataclasses import dataclass

import numpy as np

from branchline.dsp import _cpt_rx
from branchline.dsp.tones import CALL_PROGRESS_TONES, DBM0_RMS

__all__ = ["HANGUP_TONES", "CallProgressRx", "ToneEvent"]

HANGUP_TONES = ("busy", "congestion", "reorder")
FRAME = 200
SLACK_MS = 40.0
PROBE_SPACING_HZ = 20.0
MAX_FREQS, MAX_PROBES, MAX_TONES, MAX_PATTERN = 8, 40, 16, 16


def probe_offsets(tolerance_hz):
    """Goertzel probe offsets (Hz) around a nominal frequency: 20 Hz apart (half a 40 Hz bin),
    enough of them that a tone anywhere within +-tolerance_hz is at most 10 Hz from one, where
    the frame's response is still 81 % of the power."""
    k = max(0, math.ceil((tolerance_hz - PROBE_SPACING_HZ / 2) / PROBE_SPACING_HZ))
    return [PROBE_SPACING_HZ * i for i in range(-k, k + 1)]


def _probes(f, offsets, frequencies):
    """The probes of f: a probe no closer to f than to another table frequency (440 Hz + 20
    is as near 480 Hz) would blur the two, so it is replaced by f itself."""
    others = [g for g in frequencies if g != f]
    return [f + d if all(abs(d) < abs(f + d - g) for g in others) else f for d in offsets]


@dataclass(frozen=True, slots=True)
class ToneEvent:
    """A call-progress tone heard on a channel, at a sample count of that channel."""

    channel: int
    tone: str
    sample: int


class CallProgressRx:
    """Call-progress tone detector for `channels` channels (see the module docstring)."""

    def __init__(self, channels, *, tones=CALL_PROGRESS_TONES["cn"], detect=None, rate=8000,
                 tolerance=0.15, min_level_dbm0=-45.0, on_ratio=0.5, continuous_ms=3000,
                 frequency_tolerance_hz=25.0):
        if channels < 1:
            raise ValueError(f"CallProgressRx: channels={channels}; expected at least 1")
        self.channels = channels
        self.names = list(tones)
        if len(self.names) > MAX_TONES:
            raise ValueError(f"CallProgressRx: {len(self.names)} tones; at most {MAX_TONES}")
        frequencies = sorted({f for spec in tones.values() for f in spec.frequencies})
        if len(frequencies) > MAX_FREQS or len(frequencies) * len(
                probe_offsets(frequency_tolerance_hz)) > MAX_PROBES:
            raise ValueError(
                f"CallProgressRx: {len(frequencies)} distinct frequencies at +-"
                f"{frequency_tolerance_hz} Hz; at most {MAX_FREQS}, and {MAX_PROBES} probes"
            )
        masks = sorted({self._mask(frequencies, spec) for spec in tones.values()})
        lo = np.zeros((len(self.names), MAX_PATTERN), np.int32)
        hi = np.zeros((len(self.names), MAX_PATTERN), np.int32)
        frame_ms = FRAME * 1000 / rate
        for j, spec in enumerate(tones.values()):
            if len(spec.cadence) > MAX_PATTERN:
                raise ValueError(f"CallProgressRx: tone {spec.name!r} has more than "
                                 f"{MAX_PATTERN} cadence steps")
            for p, ms in enumerate(spec.cadence):
                lo[j, p] = math.ceil((ms * (1 - tolerance) - SLACK_MS) / frame_ms)
                hi[j, p] = math.floor((ms * (1 + tolerance) + SLACK_MS) / frame_ms)
        offsets = probe_offsets(frequency_tolerance_hz)
        self._kernel = _cpt_rx.CptKernel(
            channels,
            FRAME,
            np.array([2 * math.cos(2 * math.pi * p / rate)
                      for f in frequencies for p in _probes(f, offsets, frequencies)]),
            len(offsets),
            np.array(masks, np.int32),
            np.array([masks.index(self._mask(frequencies, s)) + 1 for s in tones.values()],
                     np.int32),
            np.array([len(s.cadence) for s in tones.values()], np.int32),
            np.array([max(4, len(s.cadence)) for s in tones.values()], np.int32),
            lo,
            hi,
            (DBM0_RMS * 10 ** (min_level_dbm0 / 20)) ** 2,
            on_ratio,
            0.1,
            10 ** (6 / 10),  # steady: a burst's frame powers stay within 6 dB
            max(1, round(continuous_ms / frame_ms)),
        )
        default = [n for n in HANGUP_TONES if n in tones] if detect is None else detect
        for channel in range(channels):
            self.set_detect(channel, default)
        self._events = np.zeros((0, 4), np.int32)

    @staticmethod
    def _mask(frequencies, spec):
        return sum(1 << frequencies.index(f) for f in spec.frequencies)

    def _check(self, where, channel):
        if not 0 <= channel < self.channels:
            raise IndexError(
                f"CallProgressRx.{where}: channel {channel} out of range 0..{self.channels - 1}"
            )

    def set_detect(self, channel, names):
        """Report exactly the tones `names` (keys of the detector's table) on channel."""
        self._check("set_detect", channel)
        unknown = [n for n in names if n not in self.names]
        if unknown:
            raise ValueError(
                f"CallProgressRx.set_detect: unknown tone(s) {unknown}; expected some of "
                f"{self.names}"
            )
        was = self._kernel.listening(channel)
        for j, name in enumerate(self.names):
            self._kernel.enable(channel, j, name in names)
        if not was and self._kernel.listening(channel):
            self._kernel.reset(channel)  # not analysed while it listened for nothing

    def listening(self, channel):
        """True if channel reports some tone (and so is analysed)."""
        self._check("listening", channel)
        return bool(self._kernel.listening(channel))

    def reset(self, channel):
        """Forget channel's history (a new call); its sample count restarts at 0."""
        self._check("reset", channel)
        self._kernel.reset(channel)

    def process(self, block):
        """Analyse one block int16[channels, n]; return the ToneEvents it completed."""
        if not isinstance(block, np.ndarray) or block.dtype != np.int16 or block.ndim != 2:
            raise TypeError("CallProgressRx.process: block must be an int16 array [channels, n]")
        if block.shape[0] != self.channels:
            raise ValueError(
                f"CallProgressRx.process: block has shape {block.shape}; expected "
                f"({self.channels}, n)"
            )
        block = np.ascontiguousarray(block)
        need = self.channels * len(self.names) * (block.shape[1] // FRAME + 1)
        if len(self._events) < need:
            self._events = np.zeros((need, 4), np.int32)
        count = self._kernel.process(block, self._events)
        return [
            ToneEvent(int(c), self.names[t], (int(high) << 31) | int(low))
            for c, t, high, low in self._events[:count]
        ]
