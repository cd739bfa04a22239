"""A plain NumPy DTMF receiver, used only by tests to cross-check the compiled one.

It implements the algorithm docs/dsp.md describes from that description, not from the Cython
code: block spectra by direct correlation with complex exponentials (not the Goertzel
recursion), in float64, and the decision rules as straight Python over one channel.
``detect(signal)`` returns [(digit, start, end)] with end None if the key is still down at the
end of the signal. It also holds the conformance table (ITU-T Q.24 AT&T column, MT8870
tape cases) that both the tests and the benchmark run.
"""

import math
from typing import NamedTuple

import numpy as np
from signals import (
    DTMF_COLUMNS,
    DTMF_DIGITS,
    DTMF_KEYS,
    DTMF_ROWS,
    RATE,
    dtmf,
    dtmf_frequencies,
    offset_hz,
    peak,
    sequence,
    silence,
    to_int16,
    with_noise,
)

BLOCK = 80
HALF = 40
FREQS = np.array(DTMF_ROWS + DTMF_COLUMNS)
MIN_LEVEL_DBM0 = -32.0
DOMINANCE_DB = 3.0
BLOCK_SHARE, ONSET_SHARE = 0.6, 0.9
STEADY_DB = 2.5
BLOCK_TWIST_MARGIN_DB, ONSET_TWIST_MARGIN_DB = 3.0, 0.5
ENDING_BLOCKS = 3

_n = np.arange(BLOCK)
_BASIS = np.exp(-2j * np.pi * np.outer(_n, FREQS) / RATE)  # [sample, filter]
_MIN_POWER = (peak(MIN_LEVEL_DBM0) * BLOCK / 2) ** 2


def _fine_tolerance(freq):
    # Midway between the must-accept (1.5 % + 2 Hz) and must-reject (3.5 %) offsets.
    return 0.025 * freq + 1.0


def _tones_pass(powers, energy, normal_db, reverse_db, margin_db, share):
    """Level, twist and tone-to-total energy of an offset-corrected (row, col) power pair."""
    if min(powers) < _MIN_POWER:
        return False
    twist = 10 * math.log10(powers[0] / powers[1])
    if twist > normal_db + margin_db or -twist > reverse_db + margin_db:
        return False
    return 2 * (powers[0] + powers[1]) >= share * BLOCK * energy


def _classify(spectrum, energy, normal_db, reverse_db):
    """(digit index, (row filter, col filter)) a block looks like, or None (the loose test)."""
    p = np.abs(spectrum) ** 2
    r = int(np.argmax(p[:4]))
    c = 4 + int(np.argmax(p[4:]))
    dominance = 10 ** (DOMINANCE_DB / 10)
    for k, group in ((r, range(4)), (c, range(4, 8))):
        if p[k] <= 0 or any(p[j] * dominance > p[k] for j in group if j != k):
            return None
    if not _tones_pass((p[r], p[c]), energy, normal_db, reverse_db, BLOCK_TWIST_MARGIN_DB,
                       BLOCK_SHARE):
        return None
    return r * 4 + (c - 4), (r, c)


def _kernel(delta):
    """Sum of exp(j*delta*n) over one block: how a tone delta rad/sample off a bin leaks in."""
    if abs(delta) < 1e-12:
        return complex(BLOCK)
    return np.exp(0.5j * delta * (BLOCK - 1)) * math.sin(BLOCK * delta / 2) / math.sin(delta / 2)


def _tone_powers(spectra, pair, offsets):
    """Powers of the two tones in each block, solved from both bins with the images included.

    Each bin holds both tones and both images, leaked through the block's kernel; with the
    tone frequencies known, the two complex amplitudes are a 2x2 linear solve, repeated once
    after taking out the images estimated by the first pass. Powers are in the units of a
    bin's power: a tone right on the bin gives |X|**2 = |amplitude * BLOCK|**2.
    """
    omega = [2 * np.pi * (FREQS[k] + df) / RATE for k, df in zip(pair, offsets, strict=True)]
    bins = [2 * np.pi * FREQS[k] / RATE for k in pair]
    m = [[_kernel(w - b) for w in omega] for b in bins]
    image = [[_kernel(-w - b) for w in omega] for b in bins]
    det = m[0][0] * m[1][1] - m[0][1] * m[1][0]
    powers = []
    for spectrum in spectra:
        amps = [0j, 0j]
        for _ in range(2):
            y = [spectrum[k] - sum(image[i][t] * np.conj(amps[t]) for t in range(2))
                 for i, k in enumerate(pair)]
            amps = [(y[0] * m[1][1] - y[1] * m[0][1]) / det,
                    (y[1] * m[0][0] - y[0] * m[1][0]) / det]
        powers.append([abs(a * BLOCK) ** 2 for a in amps])
    return np.array(powers)


