"""Tone generation: call-progress tones and DTMF digit strings, for every channel of a board.

Levels are in dBm0 (ITU-T G.711: the codecs' overload point is +3.14 dBm0, so a 0 dBm0 sine
has a peak of 32768 * 10**(-3.14/20) = 22,827 and an RMS of 16,141 on the 16-bit scale).

``CALL_PROGRESS_TONES[country][name]`` is a ``ToneSpec``: frequencies, level and cadence (on,
off, on, off... in ms, repeating; empty = continuous). "cn" follows GB 3380 as tabulated by
Asterisk, DAHDI and spandsp (450 Hz, -10 dBm0); "us" is the North American precise tone plan
(levels per frequency: dial -13, ringback -19, busy and reorder -24 dBm0).

``ToneTx(channels)``: ``start(channel, spec)`` plays a call-progress tone (repeating unless
``repeat=False``), ``start_dtmf(channel, digits)`` plays a digit string once (row tone at
``level_dbm0``, default -10 dBm0; column tone ``twist_db`` below it, default 0, so positive is
"normal twist" and negative "reverse twist" as in Asterisk and spandsp; 80 ms on / 80 ms off
per digit by default, ITU-T Q.24 asks for at least 40 ms of each). ``render(out)`` writes
the next block of every channel that is playing into ``out`` (int16[channels, n]) and leaves
the other channels' rows untouched, so it can be called after ``TxRenderer.render`` to lay a
tone over the prompt/bridge output; it returns the channels whose finite tone ended in this
block (the rest of that row is written as silence, 0). Cadence steps are exact in samples
(``round(ms * rate / 1000)``); each oscillator's phase runs on across blocks and holds during
off segments.

``dtmf_samples(digits)`` renders a digit string into one int16 array (each digit is followed by
its off period), for virtual phones and tests.
"""

import math
from dataclasses import dataclass

import numpy as np

from branchline.dsp import _tone_tx

__all__ = [
    "CALL_PROGRESS_TONES",
    "DBM0_PEAK",
    "DBM0_RMS",
    "DTMF_FREQUENCIES",
    "ToneSpec",
    "ToneTx",
    "dbm0_to_peak",
    "dtmf_samples",
]

DBM0_PEAK = 32768 * 10 ** (-3.14 / 20)
DBM0_RMS = DBM0_PEAK / math.sqrt(2)

# ITU-T Q.23: row (low group) and column (high group) frequencies in Hz.
_ROWS = (697.0, 770.0, 852.0, 941.0)
_COLS = (1209.0, 1336.0, 1477.0, 1633.0)
_KEYS = ("123A", "456B", "789C", "*0#D")
DTMF_FREQUENCIES = {
    key: (_ROWS[r], _COLS[c]) for r, row in enumerate(_KEYS) for c, key in enumerate(row)
}


def dbm0_to_peak(level_dbm0):
    """Peak amplitude (16-bit scale) of a sine at level_dbm0."""
    return DBM0_PEAK * 10 ** (level_dbm0 / 20)


@dataclass(frozen=True, slots=True)
class ToneSpec:
    """A call-progress tone: 1 or 2 frequencies (Hz), level per frequency, cadence in ms."""

    name: str
    frequencies: tuple[float, ...]
    level_dbm0: float = -10.0
    cadence: tuple[int, ...] = ()

    def __post_init__(self):
        where = f"ToneSpec {self.name!r}"
        if len(self.frequencies) not in (1, 2):
            raise ValueError(f"{where}: {len(self.frequencies)} frequencies; expected 1 or 2")
        if not all(0 < f < 4000 for f in self.frequencies):
            raise ValueError(f"{where}: frequencies {self.frequencies}; expected 0 < f < 4000 Hz")
        if len(self.cadence) % 2 or any(ms <= 0 for ms in self.cadence):
            raise ValueError(
                f"{where}: cadence {self.cadence}; expected pairs of positive on/off "
                "durations in ms, or () for a continuous tone"
            )

    @property
    def continuous(self):
        return not self.cadence


def _cn(name, cadence):
    return ToneSpec(name, (450.0,), -10.0, cadence)


CALL_PROGRESS_TONES = {
    "cn": {
        "dial": _cn("dial", ()),
        "ringback": _cn("ringback", (1000, 4000)),
        "busy": _cn("busy", (350, 350)),
        "congestion": _cn("congestion", (700, 700)),
        "unobtainable": _cn("unobtainable", (100, 100, 100, 100, 100, 100, 400, 400)),
        "call_waiting": _cn("call_waiting", (400, 4000)),
    },
    "us": {
        "dial": ToneSpec("dial", (350.0, 440.0), -13.0, ()),
        "ringback": ToneSpec("ringback", (440.0, 480.0), -19.0, (2000, 4000)),
        "busy": ToneSpec("busy", (480.0, 620.0), -24.0, (500, 500)),
        "reorder": ToneSpec("reorder", (480.0, 620.0), -24.0, (250, 250)),
    },
}


