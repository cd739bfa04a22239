"""Line DSP: the FSK caller-ID receiver and the line echo canceller, ours against spandsp.

spandsp's ADSI receiver (Bell 202 "CLASS" standard) and its echo_can (adaption on, no NLP)
are driven by bench/spandsp_line.c, compiled here with cc: a C loop that feeds every channel
its 160-sample frame. Ours run the way the runtime runs them: one FskRx.process or
EchoCanceller.process call per 20 ms block of all channels. Both get the same audio and are
timed in CPU seconds (best of three).
"""

import tempfile
import time
from pathlib import Path

import line_reference as ref
import numpy as np

from bench.spandsp import SpandspProgram
from branchline.dsp import (
    DtmfRx,
    EchoCanceller,
    FskRx,
    alaw_decode,
    alaw_encode,
    encode_mdmf,
    fsk_modulate,
)
from branchline.hw.sim.audio import db_gain, speech_like

SPANDSP = SpandspProgram("spandsp_line")
FRAME = 160
CHANNEL_COUNTS = (30, 120)
MESSAGE = encode_mdmf(number="13912345678", name="ZHANG SAN", when=(11, 23, 18, 30))


def _spandsp(*args):
    return SPANDSP.run(*args).split()


def _int16(x):
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def _per_channel(audio, channels):
    """int16[frames, channels, 160]: every channel the same audio from its own offset, as
    spandsp_line.c does."""
    frames = len(audio) // FRAME
    framed = audio[: frames * FRAME].reshape(frames, FRAME)
    blocks = np.empty((frames, channels, FRAME), np.int16)
    for c in range(channels):
        blocks[:, c] = np.roll(framed, -((c * 7919) % frames), axis=0)
    return blocks


def _cpu(run):
    best = None
    for _ in range(3):
        started = time.thread_time()
        run()
        spent = time.thread_time() - started
        best = spent if best is None else min(best, spent)
    return best


# -- FSK receiver ---------------------------------------------------------------------------

def _fsk_audio(seconds):
    """A line around a ring: caller ID at -20 dBm0, then speech at -20 dBm0, over and over."""
    rng = np.random.default_rng(1)
    piece = np.concatenate([np.zeros(800), fsk_modulate(MESSAGE, level_dbm0=-20.0),
                            speech_like(rng, 3.0) * db_gain(-20.0)])
    audio = np.resize(piece, int(seconds * 8000))
    return _int16(audio + rng.normal(0, 30, len(audio)))


