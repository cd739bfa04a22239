"""Plain NumPy references for the line kernels (tests only): Bell 202 FSK and the echo canceller.

Written from the definitions (docs/line-dsp.md), not from the Cython: float64 throughout,
correlations and filters computed directly, decisions in plain Python sample by sample.

- ``fsk_signal(message, ...)``: Bell 202 audio with optional frequency and bit-rate errors.
- ``fsk_events(x)``: what the FSK kernel must report, as [(value, gap_bits, sample)].
- ``echo_cancel(rx, tx, taps, mu)``: the NLMS canceller's output for one channel.
- ``erle_db(before, after)``: echo return loss enhancement.
"""

import numpy as np

RATE = 8000
DBM0_PEAK = 32768 * 10 ** (-3.14 / 20)


def bits_of(message, seizure_bits=300, mark_bits=180):
    bits = [i % 2 for i in range(seizure_bits)] + [1] * mark_bits
    for byte in message:
        bits.append(0)
        bits += [(byte >> k) & 1 for k in range(8)]
        bits.append(1)
    return bits


def fsk_signal(message, level_dbm0=-13.0, *, seizure_bits=300, mark_bits=180, scale=1.0,
               phase=0.0):
    """float64 Bell 202 audio; `scale` multiplies both tones and the bit rate (1.01 = +1 %)."""
    bits = bits_of(message, seizure_bits, mark_bits)
    baud = 1200.0 * scale
    n = int(np.ceil(len(bits) * RATE / baud))
    t = np.arange(n)
    which = np.array(bits)[np.minimum((t * baud / RATE).astype(int), len(bits) - 1)]
    freq = np.where(which == 1, 1200.0, 2200.0) * scale
    step = 2 * np.pi * freq / RATE
    return DBM0_PEAK * 10 ** (level_dbm0 / 20) * np.sin(phase + np.cumsum(step) - step[0])


# -- FSK receiver --------------------------------------------------------------------------

WINDOW, HOLD, SMOOTH, RATIO_ON, RATIO_OFF = 7, 16, 1 / 64, 0.75, 0.6


def fsk_events(x, min_level_dbm0=-45.0):
    """[(value, gap_bits, sample)]: bytes (0..255), -1 framing error, -2 carrier lost."""
    x = np.asarray(x, dtype=np.float64)
    n = np.arange(len(x))
    kernel = np.ones(WINDOW)

    def correlate(freq):
        z = x * np.exp(-2j * np.pi * freq * n / RATE)
        return np.convolve(z, kernel)[: len(x)]  # sum over the last WINDOW samples

    em = np.abs(correlate(1200.0)) ** 2
    es = np.abs(correlate(2200.0)) ** 2
    d = em - es
    tone = 2 * (em + es) / WINDOW**2
    total = np.convolve(x * x, kernel)[: len(x)] / WINDOW
    min_power = (DBM0_PEAK * 10 ** (min_level_dbm0 / 20)) ** 2 / 2
    spb = RATE / 1200
    events = []
    tp = tt = 0.0
    carrier = pending = 0
    prev_d = 0.0
    in_byte = False
    bit = value = gap = 0
    next_at = idle_from = 0.0
    for i in range(len(x)):
        tp += SMOOTH * (tone[i] - tp)
        tt += SMOOTH * (total[i] - tt)
        if carrier:
            want = tp >= RATIO_OFF * tt and tt >= 0.5 * min_power
        else:
            want = tp >= RATIO_ON * tt and tt >= min_power
        if want != carrier:
            pending += 1
            if pending >= HOLD:
                pending, carrier, in_byte = 0, want, False
                if want:
                    idle_from = float(i)
                else:
                    events.append((-2, 0, i + 1))
        else:
            pending = 0
        if carrier:
            if not in_byte:
                if prev_d >= 0 > d[i]:
                    edge = i - 1 + prev_d / (prev_d - d[i])
                    in_byte, bit, value = True, 0, 0
                    next_at = edge + spb / 2
                    gap = max(0, int((edge - idle_from) / spb + 0.5))
            elif i >= next_at - 0.5:
                if bit == 0:
                    in_byte = d[i] < 0
                elif bit <= 8:
                    value |= (d[i] >= 0) << (bit - 1)
                else:
                    in_byte = False
                    if d[i] >= 0:
                        events.append((value, gap, i + 1))
                        idle_from = next_at + spb / 2
                    else:
                        events.append((-1, gap, i + 1))
                        idle_from = float(i)
                bit += 1
                next_at += spb
        prev_d = d[i]
    return events


