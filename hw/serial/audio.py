"""Audio over the board link: receive jitter buffers with concealment, transmit framing.

Receive (``RxAudio``). Each port's ``Audio`` frames (20 ms of A-law, with the port's 16-bit
audio seq) go into a small jitter buffer; ``play()`` takes one frame of every port per 20 ms
tick and returns the block the media loop reads.

- A port's buffer starts playing once ``depth`` frames (2: 20 ms of cushion) are in it, at the
  oldest; it never holds more than ``max_depth`` (3): a frame further ahead than that means
  the board's clock ran ahead of the host's, and the oldest frames are skipped (counted
  ``audio_overflow``) so the delay stays bounded.
- A frame whose turn has passed arrives late: dropped, counted ``audio_late``; a repeat of one
  still buffered is counted ``audio_duplicate``.
- A frame missing at its turn is concealed and counted ``audio_lost``: the first missing frame
  repeats the last good one fading from full to half level, the second repeats it fading from
  half to nothing, then silence (A-law idle). After ``UNPRIME_FRAMES`` missing frames in a row
  the stream is taken as stopped: the buffer waits to fill again.
- ``stop(port)`` (the port went quiet on purpose: on hook, out of service) empties the buffer
  without counting anything. A port that never started plays silence.

Transmit (``TxAudio``): ``frames(block, ports)`` encodes the whole block to A-law in one call
and returns an ``Audio`` message for each listed port, numbering each port's frames.

Per tick there is Python per port, never per sample: decoding, fading and encoding are NumPy /
compiled G.711 over the whole block.
"""

import numpy as np

from branchline.dsp import ALAW_IDLE, alaw_decode, alaw_encode
from branchline.hw.ports import BLOCK_SAMPLES
from branchline.hw.protocol.endpoint import Audio

__all__ = ["AUDIO_COUNTERS", "UNPRIME_FRAMES", "RxAudio", "TxAudio"]

AUDIO_COUNTERS = ("audio_in", "audio_lost", "audio_late", "audio_duplicate", "audio_overflow")
UNPRIME_FRAMES = 10
# The fades of the first and second concealed frame (then silence).
_FADES = (np.linspace(1.0, 0.5, BLOCK_SAMPLES), np.linspace(0.5, 0.0, BLOCK_SAMPLES))
_HALF = 0x8000


class RxAudio:
    """Jitter buffers for `channels` ports (see the module docstring)."""

    def __init__(self, channels, *, depth=2, max_depth=3):
        if not 1 <= depth <= max_depth:
            raise ValueError(f"RxAudio: depth={depth}, max_depth={max_depth}; expected "
                             "1 <= depth <= max_depth")
        self._depth = depth
        self._max_depth = max_depth
        self._frames = [{} for _ in range(channels)]
        self._next = [None] * channels  # the seq to play next; None: waiting to fill
        self._missing = [0] * channels  # frames concealed in a row
        self._last = np.full((channels, BLOCK_SAMPLES), ALAW_IDLE, np.uint8)
        self._codes = np.empty((channels, BLOCK_SAMPLES), np.uint8)
        self.counters = dict.fromkeys(AUDIO_COUNTERS, 0)

    def push(self, port, seq, samples):
        """A received Audio frame's content for `port`."""
        self.counters["audio_in"] += 1
        frames = self._frames[port]
        playing = self._next[port]
        if playing is not None:
            ahead = (seq - playing) & 0xFFFF
            if ahead >= _HALF:
                self.counters["audio_late"] += 1
                return
            if ahead >= self._max_depth:
                skip = ahead - self._max_depth + 1
                for _ in range(skip):
                    if frames.pop(playing, None) is not None:
                        self.counters["audio_overflow"] += 1
                    playing = (playing + 1) & 0xFFFF
                self._next[port] = playing
        if seq in frames:
            self.counters["audio_duplicate"] += 1
            return
        frames[seq] = samples
        if playing is None and len(frames) >= self._depth:
            self._next[port] = min(frames, key=lambda s: (s - seq + _HALF) & 0xFFFF)
            self._missing[port] = 0

    def play(self):
        """The next 20 ms of every port: a new int16[channels, 160]."""
        codes = self._codes
        fades = []
        for port, frames in enumerate(self._frames):
            playing = self._next[port]
            if playing is None:
                codes[port] = ALAW_IDLE
                continue
            self._next[port] = (playing + 1) & 0xFFFF
            frame = frames.pop(playing, None)
            if frame is not None:
                codes[port] = np.frombuffer(frame, np.uint8)
                self._last[port] = codes[port]
                self._missing[port] = 0
                continue
            self.counters["audio_lost"] += 1
            missing = self._missing[port] = self._missing[port] + 1
            if missing <= len(_FADES):
                codes[port] = self._last[port]
                fades.append((port, _FADES[missing - 1]))
            else:
                codes[port] = ALAW_IDLE
                if missing >= UNPRIME_FRAMES:
                    self._next[port] = None
        block = alaw_decode(codes)
        for port, fade in fades:
            block[port] = np.rint(block[port] * fade).astype(np.int16)
        return block

    def stop(self, port):
        """The port's audio stopped on purpose: empty its buffer, count nothing."""
        self._frames[port].clear()
        self._next[port] = None
        self._missing[port] = 0
        self._last[port] = ALAW_IDLE


class TxAudio:
    """Transmit framing for `channels` ports: A-law and each port's audio seq."""

    def __init__(self, channels):
        self._seq = [0] * channels
        self._codes = np.empty((channels, BLOCK_SAMPLES), np.uint8)

    def frames(self, block, ports):
        """Audio messages carrying `block` (int16[channels, 160]) for each port in `ports`."""
        alaw_encode(block, out=self._codes)
        out = []
        for port in ports:
            out.append(Audio(port, self._seq[port], self._codes[port].tobytes()))
            self._seq[port] = (self._seq[port] + 1) & 0xFFFF
        return out