def _fsk_speed(tmp):
    rows = []
    for channels in CHANNEL_COUNTS:
        seconds = max(4, 960 // channels)
        audio = _fsk_audio(seconds)
        path = tmp / f"fsk-{channels}.raw"
        audio.tofile(path)
        blocks = _per_channel(audio, channels)

        def ours(blocks=blocks, channels=channels):
            rx = FskRx(channels)
            for block in blocks:
                rx.process(block)

        audio_s = len(blocks) * FRAME / 8000
        theirs = min(float(_spandsp("fsk-speed", channels, path)[1]) for _ in range(3))
        rows.append((channels, channels * audio_s / _cpu(ours), channels * audio_s / theirs))
    return rows


def _fsk_sensitivity(tmp, levels=(-30.0, -40.0, -44.0, -46.0, -48.0), count=20):
    """Messages decoded out of `count` at each level: 20 dB SNR white noise, A-law."""
    rows = []
    for level in levels:
        rng = np.random.default_rng(int(-level))
        signal = fsk_modulate(MESSAGE, level_dbm0=level).astype(np.float64)
        power = np.mean(signal**2)
        pieces = []
        for _ in range(count):
            x = np.concatenate([np.zeros(int(rng.integers(400, 1200))), signal, np.zeros(2400)])
            pieces.append(x + rng.normal(0, np.sqrt(power / 100), len(x)))
        audio = alaw_decode(alaw_encode(_int16(np.concatenate(pieces))))
        path = tmp / "sensitivity.raw"
        audio.tofile(path)
        ours = len(FskRx(1).process(audio[None, :].copy()))
        theirs = int(_spandsp("fsk-detect", path)[0])
        rows.append((level, ours, theirs, count))
    return rows


# -- echo canceller -------------------------------------------------------------------------

def _late(tx):
    return np.concatenate([np.zeros((tx.shape[0], FRAME), np.int16), tx[:, :-FRAME]], axis=1)


def _ec_speed(tmp):
    tx, rx, _ = ref.barge_in_line(1, return_loss_db=9, tail_ms=32, key_dbm0=-14.0, seconds=4.0)
    tx_path, rx_path = tmp / "ec-tx.raw", tmp / "ec-rx.raw"
    late = _late(tx)[0]
    late.tofile(tx_path)
    rx[0].tofile(rx_path)
    # The prompt's pauses are digital silence, where our filters are skipped; the same prompt
    # with every 0 made 1 shows the cost when they never are.
    never_silent = np.where(late == 0, 1, late).astype(np.int16)
    rows = []
    for tail in (32, 64):
        for channels in CHANNEL_COUNTS:
            rx_blocks = _per_channel(rx[0], channels)
            frames = min(len(rx_blocks), 2 * 8000 * 30 // (channels * FRAME) + 10)

            def ours(tx_blocks, channels=channels, tail=tail, frames=frames,
                     rx_blocks=rx_blocks):
                ec = EchoCanceller(channels, tail_ms=tail)
                for k in range(frames):
                    ec.process(rx_blocks[k], tx_blocks[k])

            audio_s = frames * FRAME / 8000
            seconds, cpu = (float(v) for v in _spandsp("ec-speed", channels, tail * 8, rx_path,
                                                        tx_path))
            theirs = min([cpu] + [float(_spandsp("ec-speed", channels, tail * 8, rx_path,
                                                 tx_path)[1]) for _ in range(2)])
            blocks = _per_channel(late, channels)
            dense = _per_channel(never_silent, channels)
            rows.append((tail, channels,
                         channels * audio_s / _cpu(lambda blocks=blocks: ours(blocks)),
                         channels * audio_s / _cpu(lambda dense=dense: ours(dense)),
                         channels * seconds / theirs))
    return rows


def _spandsp_cancel(tmp, rx, late, taps):
    out = []
    for c in range(rx.shape[0]):
        rx[c].tofile(tmp / "run-rx.raw")
        late[c].tofile(tmp / "run-tx.raw")
        _spandsp("ec-run", taps, tmp / "run-rx.raw", tmp / "run-tx.raw", tmp / "run-out.raw")
        out.append(np.fromfile(tmp / "run-out.raw", dtype=np.int16))
    return np.stack(out)


def _ours_cancel(rx, late, tail):
    ec = EchoCanceller(rx.shape[0], tail_ms=tail)
    return np.concatenate([ec.process(np.ascontiguousarray(rx[:, i : i + FRAME]),
                                      np.ascontiguousarray(late[:, i : i + FRAME]))
                           for i in range(0, rx.shape[1], FRAME)], axis=1)


def _erle(tmp):
    rows = []
    for loss in (6, 9, 12):
        for tail in (16, 32, 64):
            tx, rx, _ = ref.barge_in_line(8, return_loss_db=loss, tail_ms=tail, key_dbm0=None,
                                          seconds=4.0, seed=loss + tail)
            late = _late(tx)
            ours = _ours_cancel(rx, late, tail)
            theirs = _spandsp_cancel(tmp, rx, late, tail * 8)
            rows.append((loss, tail,
                         np.mean([ref.erle_db(rx[c, 16000:], ours[c, 16000:]) for c in range(8)]),
                         np.mean([ref.erle_db(rx[c, 16000:], theirs[c, 16000:])
                                  for c in range(8)])))
    return rows


def _keys(block_audio):
    channels = block_audio.shape[0]
    found = [[] for _ in range(channels)]
    for event in DtmfRx(channels).process(np.ascontiguousarray(block_audio)):
        if event.end is None:
            found[event.channel].append((event.digit, event.start))
    return found


def _barge_in(tmp):
    rows = []
    for level in (-8.0, -14.0, -20.0):
        tx, rx, truth = ref.barge_in_line(16, return_loss_db=9, tail_ms=32, key_dbm0=level,
                                          seed=int(-level))
        late = _late(tx)
        none = ref.detection_rate(truth, _keys(rx))[0]
        ours = ref.detection_rate(truth, _keys(_ours_cancel(rx, late, 64)))[0]
        theirs = ref.detection_rate(truth, _keys(_spandsp_cancel(tmp, rx, late, 512)))[0]
        rows.append((level, sum(len(t) for t in truth), none, ours, theirs))
    return rows


def run():
    SPANDSP.build()
    with tempfile.TemporaryDirectory(prefix="bench-line-") as name:
        tmp = Path(name)
        fsk_speed = _fsk_speed(tmp)
        sensitivity = _fsk_sensitivity(tmp)
        ec_speed = _ec_speed(tmp)
        erle = _erle(tmp)
        barge = _barge_in(tmp)
    lines = [
        "## Line DSP: caller ID and echo canceller",
        "",
        "FSK caller-ID receiver, real-time channels per CPU core (single thread; every channel "
        "hears MDMF caller ID at -20 dBm0 then 3 s of speech-like audio, over and over, each "
        "from its own offset):",
        "",
        "| channels | branchline FskRx | spandsp adsi_rx (CLASS) | ratio |",
        "|---:|---:|---:|---:|",
    ]
    lines += [f"| {c} | {o:,.0f} | {t:,.0f} | {o / t:.2f} |" for c, o, t in fsk_speed]
    lines += [
        "",
        "FSK sensitivity: MDMF messages decoded out of 20, white noise 20 dB under the signal, "
        "through A-law (our carrier floor is -45 dBm0):",
        "",
        "| level (dBm0) | branchline FskRx | spandsp adsi_rx |",
        "|---:|---:|---:|",
    ]
    lines += [f"| {lv:.0f} | {o}/{n} | {t}/{n} |" for lv, o, t, n in sensitivity]
    lines += [
        "",
        "Echo canceller, real-time channels per CPU core (single thread; prompt echo through a "
        "9 dB hybrid with a caller's keys; same tail in taps. Ours is two-path NLMS in float32: "
        "per sample one pass over the background filter (the last sample's update fused into "
        "it), and the output filter, fixed within a 10 ms frame, as a block FIR four samples "
        "per pass, both in vector lanes; the filters are skipped while the whole tail of tx is "
        "digital silence, so a second column gives the same prompt with its silences made 1 "
        "LSB. spandsp's echo_can is one 16-bit fixed-point NLMS filter, adaption on, no NLP. "
        "Debian's libspandsp prints two debug lines per sample from echo_can; "
        "bench/spandsp_line.c silences them so that its time is the canceller's):",
        "",
        "| tail | channels | branchline EchoCanceller | same, tx never silent | spandsp echo_can "
        "| ratio | ratio, never silent |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {tail} ms | {c} | {o:,.0f} | {d:,.0f} | {t:,.0f} | {o / t:.2f} | {d / t:.2f} |"
              for tail, c, o, d, t in ec_speed]
    lines += [
        "",
        "ERLE over seconds 2-4 (mean of 8 lines): speech-like prompt at -15 dBm0 active through "
        "HybridEcho, line noise -60 dBm0, A-law; canceller tail = hybrid tail. The ceiling is "
        "the noise and A-law, about 30 dB:",
        "",
        "| return loss | tail | branchline | spandsp echo_can |",
        "|---:|---:|---:|---:|",
    ]
    lines += [f"| {loss} dB | {tail} ms | {o:.1f} dB | {t:.1f} dB |" for loss, tail, o, t in erle]
    lines += [
        "",
        "Barge-in: share of a caller's keys (groups of three, 70-120 ms) that the runtime's "
        "DtmfRx hears during a prompt at -15 dBm0 on a 9 dB / 32 ms hybrid, 16 lines x 12 s:",
        "",
        "| key level (dBm0 per tone) | keys | no canceller | branchline (64 ms) | "
        "spandsp echo_can (64 ms) |",
        "|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {lv:.0f} | {n} | {a:.1%} | {b:.1%} | {c:.1%} |" for lv, n, a, b, c in barge]
    lines += [
        "",
        "Measured with `time.thread_time()` around the Python loop of `process` calls (blocks "
        "prepared beforehand) and `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)` around the C loops "
        "in bench/spandsp_line.c (`cc -O2`, Debian's libspandsp); best of three. Ours are "
        "built with `-O3 -march=native` (setup.py).",
    ]
    return "\n".join(lines)
