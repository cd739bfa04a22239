"""DSP self-check: generate a DTMF sequence on every channel of a block and detect it back.

Branch IT runs it (``branchline selfcheck``) to see that the compiled kernels load and agree
with each other on this machine before any line is connected.
"""

from dataclasses import dataclass

import numpy as np

from branchline import dsp

DIGITS = "0123456789*#ABCD"
FRAME = 160


@dataclass(frozen=True, slots=True)
class SelfCheckResult:
    channels: int
    sent: str
    heard: tuple[str, ...]
    kernels: tuple[str, ...]

    @property
    def ok(self):
        return all(h == self.sent for h in self.heard)


def run_selfcheck(channels=4):
    tone = dsp.dtmf_samples(DIGITS, level_dbm0=-10.0, on_ms=60, off_ms=60)
    tail = FRAME * 10
    length = -(-(len(tone) + tail) // FRAME) * FRAME
    audio = np.zeros((channels, length), dtype=np.int16)
    audio[:, : len(tone)] = tone
    rx = dsp.DtmfRx(channels)
    heard = [[] for _ in range(channels)]
    for start in range(0, length, FRAME):
        block = np.ascontiguousarray(audio[:, start : start + FRAME])
        for event in rx.process(block):
            if event.end is None:
                heard[event.channel].append(event.digit)
    return SelfCheckResult(
        channels=channels,
        sent=DIGITS,
        heard=tuple("".join(h) for h in heard),
        kernels=tuple(sorted(dsp.compiled_kernels())),
    )
