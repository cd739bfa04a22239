"""The compiled DtmfRx against the NumPy reference receiver (tests/support/dtmf_reference.py).

Same audio, same digits; starts and ends may differ by at most 2 samples: the kernel runs its
filters in float32 through the Goertzel recursion, the reference in float64 by direct
correlation, and a start or end is interpolated from block powers, so a last-bit difference
can move it by a sample. Cases are chosen away from decision thresholds.
"""

import numpy as np
import pytest
import signals as s
from dtmf_reference import detect

from branchline.dsp import DtmfRx

TOLERANCE = 2  # samples


def compiled(signal):
    found = {}
    for e in DtmfRx(1).process(signal[None, :].copy()):
        found[(e.digit, e.start)] = e.end
    return [(digit, start, end) for (digit, start), end in found.items()]


def sequences():
    rng = np.random.default_rng(11)
    cases = []
    for i, digits in enumerate(["0123", "4567", "89*#", "ABCD"]):
        for level, twist, snr in [(-5.0, 0.0, None), (-20.0, 6.0, 20.0), (-15.0, -3.0, 18.0)]:
            signal, _ = s.dtmf_sequence(digits, 0.045 + 0.01 * i, 0.05, level_dbm0=level,
                                        twist_db=twist, row_offset_hz=(-1) ** i * 8.0,
                                        col_offset_hz=(-1) ** (i + 1) * 15.0)
            if snr is not None:
                signal = s.with_noise(signal, snr, rng)
            cases.append((f"{digits} {level:+.0f}dBm0 twist {twist:+.0f} snr {snr}", signal))
    held, _ = s.dtmf_sequence("7", 1.5, 0.2)
    cases.append(("held 1.5 s", s.with_noise(held, 25.0, rng)))
    cases.append(("noise", s.white_noise(3.0, -12.0, rng)))
    return cases


@pytest.mark.parametrize(("name", "signal"), sequences(), ids=[n for n, _ in sequences()])
def test_compiled_matches_reference(name, signal):
    x = s.to_int16(signal)
    ours, theirs = compiled(x), detect(x)
    assert [d for d, _, _ in ours] == [d for d, _, _ in theirs]
    for (_, start, end), (_, ref_start, ref_end) in zip(ours, theirs, strict=True):
        assert abs(start - ref_start) <= TOLERANCE
        assert (end is None) == (ref_end is None)
        assert end is None or abs(end - ref_end) <= TOLERANCE
    if name != "noise":
        assert ours, "the case must exercise detection"
