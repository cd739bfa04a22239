"""Plain NumPy references for the G.711, tone, call-progress and renderer kernels (tests only).

Each function computes, sample by sample or frame by frame with NumPy, what the matching
Cython kernel must produce, written from the definitions rather than from the kernels.
"""

import numpy as np

RATE = 8000
DBM0_PEAK = 32768 * 10 ** (-3.14 / 20)
DBM0_RMS = DBM0_PEAK / np.sqrt(2)


# -- G.711 ------------------------------------------------------------------------------------

def alaw_encode(x):
    """ITU-T G.711 A-law of int16 samples, from the 13-bit segment table."""
    v = np.asarray(x, dtype=np.int32) >> 3
    positive = v >= 0
    mag = np.where(positive, v, -v - 1)
    seg = np.searchsorted(np.array([(0x20 << k) - 1 for k in range(8)]), mag)  # first end >= mag
    shift = np.where(seg < 2, 1, seg)
    code = np.where(seg >= 8, 0x7F, (np.minimum(seg, 7) << 4) | ((mag >> shift) & 0x0F))
    return (code ^ np.where(positive, 0xD5, 0x55)).astype(np.uint8)


def ulaw_encode(x):
    """ITU-T G.711 u-law of int16 samples, from the 14-bit biased segment table."""
    v = np.asarray(x, dtype=np.int32) >> 2
    positive = v >= 0
    mag = np.minimum(np.abs(v), 8159) + 33
    seg = np.searchsorted(np.array([(0x40 << k) - 1 for k in range(8)]), mag)
    code = np.where(seg >= 8, 0x7F, (np.minimum(seg, 7) << 4) | ((mag >> (seg + 1)) & 0x0F))
    return (code ^ np.where(positive, 0xFF, 0x7F)).astype(np.uint8)


