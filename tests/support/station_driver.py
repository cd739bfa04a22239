"""The simulated board with some phones in the test's hands, for call-control tests.

    board = DrivenPhones(sim_board)      # give it to the Appliance instead of the sim board
    board.off_hook(port); board.keys(port, "*111001#"); board.flash(port); board.on_hook(port)
    board.voice(port, 500.0)             # from now on the port sends a 500 Hz tone, nothing else
    board.heard(port)                    # {frequency: amplitude} of each voice in what the
                                         # appliance sent that port in each of the last blocks

Hook events reach the appliance with the next tick; keys are real DTMF audio (80 ms on, 80 ms
off, -10 dBm0) on the port's received audio, one after another. A voice is a sine on an exact
FFT bin of a 160-sample block (a multiple of 50 Hz) at -20 dBm0: a voice heard is there at
its level in every block, so ``heard`` takes the smallest amplitude over the last
``HEARD_BLOCKS`` blocks (music or speech on the line does not hold one bin that long) and
counts a voice from a quarter of its level up. ``rings`` holds the stations the appliance is
ringing now.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from branchline.dsp import DBM0_RMS, dtmf_samples
from branchline.hw.ports import BLOCK_SAMPLES, HookFlash, OffHook, OnHook

VOICE_AMPLITUDE = DBM0_RMS * 10 ** (-20 / 20) * np.sqrt(2)
HEARD_BLOCKS = 8


class DrivenPhones:
    def __init__(self, board):
        self._board = board
        self._events = []
        self._keys: dict[int, np.ndarray] = {}
        self._voices: dict[int, float] = {}
        self._t = 0
        self.rings: set[int] = set()
        self.last = None
        self._sent = deque(maxlen=HEARD_BLOCKS)

    def __getattr__(self, name):
        return getattr(self._board, name)

    # --- the test's hands ---------------------------------------------------------------------

    def off_hook(self, port):
        self._events.append(OffHook(port, self._board.now or 0.0))
        self.rings.discard(port)

    def on_hook(self, port):
        self._events.append(OnHook(port, self._board.now or 0.0))

    def flash(self, port):
        self._events.append(HookFlash(port, self._board.now or 0.0))

    def keys(self, port, digits):
        audio = dtmf_samples(digits, level_dbm0=-10.0, on_ms=80, off_ms=80)
        queued = self._keys.get(port)
        self._keys[port] = audio if queued is None else np.concatenate([queued, audio])

    def keys_sent(self, port):
        return port not in self._keys

    def voice(self, port, hz):
        self._voices[port] = hz

    def silence(self, port):
        """The port sends what the simulated board gives it again (a caller's line: the
        exchange's busy tone once the caller has hung up)."""
        self._voices.pop(port, None)

    def heard(self, port, floor=VOICE_AMPLITUDE / 4):
        """The smallest amplitude of each test voice over the last blocks sent to `port`,
        for the voices above `floor`."""
        rows = np.stack([block[port] for block in self._sent]).astype(np.float64)
        spectrum = (np.abs(np.fft.rfft(rows, axis=1)) * 2 / BLOCK_SAMPLES).min(axis=0)
        found = {}
        for hz in self._voices.values():
            a = spectrum[round(hz * BLOCK_SAMPLES / 8000)]
            if a > floor:
                found[hz] = round(float(a))
        return found

    # --- the Board interface --------------------------------------------------------------

    def tick(self, now):
        events = self._board.tick(now)
        mine, self._events = self._events, []
        return events + [type(e)(e.port, now) for e in mine]

    def read_block(self):
        rx = self._board.read_block().copy()
        t = (self._t + np.arange(BLOCK_SAMPLES)) / 8000.0
        self._t += BLOCK_SAMPLES
        for port, hz in self._voices.items():
            rx[port] = np.rint(VOICE_AMPLITUDE * np.sin(2 * np.pi * hz * t)).astype(np.int16)
        for port, audio in list(self._keys.items()):
            rx[port] = 0
            part = audio[:BLOCK_SAMPLES]
            rx[port, :len(part)] = part
            rest = audio[BLOCK_SAMPLES:]
            if len(rest):
                self._keys[port] = rest
            else:
                del self._keys[port]
        return rx

    def write_block(self, block):
        self.last = block.copy()
        self._sent.append(self.last)
        self._board.write_block(block)

    def ring(self, port, *args, **kwargs):
        self.rings.add(port)
        return self._board.ring(port, *args, **kwargs)

    def stop_ring(self, port):
        self.rings.discard(port)
        return self._board.stop_ring(port)
