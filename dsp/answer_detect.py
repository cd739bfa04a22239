"""Answer detection for calls we dial: dial tone before, then ringback, busy, voice or silence.

``AnswerDetector(slots, *, tones=CALL_PROGRESS_TONES["cn"], dial_ms=400, voice_ms=300,
min_level_dbm0=-45.0, tone_share=0.98, gap_ms=100, silence_ms=10000)`` listens to at most
``slots`` lines of a board at once. ``watch(channel, phase)`` starts (or restarts) listening to
one board channel: ``"dial"`` before dialling (is there dial tone?), ``"answer"`` after it
(what does the far end do?); ``forget(channel)`` stops. ``process(block)`` takes the board's
whole ``int16[channels, n]`` receive block (n a multiple of 160) and returns the
``AnswerEvent(channel, what, sample)`` it completed, ``sample`` counting the channel's samples
since ``watch``. Each ``what`` is reported once per ``watch``:

| phase | what | means |
|---|---|---|
| dial | ``dial`` | the exchange's dial tone held ``dial_ms`` (China: 450 Hz continuous, GB 3380) |
| answer | ``ringback`` | the far end is ringing (China: 450 Hz, 1 s on / 4 s off) |
| answer | ``busy``, ``congestion``, ``unobtainable``, US ``reorder`` | no answer will come |
| answer | ``voice`` | someone answered: speech for ``voice_ms`` |
| answer | ``silence`` | nothing above ``min_level_dbm0`` for ``silence_ms`` |

How. Tones are the ``CallProgressRx``'s (frequency and cadence, see dsp/progress.py), one
detector over the slots with its continuous-tone time set to ``dial_ms``, so dial tone is known
in well under a second (our choice: 0.4 s; the loop's hang-up detector waits 3 s). Voice is a
NumPy measure per 20 ms frame of the watched rows only: a frame is *sound* when its level is at
least ``min_level_dbm0``, and *voice* when it is sound and its six strongest bins of a 160-point
Hann-windowed spectrum hold less than ``tone_share`` of its power. A call-progress tone, one
or two frequencies, puts more than 99 % there (even through A-law); espeak speech frames put
a median 72 % and 96 % at the 99th percentile. ``voice`` is reported once the frames of voice
in one run add up to ``voice_ms`` (a run survives pauses of up to ``gap_ms``; a tone frame
ends it). Nothing here is per-sample Python: the tones run in the compiled kernel, the voice
measure is a handful of array operations per block over the watched rows.

A block of the wrong shape or dtype is a ``TypeError``/``ValueError``; watching more channels
than there are slots is a ``ValueError`` that says so (the runtime sizes the slots to the
lines it may dial on at once).
"""

from dataclasses import dataclass

import numpy as np

from branchline.dsp.progress import CallProgressRx
from branchline.dsp.tones import CALL_PROGRESS_TONES, DBM0_RMS

__all__ = ["ANSWER_TONES", "FAILURE_TONES", "AnswerDetector", "AnswerEvent"]

FRAME = 160
TOP_BINS = 6
ANSWER_TONES = ("ringback", "busy", "congestion", "unobtainable", "reorder")
FAILURE_TONES = frozenset({"busy", "congestion", "unobtainable", "reorder"})
PHASES = ("dial", "answer")


@dataclass(frozen=True, slots=True)
class AnswerEvent:
    """What the far end of a dialled line did, at a sample count of that channel."""

    channel: int
    what: str
    sample: int