def alaw_decode(c):
    a = np.asarray(c, dtype=np.int32) ^ 0x55
    seg = (a >> 4) & 7
    quant = a & 0x0F
    mag = np.where(seg == 0, (quant << 4) + 8, ((quant << 4) + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, mag, -mag).astype(np.int16)


def ulaw_decode(c):
    u = ~np.asarray(c, dtype=np.int32) & 0xFF
    mag = (((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 7)
    return np.where(u & 0x80, 0x84 - mag, mag - 0x84).astype(np.int16)


# -- tones ------------------------------------------------------------------------------------

def peak(level_dbm0):
    return DBM0_PEAK * 10 ** (level_dbm0 / 20)


def rms_dbm0(x):
    """Level of x in dBm0 (RMS against a 0 dBm0 sine)."""
    rms = np.sqrt(np.mean(np.asarray(x, dtype=np.float64) ** 2))
    return 20 * np.log10(rms / DBM0_RMS)


def render_segments(segments, loop, n, rate=RATE):
    """Render n samples of a segment program.

    segments: [(f1, f2, amp1, amp2, length_samples)]; after the last, jump to `loop` or end
    (-1, the rest is zeros). Two 32-bit phase accumulators advance only while a segment sounds.
    """
    out = np.zeros(n, dtype=np.int16)
    ph = np.zeros(2, dtype=np.uint64)
    t, k = 0, 0
    while t < n:
        if k == len(segments):
            if loop < 0:
                break
            k = loop
        f1, f2, a1, a2, length = segments[k]
        run = min(length, n - t)
        if a1 or a2:
            steps = np.arange(run, dtype=np.uint64)
            v = np.zeros(run)
            for j, (f, a) in enumerate(((f1, a1), (f2, a2))):
                inc = np.uint64(round(f / rate * 2**32) % 2**32)
                phase = (ph[j] + steps * inc) & np.uint64(0xFFFFFFFF)
                v += a * np.sin(phase * (2 * np.pi / 2**32))
                ph[j] = (ph[j] + np.uint64(run) * inc) & np.uint64(0xFFFFFFFF)
            out[t:t + run] = np.clip(np.rint(v), -32768, 32767)
        t += run
        k += 1
    return out


def spec_segments(spec, rate=RATE, level_dbm0=None):
    amp = peak(spec.level_dbm0 if level_dbm0 is None else level_dbm0)
    f = (*spec.frequencies, 0.0)[:2]
    a2 = amp if len(spec.frequencies) == 2 else 0.0
    if not spec.cadence:
        return [(f[0], f[1], amp, a2, 10**12)]
    return [
        (f[0], f[1], *((amp, a2) if i % 2 == 0 else (0.0, 0.0)), round(ms * rate / 1000))
        for i, ms in enumerate(spec.cadence)
    ]


ROWS = (697.0, 770.0, 852.0, 941.0)
COLS = (1209.0, 1336.0, 1477.0, 1633.0)
KEYPAD = ("123A", "456B", "789C", "*0#D")


def dtmf_segments(digits, level_dbm0=-10.0, twist_db=0.0, on_ms=80, off_ms=80, rate=RATE):
    segs = []
    for d in digits.upper():
        r = next(i for i, row in enumerate(KEYPAD) if d in row)
        c = KEYPAD[r].index(d)
        segs.append((ROWS[r], COLS[c], peak(level_dbm0), peak(level_dbm0 - twist_db),
                     round(on_ms * rate / 1000)))
        if off_ms:
            segs.append((0.0, 0.0, 0.0, 0.0, round(off_ms * rate / 1000)))
    return segs


def cadence_signal(frequencies, level_dbm0, cadence_ms, total_ms, *, rng=None, jitter=0.0,
                   lead_ms=0, rate=RATE):
    """A gated tone: on/off durations from cadence_ms (repeating), each scaled by a random
    factor in [1 - jitter, 1 + jitter]; lead_ms of silence first. Returns (samples, start)."""
    n = round(total_ms * rate / 1000)
    t = np.arange(n) / rate
    phase0 = 0.0 if rng is None else rng.uniform(0, 2 * np.pi)
    tone = sum(peak(level_dbm0) * np.sin(2 * np.pi * f * t + phase0) for f in frequencies)
    gate = np.zeros(n, dtype=bool)
    pos, k = round(lead_ms * rate / 1000), 0
    while pos < n:
        scale = 1.0 if rng is None else rng.uniform(1 - jitter, 1 + jitter)
        length = round(cadence_ms[k % len(cadence_ms)] * scale * rate / 1000)
        if k % 2 == 0:
            gate[pos:pos + length] = True
        pos += length
        k += 1
    return np.where(gate, tone, 0.0), round(lead_ms * rate / 1000)


def add_noise(x, tone_level_dbm0, snr_db, rng):
    """x plus white Gaussian noise snr_db below a tone_level_dbm0 sine, saturated to int16."""
    sigma = DBM0_RMS * 10 ** ((tone_level_dbm0 - snr_db) / 20)
    noisy = np.asarray(x, dtype=np.float64) + rng.normal(0, sigma, len(x))
    return np.clip(np.rint(noisy), -32768, 32767).astype(np.int16)


def feed_in_blocks(process, x, sizes):
    """Call process(block[1, n]) over x cut into blocks whose sizes cycle through `sizes`."""
    results, pos, k = [], 0, 0
    while pos < x.shape[-1]:
        n = sizes[k % len(sizes)]
        results.append(process(np.ascontiguousarray(x[..., pos:pos + n])))
        pos += n
        k += 1
    return results


# -- transmit-block renderer ------------------------------------------------------------------

def apply_gain(x, gain_db):
    """Q12 gain with rounding, saturated to int16 (what TxRenderer promises)."""
    q = round(4096 * 10 ** (gain_db / 20))
    return np.clip((np.asarray(x, dtype=np.int64) * q + 2048) >> 12, -32768, 32767)


class RendererModel:
    """What TxRenderer must do, channel by channel, in plain Python and NumPy."""

    def __init__(self, channels):
        self.state = [("silence",)] * channels

    def play(self, channel, prompts, offset=0, gain_db=0.0):
        joined = np.concatenate([np.asarray(p, dtype=np.int16) for p in prompts])
        start = offset
        self.state[channel] = ("prompt", joined, start, gain_db)

    def stop(self, channel):
        self.state[channel] = ("silence",)

    def render(self, n):
        out = np.zeros((len(self.state), n), dtype=np.int16)
        finished = []
        for c, state in enumerate(self.state):
            if state[0] == "prompt":
                _, joined, pos, gain = state
                part = joined[pos:pos + out.shape[1]]
                out[c, :len(part)] = apply_gain(part, gain)
                if pos + out.shape[1] >= len(joined):
                    finished.append(c)
                    self.state[c] = ("silence",)
                else:
                    self.state[c] = ("prompt", joined, pos + out.shape[1], gain)
        return out, finished


# -- call-progress detector -------------------------------------------------------------------

def cpt_reference(x, tones, detect, *, frame=200, rate=RATE, tolerance=0.15, slack_ms=40.0,
                  min_level_dbm0=-45.0, on_ratio=0.5, part_ratio=0.1, steady_db=6.0,
                  continuous_ms=3000, probes=(-20.0, 0.0, 20.0)):
    """[(tone, sample)] the call-progress detector must report for one channel's samples x."""
    specs = list(tones.values())
    frames = len(x) // frame
    blocks = np.asarray(x[: frames * frame], dtype=np.float64).reshape(frames, frame)
    total = np.mean(blocks**2, axis=1)
    n = np.arange(frame)

    all_freqs = sorted({f for s in specs for f in s.frequencies})

    def power(f):  # |DFT at f|^2 scaled so that a sine of amplitude A gives A^2 / 2,
        # the best of the probes around f that are nearer f than any other table frequency
        near = [f + d for d in probes
                if all(abs(d) < abs(f + d - g) for g in all_freqs if g != f)]
        return np.max([np.abs(blocks @ np.exp(-2j * np.pi * p * n / rate)) ** 2
                       for p in near], axis=0) * 2 / frame**2

    freq_power = {f: power(f) for f in {f for s in specs for f in s.frequencies}}
    groups = sorted({tuple(sorted(s.frequencies)) for s in specs},
                    key=lambda g: sum(1 << sorted(freq_power).index(f) for f in g))
    ratio = np.zeros((len(groups), frames))
    for g, group in enumerate(groups):
        parts = np.all([freq_power[f] >= part_ratio * total for f in group], axis=0)
        summed = sum(freq_power[f] for f in group)
        ok = parts & (summed >= on_ratio * total)
        ratio[g] = np.where(ok, summed, 0.0)
    loud = total >= (DBM0_RMS * 10 ** (min_level_dbm0 / 20)) ** 2
    cls = np.where(loud & (ratio.max(axis=0) > 0), ratio.argmax(axis=0) + 1, 0)
    tone_power = np.where(cls > 0, ratio.max(axis=0), 0.0)
    tone_cls = [groups.index(tuple(sorted(s.frequencies))) + 1 for s in specs]
    frame_ms = frame * 1000 / rate
    bounds = [[(np.ceil((ms * (1 - tolerance) - slack_ms) / frame_ms),
                np.floor((ms * (1 + tolerance) + slack_ms) / frame_ms)) for ms in s.cadence]
              for s in specs]
    continuous_frames = max(1, round(continuous_ms / frame_ms))

    events, history, detected = [], [], [False] * len(specs)

    def finish_segment(c, length, powers, end_frame):
        inner = powers[:-1]  # the first frame is left out by the caller, the last one here
        steady = c == 0 or not inner or max(inner) <= min(inner) * 10 ** (steady_db / 10)
        history.append((c, length, steady))
        for j, s in enumerate(specs):
            if not s.cadence or s.name not in detect:
                continue
            need = max(4, len(s.cadence))
            window = history[-need:]
            match = len(history) >= need and any(
                all(
                    ((seg[0] == tone_cls[j] and seg[2]) if (r + k) % len(s.cadence) % 2 == 0
                     else seg[0] != tone_cls[j])
                    and bounds[j][(r + k) % len(s.cadence)][0] <= seg[1]
                    <= bounds[j][(r + k) % len(s.cadence)][1]
                    for k, seg in enumerate(window)
                )
                for r in range(len(s.cadence))
            )
            if match and not detected[j]:
                events.append((s.name, end_frame * frame))
            detected[j] = match

    # Segments: runs of one class; a different class for a single frame (a glitch) is bridged.
    current, length, powers, held = 0, 0, [], False
    pending, pending_cls = 0, 0
    for i in range(frames):
        k, p = cls[i], tone_power[i]
        if pending == 0:
            if k == current:
                length += 1
                powers.append(p)
            else:
                pending, pending_cls = 1, k
        elif k == pending_cls:
            if length:
                finish_segment(current, length, powers, i + 1)
            current, length, powers, pending, held = k, 2, [p], 0, False
        elif k == current:
            length += 2
            powers.append(p)
            pending = 0
        else:
            length += 1
            pending, pending_cls = 1, k
        if current and not held and length >= continuous_frames:
            held = True
            events += [(s.name, (i + 1) * frame) for j, s in enumerate(specs)
                       if not s.cadence and s.name in detect and current == tone_cls[j]]
    return events


def speech_like(seconds, level_dbm0, rng, rate=RATE):
    """A crude voice: 150 ms syllables of harmonics on a random 90-260 Hz pitch with a falling
    spectrum, about 30 % of them silent, scaled to level_dbm0 RMS over the voiced part."""
    chunk = round(0.15 * rate)
    n = round(seconds * rate)
    out = np.zeros(n)
    t = np.arange(chunk) / rate
    for start in range(0, n, chunk):
        if rng.random() < 0.3:
            continue
        f0 = rng.uniform(90, 260)
        k = np.arange(1, int(3400 // f0) + 1)
        amps = rng.uniform(0.3, 1.0, len(k)) / k
        phases = rng.uniform(0, 2 * np.pi, len(k))
        harmonics = np.sin(2 * np.pi * f0 * k[:, None] * t + phases[:, None])
        syllable = (amps[:, None] * harmonics).sum(axis=0)
        out[start:start + chunk] = syllable[: n - start]
    voiced = out != 0
    rms = np.sqrt(np.mean(out[voiced] ** 2))
    return out * (DBM0_RMS * 10 ** (level_dbm0 / 20) / rms)