def _onset_passes(now, spectra, half, b, energies, normal_db, reverse_db):
    """The strict test on the last three blocks, all classified alike.

    Each tone's frequency comes from its phase advance over the two block steps (unambiguous
    within +-RATE / BLOCK / 2); the advance between the two halves of the last block, coarser
    but unambiguous twice as far, picks the right turn. With the frequencies known, both
    tones' powers are solved in each block: they must be steady (a block the tone only partly
    covered is not), within level and twist, and hold most of the energy.
    """
    _, pair = now
    step = RATE / BLOCK
    offsets = []
    for k in pair:
        first, second = half[k], spectra[b, k] - half[k]
        rough = np.angle(second * np.conj(first)) * RATE / (2 * np.pi * HALF)
        back = np.exp(-2j * np.pi * FREQS[k] * BLOCK / RATE)
        turn = (spectra[b, k] * np.conj(spectra[b - 1, k])
                + spectra[b - 1, k] * np.conj(spectra[b - 2, k])) * back
        fine = np.angle(turn) * step / (2 * np.pi)
        df = fine + round((rough - fine) / step) * step
        if abs(df) > _fine_tolerance(FREQS[k]):
            return False
        offsets.append(df)
    powers = _tone_powers(spectra[b - 2 : b + 1], pair, offsets)
    steady = 10 ** (STEADY_DB / 10)
    if np.any(powers.max(axis=0) > steady * powers.min(axis=0)):
        return False
    return _tones_pass(powers.mean(axis=0), energies[b - 2 : b + 1].mean(), normal_db,
                       reverse_db, ONSET_TWIST_MARGIN_DB, ONSET_SHARE)


def _round(v):
    return math.floor(v + 0.5)


def _fill(part, full):
    """Fraction of a block a tone covered, from its power relative to a full block's."""
    return min(1.0, math.sqrt(part / full)) if full > 0 else 0.0