class AnswerDetector:
    """Dial tone and answer detection on up to `slots` lines (see the module docstring)."""

    def __init__(self, slots, *, tones=CALL_PROGRESS_TONES["cn"], dial_ms=400, voice_ms=300,
                 min_level_dbm0=-45.0, tone_share=0.98, gap_ms=100, silence_ms=10000):
        if slots < 1:
            raise ValueError(f"AnswerDetector: slots={slots}; expected at least 1")
        if "dial" not in tones:
            raise ValueError(f"AnswerDetector: the tone table {sorted(tones)} has no 'dial' "
                             "tone; give a country's table from CALL_PROGRESS_TONES")
        self.slots = slots
        self._answer_tones = [t for t in ANSWER_TONES if t in tones]
        self._progress = CallProgressRx(slots, tones=tones, detect=[],
                                        continuous_ms=dial_ms)
        self._channel = np.full(slots, -1, dtype=np.intp)  # board channel per slot, -1 free
        self._slot: dict[int, int] = {}
        self._phase = [""] * slots
        self._frames = np.zeros(slots, np.int64)  # frames since watch
        self._run = np.zeros(slots, np.int64)  # voice frames in the current run
        self._gap = np.zeros(slots, np.int64)  # frames since the last voice frame
        self._quiet = np.zeros(slots, np.int64)  # frames since the last sound
        self._said: list[set[str]] = [set() for _ in range(slots)]
        self._min_power = (DBM0_RMS * 10 ** (min_level_dbm0 / 20)) ** 2
        self._tone_share = tone_share
        self._voice_frames = max(1, round(voice_ms / 20))
        self._gap_frames = max(0, round(gap_ms / 20))
        self._silence_frames = max(1, round(silence_ms / 20))
        self._window = np.hanning(FRAME)

    def watch(self, channel, phase):
        """Listen to board `channel` from now on, in `phase` "dial" or "answer"."""
        if phase not in PHASES:
            raise ValueError(f"AnswerDetector.watch: phase {phase!r}; expected one of {PHASES}")
        slot = self._slot.get(channel)
        if slot is None:
            free = np.flatnonzero(self._channel < 0)
            if not free.size:
                raise ValueError(
                    f"AnswerDetector.watch: channel {channel}: all {self.slots} slots are "
                    f"watching channels {sorted(self._slot)}; forget one first or make the "
                    "detector with more slots"
                )
            slot = int(free[0])
            self._slot[channel] = slot
            self._channel[slot] = channel
        self._phase[slot] = phase
        self._progress.reset(slot)
        self._progress.set_detect(slot, ["dial"] if phase == "dial" else self._answer_tones)
        self._frames[slot] = self._run[slot] = self._gap[slot] = self._quiet[slot] = 0
        self._said[slot] = set()

    def forget(self, channel):
        """Stop listening to `channel` (no effect if it was not watched)."""
        slot = self._slot.pop(channel, None)
        if slot is not None:
            self._channel[slot] = -1
            self._phase[slot] = ""
            self._progress.set_detect(slot, [])

    @property
    def watching(self):
        """The channels watched now."""
        return frozenset(self._slot)

    def process(self, block):
        """Analyse one receive block int16[channels, n]; return the AnswerEvents it completed."""
        if not isinstance(block, np.ndarray) or block.dtype != np.int16 or block.ndim != 2:
            raise TypeError("AnswerDetector.process: block must be an int16 array [channels, n]")
        n = block.shape[1]
        if n % FRAME or (self._slot and max(self._slot) >= block.shape[0]):
            raise ValueError(
                f"AnswerDetector.process: block has shape {block.shape}; expected n a multiple "
                f"of {FRAME} and a row for every watched channel {sorted(self._slot)}"
            )
        if not self._slot:
            return []
        used = np.flatnonzero(self._channel >= 0)
        rows = np.zeros((self.slots, n), np.int16)
        rows[used] = block[self._channel[used]]
        events = [AnswerEvent(int(self._channel[e.channel]), e.tone, e.sample)
                  for e in self._progress.process(rows)
                  if self._channel[e.channel] >= 0 and self._first(e.channel, e.tone)]
        listening = np.array([s for s in used if self._phase[s] == "answer"], np.intp)
        for f in range(n // FRAME):
            self._frames[used] += 1
            if listening.size:
                events += self._voice(listening, rows[listening, f * FRAME:(f + 1) * FRAME])
        return events

    def _first(self, slot, what):
        said = self._said[slot]
        if what in said:
            return False
        said.add(what)
        return True

    def _voice(self, slots, frames):
        x = frames.astype(np.float64)
        power = np.einsum("ij,ij->i", x, x) / FRAME
        spectrum = np.abs(np.fft.rfft(x * self._window, axis=1)) ** 2
        total = spectrum.sum(axis=1)
        top = -np.partition(-spectrum, TOP_BINS - 1, axis=1)[:, :TOP_BINS].sum(axis=1)
        sound = power >= self._min_power
        voice = sound & (top < self._tone_share * np.maximum(total, 1e-12))
        gap = np.where(voice, 0, self._gap[slots] + 1)
        run = np.where(voice, self._run[slots] + 1,
                       np.where(sound | (gap > self._gap_frames), 0, self._run[slots]))
        self._gap[slots], self._run[slots] = gap, run
        self._quiet[slots] = np.where(sound, 0, self._quiet[slots] + 1)
        events = []
        for slot in slots[run >= self._voice_frames]:
            if self._first(slot, "voice"):
                events.append(self._event(slot, "voice"))
        for slot in slots[self._quiet[slots] >= self._silence_frames]:
            if self._first(slot, "silence"):
                events.append(self._event(slot, "silence"))
        return events

    def _event(self, slot, what):
        return AnswerEvent(int(self._channel[slot]), what, int(self._frames[slot]) * FRAME)