# -- echo canceller ------------------------------------------------------------------------

FRAME, SEG, HANGOVER, FREEZE_FRAMES = 80, 16, 240, 4
GEIGEL, TX_TONE_DB, DTMF_SHARE = 0.5, 40.0, 0.6
TRANSFER_FRAMES, RESTORE_FRAMES, BETTER, CANCELS, WORSE, GOOD = 2, 2, 0.5, 0.5, 8.0, 0.25
MIN_TX_POWER, MIN_E_TONE_POWER = 130.0, 2.6e4
DTMF_HZ = (697.0, 770.0, 852.0, 941.0, 1209.0, 1336.0, 1477.0, 1633.0)


def prediction_gain_db(frame, before):
    """10 log10(energy / residual) of the order-4 least-squares predictor of `frame`, whose
    predictions may use the 4 samples `before` it (covariance method)."""
    x = np.concatenate([before, frame]).astype(np.float64)
    y = x[4:]
    rows = np.stack([x[4 - k : len(x) - k] for k in range(1, 5)], axis=1)
    energy = y @ y
    if energy <= 0:
        return 0.0
    normal = rows.T @ rows + 1e-6 * energy * np.eye(4)
    a = np.linalg.solve(normal, rows.T @ y)
    residual = max(energy - a @ (rows.T @ y), 1e-9 * energy)
    return 10 * np.log10(energy / residual)


def dtmf_share(frame):
    """Energy of the strongest DTMF row plus strongest column bin over the frame's energy."""
    n = np.arange(len(frame))
    power = [abs(frame @ np.exp(-2j * np.pi * f * n / RATE)) ** 2 * 2 / len(frame)
             for f in DTMF_HZ]
    energy = frame @ frame
    return (max(power[:4]) + max(power[4:])) / energy if energy > 0 else 0.0