class ToneTx:
    """Tone generator for `channels` channels at `rate` Hz (see the module docstring)."""

    def __init__(self, channels, *, rate=8000):
        if channels < 1:
            raise ValueError(f"ToneTx: channels={channels}; expected at least 1")
        self.channels = channels
        self.rate = rate
        self._kernel = _tone_tx.ToneKernel(channels)
        self._finished = np.zeros(channels, dtype=np.uint8)

    def _check_channel(self, channel):
        if not 0 <= channel < self.channels:
            raise IndexError(f"ToneTx: channel {channel} out of range 0..{self.channels - 1}")

    def _samples(self, ms):
        return max(1, round(ms * self.rate / 1000))

    def _inc(self, hz):
        return round(hz / self.rate * 2**32) % 2**32

    def start(self, channel, spec, *, level_dbm0=None, repeat=True):
        """Play a call-progress tone on channel, replacing whatever tone it was playing."""
        self._check_channel(channel)
        amp = dbm0_to_peak(spec.level_dbm0 if level_dbm0 is None else level_dbm0)
        f = spec.frequencies
        incs = (self._inc(f[0]), self._inc(f[1]) if len(f) == 2 else 0)
        amps = (amp, amp if len(f) == 2 else 0.0)
        if spec.continuous:
            rows = [(*incs, *amps, 2**62)]
        else:
            rows = [
                (*incs, *(amps if k % 2 == 0 else (0.0, 0.0)), self._samples(ms))
                for k, ms in enumerate(spec.cadence)
            ]
        self._kernel.load(channel, np.array(rows, dtype=np.float64), 0 if repeat else -1)

    def start_dtmf(self, channel, digits, *, level_dbm0=-10.0, twist_db=0.0, on_ms=80,
                   off_ms=80):
        """Play a DTMF digit string once; twist_db is the row tone's level above the column's."""
        self._check_channel(channel)
        self._kernel.load(
            channel, self._dtmf_program(digits, level_dbm0, twist_db, on_ms, off_ms), -1
        )

    def _dtmf_program(self, digits, level_dbm0, twist_db, on_ms, off_ms):
        bad = [d for d in digits if d.upper() not in DTMF_FREQUENCIES]
        if not digits or bad:
            raise ValueError(
                f"DTMF digits {digits!r}: expected a non-empty string of 0-9 * # A-D"
            )
        if on_ms <= 0 or off_ms < 0:
            raise ValueError(f"DTMF on_ms={on_ms}, off_ms={off_ms}; expected on > 0, off >= 0")
        low, high = dbm0_to_peak(level_dbm0), dbm0_to_peak(level_dbm0 - twist_db)
        rows = []
        for d in digits.upper():
            f_low, f_high = DTMF_FREQUENCIES[d]
            rows.append((self._inc(f_low), self._inc(f_high), low, high, self._samples(on_ms)))
            if off_ms:
                rows.append((0, 0, 0.0, 0.0, self._samples(off_ms)))
        return np.array(rows, dtype=np.float64)

    def stop(self, channel):
        """Stop channel's tone at once; render no longer writes its row."""
        self._check_channel(channel)
        self._kernel.stop(channel)

    def active(self, channel):
        """True while channel has a tone to play."""
        self._check_channel(channel)
        return self._kernel.active(channel)

    def render(self, out):
        """Write the next block of every playing channel; return channels that finished."""
        if not isinstance(out, np.ndarray) or out.dtype != np.int16 or out.ndim != 2:
            raise TypeError("ToneTx.render: out must be an int16 array [channels, n]")
        if out.shape[0] != self.channels or not out.flags.c_contiguous:
            raise ValueError(
                f"ToneTx.render: out has shape {out.shape}; expected a C-contiguous "
                f"({self.channels}, n) array"
            )
        self._kernel.render(out, self._finished)
        return np.flatnonzero(self._finished).tolist()


def dtmf_samples(digits, *, level_dbm0=-10.0, twist_db=0.0, on_ms=80, off_ms=80, rate=8000):
    """The int16 audio of a DTMF digit string: each digit's tone, then its pause."""
    tx = ToneTx(1, rate=rate)
    tx.start_dtmf(0, digits, level_dbm0=level_dbm0, twist_db=twist_db, on_ms=on_ms,
                  off_ms=off_ms)
    n = len(digits) * (tx._samples(on_ms) + (tx._samples(off_ms) if off_ms else 0))
    out = np.zeros((1, n), dtype=np.int16)
    tx.render(out)
    return out[0]