def detect(signal, normal_twist_db=8.0, reverse_twist_db=4.0):
    """Digits in a 1-D signal: [(digit, start, end or None)]."""
    x = np.asarray(signal, dtype=np.float64)
    blocks = x[: len(x) // BLOCK * BLOCK].reshape(-1, BLOCK)
    spectra = blocks @ _BASIS
    halves = blocks[:, :HALF] @ _BASIS[:HALF]
    energies = np.sum(blocks**2, axis=1)
    powers = np.abs(spectra) ** 2
    found = []
    run_digit, run_length, run_first = None, 0, 0  # blocks classified alike, in a row
    held = None  # dict for the key being held
    for b in range(len(blocks)):
        at = b * BLOCK
        now = _classify(spectra[b], energies[b], normal_twist_db, reverse_twist_db)
        digit = None if now is None else now[0]
        if digit is not None and digit == run_digit:
            run_length += 1
        else:
            run_digit, run_length, run_first = digit, 1, b
        if held is not None:
            r, c = held["filters"]
            level = powers[b, r] + powers[b, c]
            if digit == held["digit"]:
                held["last"], held["misses"] = level, 0
            else:
                if held["misses"] == 0:
                    cover = _fill(held["last"], held["ref"]) + _fill(level, held["ref"])
                    held["end"] = at - BLOCK + _round(cover * BLOCK)
                held["misses"] += 1
        starts = (
            run_length >= 3 and (held is None or held["digit"] != digit)
            and _onset_passes(now, spectra, halves[b], b, energies, normal_twist_db,
                              reverse_twist_db)
        )
        if held is not None and (held["misses"] >= ENDING_BLOCKS or starts):
            found[held["index"]] = (*found[held["index"]][:2], held["end"])
            held = None
        if starts:
            r, c = now[1]
            ref = powers[b, r] + powers[b, c]
            first = run_first * BLOCK
            before = powers[run_first - 1, r] + powers[run_first - 1, c] if run_first else 0.0
            cover = _fill(powers[run_first, r] + powers[run_first, c], ref) + _fill(before, ref)
            found.append((DTMF_KEYS[r][c - 4], max(first + _round((1 - cover) * BLOCK), 0), None))
            held = {"digit": digit, "filters": (r, c), "index": len(found) - 1, "ref": ref,
                    "last": ref, "misses": 0, "end": None}
    return found


# -- the conformance table --------------------------------------------------------------------

class Case(NamedTuple):
    """One key of `seconds`, made by ``signals.dtmf(digit, seconds, **tone)``, with white noise
    `snr_db` below it if given; `detect` says whether a receiver must report it."""

    group: str
    name: str
    digit: str
    seconds: float
    tone: dict
    detect: bool
    snr_db: float | None = None


def _frequency_cases():
    cases = []
    for digit in DTMF_DIGITS:
        row, col = dtmf_frequencies(digit)
        for rs, cs in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
            # MT8870: accept within +-(1.5 % + 2 Hz) (ITU-T Q.24 AT&T: +-1.5 %).
            tone = dict(row_offset_hz=offset_hz(row, 1.5 * rs, 2.0),
                        col_offset_hz=offset_hz(col, 1.5 * cs, 2.0))
            cases.append(Case("offset accept", f"{digit} row {rs * 1.5:+.1f}%{rs * 2:+d}Hz "
                              f"col {cs * 1.5:+.1f}%{cs * 2:+d}Hz", digit, 0.06, tone, True))
        for which, freq in (("row", row), ("col", col)):
            for sign in (1, -1):
                # ITU-T Q.24 AT&T and MT8870: must not operate 3.5 % off.
                tone = {f"{which}_offset_hz": offset_hz(freq, 3.5 * sign)}
                cases.append(Case("offset reject", f"{digit} {which} {sign * 3.5:+.1f}%", digit,
                                  0.1, tone, False))
    return cases


def _other_cases():
    cases = []
    for digit in DTMF_DIGITS:
        cases += [
            Case("twist", f"{digit} normal 8 dB", digit, 0.06,
                 dict(level_dbm0=-6.0, twist_db=8.0), True),
            Case("twist", f"{digit} normal 9.5 dB", digit, 0.1,
                 dict(level_dbm0=-6.0, twist_db=9.5), False),
            Case("twist", f"{digit} reverse 4 dB", digit, 0.06,
                 dict(level_dbm0=-12.0, twist_db=-4.0), True),
            Case("twist", f"{digit} reverse 5.5 dB", digit, 0.1,
                 dict(level_dbm0=-12.0, twist_db=-5.5), False),
            Case("duration", f"{digit} 40 ms", digit, 0.040, {}, True),
            Case("duration", f"{digit} 23 ms", digit, 0.023, {}, False),
            Case("level", f"{digit} +1 dBm0 per tone", digit, 0.06, dict(level_dbm0=1.0), True),
            Case("level", f"{digit} -28 dBm0 per tone", digit, 0.06, dict(level_dbm0=-28.0),
                 True),
            Case("noise", f"{digit} 15 dB SNR", digit, 0.06, {}, True, snr_db=15.0),
        ]
    return cases


# ITU-T Q.24 table 1 (AT&T column) and the Mitel MT8870 data sheet's test conditions, at
# -10 dBm0 per tone unless a case says otherwise.
CONFORMANCE = _frequency_cases() + _other_cases()


def case_signal(case, lead_seconds, rng):
    """The case's key after `lead_seconds` of silence, then 100 ms of silence, as int16.

    The two tones start at random phases; noise, if any, is measured against the key alone.
    """
    tone = dtmf(case.digit, case.seconds, phases=tuple(rng.uniform(0, 2 * np.pi, 2)),
                **case.tone)
    if case.snr_db is not None:
        tone = with_noise(tone, case.snr_db, rng)
    return to_int16(sequence([silence(lead_seconds), tone, silence(0.1)]))
