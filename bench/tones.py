"""Cost of ToneTx.render, CallProgressRx.process and TxRenderer.render per 20 ms block
(bridges are the mixer's: bench/mix.py)."""

import time

import numpy as np

from branchline.dsp import (
    CALL_PROGRESS_TONES,
    CallProgressRx,
    ToneTx,
    TxRenderer,
    alaw_decode,
    alaw_encode,
)

BLOCK = 160
BLOCKS = 250  # 5 s of audio per channel
REPEATS = 5
CHANNELS = (30, 120, 480)
BUSY = CALL_PROGRESS_TONES["cn"]["busy"]


def _line_audio(channels, rng):
    """BLOCKS blocks of busy tone at -20 dBm0 with noise at 15 dB SNR, through A-law."""
    tx = ToneTx(channels)
    for c in range(channels):
        tx.start(c, BUSY, level_dbm0=-20.0)
    audio = np.zeros((channels, BLOCK * BLOCKS), np.int16)
    tx.render(audio)
    noisy = audio + rng.normal(0, 16141 * 10 ** (-35 / 20), audio.shape)
    return alaw_decode(alaw_encode(np.clip(np.rint(noisy), -32768, 32767).astype(np.int16)))


def _blocks(audio):
    return [np.ascontiguousarray(audio[:, i * BLOCK:(i + 1) * BLOCK]) for i in range(BLOCKS)]


def _time_per_block(step, blocks):
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        for block in blocks:
            step(block)
        best = min(best, (time.perf_counter() - start) / len(blocks))
    return best


def _tonetx(channels, rng):
    tx = ToneTx(channels)
    for c in range(channels):
        tx.start(c, CALL_PROGRESS_TONES["cn"]["dial"])
    out = np.zeros((channels, BLOCK), np.int16)
    return _time_per_block(lambda _: tx.render(out), range(BLOCKS))


def _cpt(channels, rng):
    blocks = _blocks(_line_audio(channels, rng))
    rx = CallProgressRx(channels)
    return _time_per_block(rx.process, blocks)


def _cpt_us(channels, rng):
    blocks = _blocks(_line_audio(channels, rng))
    rx = CallProgressRx(channels, tones=CALL_PROGRESS_TONES["us"])
    return _time_per_block(rx.process, blocks)


def _renderer(channels, rng):
    tx = TxRenderer(channels)
    prompt = rng.integers(-8000, 8000, 8000 * 60).astype(np.int16)
    for c in range(channels // 2):
        tx.play(c, [prompt, prompt], gain_db=-3.0)
    out = np.zeros((channels, BLOCK), np.int16)
    return _time_per_block(lambda _: tx.render(out), range(BLOCKS))


def _talkoff():
    try:
        from corpus import talkoff_corpus
    except ImportError:
        return None
    corpus = talkoff_corpus()
    hours = sum(len(x) for _, x in corpus) / 8000 / 3600
    counts = {}
    for country in ("cn", "us"):
        tones = CALL_PROGRESS_TONES[country]
        found = 0
        for _, x in corpus:
            rx = CallProgressRx(1, tones=tones, detect=list(tones))
            found += len(rx.process(x[None]))
        counts[country] = found
    return hours, counts


def run():
    rng = np.random.default_rng(7)
    rows = []
    for label, fn in (("ToneTx.render (continuous dial tone on every channel)", _tonetx),
                      ("CallProgressRx.process (cn table: 3 Goertzel probes)", _cpt),
                      ("CallProgressRx.process (us table: 12 Goertzel probes)", _cpt_us),
                      ("TxRenderer.render (half prompts at -3 dB, half silent)", _renderer)):
        cells = []
        for channels in CHANNELS:
            per_block = fn(channels, rng)
            cells.append(f"{per_block * 1e6:,.0f} µs / {channels * 0.020 / per_block:,.0f}")
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    talkoff = _talkoff()
    if talkoff is None:
        talk = "Talk-off: tests/support/corpus.py not on the path; not measured."
    else:
        hours, counts = talkoff
        talk = (f"Talk-off: on the {hours:.2f} h speech and music corpus "
                f"(tests/support/corpus.py), with every tone of the table enabled, the detector "
                f"reported {counts['cn']} tones with the cn table and {counts['us']} with the us "
                "table (0 busy/congestion is a test).")
    header = " | ".join(f"{c} channels: per block / RT channels per core" for c in CHANNELS)
    return "\n".join([
        "## Tones, call progress, transmit renderer",
        "",
        f"| kernel | {header} |",
        "|---|---:|---:|---:|",
        *rows,
        "",
        f"One Python call per 160-sample (20 ms) block for all channels, {BLOCKS} blocks (5 s), "
        f"best of {REPEATS} runs, single thread, `time.perf_counter`, on a machine shared with "
        "other work (expect ±50 % between runs). Real-time channels per core = "
        "channels x 20 ms / time per block. CallProgressRx input: busy tone at -20 dBm0, white "
        "noise at 15 dB SNR, through A-law.",
        "",
        talk,
    ])