def echo_cancel(rx, tx, taps, mu=0.5, delta_dbm0=-40.0):
    """Two-path NLMS + Geigel + tone freeze, one channel, sample by sample (float64)."""
    rx = np.asarray(rx, dtype=np.float64)
    tx = np.asarray(tx, dtype=np.float64)
    delta = taps * (DBM0_PEAK / np.sqrt(2) * 10 ** (delta_dbm0 / 20)) ** 2
    hb = np.zeros(taps)  # background: adapts
    hf = np.zeros(taps)  # foreground: makes the output
    hist = np.concatenate([np.zeros(taps), tx])
    out = np.zeros(len(rx))
    eb_all = np.zeros(len(rx))
    loud_all = np.zeros(len(rx), bool)
    dt_hold = freeze = wins = losses = 0
    nseg = (taps + SEG - 1) // SEG
    for i in range(len(rx)):
        x = hist[i + 1 : i + taps + 1][::-1]  # x[0] is the newest tx sample
        seg_start = (i // SEG) * SEG
        whole = hist[max(0, taps + seg_start - SEG * nseg) : taps + seg_start]
        tailmax = max(np.max(np.abs(whole), initial=0.0),
                      np.max(np.abs(tx[seg_start : i + 1]), initial=0.0))
        y = rx[i]
        eb = y - hb @ x
        out[i] = y - hf @ x
        eb_all[i] = eb
        if abs(y) >= GEIGEL * tailmax and abs(y) > 0:
            dt_hold = HANGOVER
        power = x @ x
        loud_all[i] = power > MIN_TX_POWER * taps
        if dt_hold > 0:
            dt_hold -= 1
        elif freeze == 0 and loud_all[i]:
            hb += mu * eb / (power + delta) * x
        if (i + 1) % FRAME == 0:
            start = i + 1 - FRAME
            frames = {name: sig[start : i + 1] for name, sig in
                      (("tx", tx), ("rx", rx), ("eb", eb_all), ("ef", out))}
            energy = {name: frame @ frame for name, frame in frames.items()}
            before = np.concatenate([np.zeros(4), tx[:start]])[-4:]
            tone = (energy["tx"] > MIN_TX_POWER * FRAME
                    and prediction_gain_db(frames["tx"], before) >= TX_TONE_DB)
            if (energy["ef"] > MIN_E_TONE_POWER * FRAME
                    and dtmf_share(frames["ef"]) >= DTMF_SHARE):
                tone = True
            if tone:
                freeze = FREEZE_FRAMES
            elif freeze > 0:
                freeze -= 1
            if (loud_all[start : i + 1].any() and energy["eb"] < BETTER * energy["ef"]
                    and energy["eb"] < CANCELS * energy["rx"]):
                wins += 1
                if wins >= TRANSFER_FRAMES:
                    hf, wins = hb.copy(), 0
            else:
                wins = 0
            if energy["eb"] > WORSE * energy["ef"] and energy["ef"] < GOOD * energy["rx"]:
                losses += 1
                if losses >= RESTORE_FRAMES:
                    hb, losses = hf.copy(), 0
            else:
                losses = 0
    return out


def erle_db(before, after):
    """Echo return loss enhancement: power before the canceller over power after it, dB."""
    p_in = float(np.mean(np.square(np.asarray(before, dtype=np.float64))))
    p_out = float(np.mean(np.square(np.asarray(after, dtype=np.float64))))
    return 10 * np.log10(max(p_in, 1e-12) / max(p_out, 1e-12))


# -- barge-in: a caller's keys over the echo of a prompt -----------------------------------

KEYS = "0123456789*#ABCD"


def barge_in_line(channels, *, return_loss_db, tail_ms, key_dbm0, seconds=12.0, seed=0,
                  prompt_dbm0=-15.0, noise_dbm0=-60.0):
    """What `channels` analog lines return while a prompt plays: the prompt's hybrid echo,
    the caller's keys (groups of three, 70-120 ms on, 80-150 ms off, a group every 1.5-2.5 s
    from 2 s on, each key at `key_dbm0` per tone with up to +-2 dB twist; no keys if it is
    None), line noise, A-law.

    Returns (tx, rx, truth): int16[channels, n] sent (speech-like, `prompt_dbm0` active), int16
    [channels, n] received (the echo of tx block k lands in rx block k + 1, as the media loop
    assumes), and per channel the list of (digit, start sample).
    """
    from branchline.dsp import alaw_decode, alaw_encode, dtmf_samples
    from branchline.hw.hybrid import HybridEcho
    from branchline.hw.sim.audio import db_gain, speech_like

    rng = np.random.default_rng(seed)
    n = int(seconds * RATE) // 160 * 160
    prompt = np.stack([speech_like(np.random.default_rng([seed, c]), seconds)[:n]
                       for c in range(channels)]) * db_gain(prompt_dbm0)
    tx = np.clip(np.round(prompt), -32768, 32767).astype(np.int16)
    late = np.concatenate([np.zeros((channels, 160), np.int16), tx[:, :-160]], axis=1)
    echo = HybridEcho(channels, return_loss_db=return_loss_db, tail_ms=tail_ms,
                      seed=seed).apply(late)
    keys = np.zeros((channels, n))
    truth = []
    for c in range(channels):
        at, pressed = int(2.0 * RATE + rng.integers(0, 800)), []
        while key_dbm0 is not None and at < n - RATE:
            for _ in range(3):
                digit = KEYS[int(rng.integers(0, len(KEYS)))]
                tone = dtmf_samples(digit, level_dbm0=key_dbm0, on_ms=int(rng.integers(70, 121)),
                                    off_ms=0, twist_db=float(rng.uniform(-2, 2)))
                keys[c, at : at + len(tone)] = tone
                pressed.append((digit, at))
                at += len(tone) + int(rng.integers(80, 151)) * 8
            at += int(rng.uniform(1.5, 2.5) * RATE)
        truth.append(pressed)
    noise = rng.normal(0.0, DBM0_PEAK / np.sqrt(2) * 10 ** (noise_dbm0 / 20), (channels, n))
    line = np.clip(np.round(echo + keys + noise), -32768, 32767).astype(np.int16)
    return tx, alaw_decode(alaw_encode(line)), truth


def detection_rate(truth, found):
    """Share of pressed keys found: a key counts when a detection of that digit starts within
    30 ms of it. Also returns the detections that match no key (false digits)."""
    hits = false = 0
    for pressed, got in zip(truth, found, strict=True):
        unmatched = list(got)
        for digit, at in pressed:
            match = next((g for g in unmatched if g[0] == digit and abs(g[1] - at) <= 240), None)
            if match is not None:
                hits += 1
                unmatched.remove(match)
        false += len(unmatched)
    return hits / sum(len(p) for p in truth), false
