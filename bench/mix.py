"""Cost of the mix matrix (Mixer.apply) per 20 ms block, beside the prompt renderer's."""

import time

import numpy as np

from branchline.dsp import Mixer, MixPath, TxRenderer

BLOCK = 160
BLOCKS = 250  # 5 s
REPEATS = 5
CHANNELS = (120, 1000)


def _time_per_block(step):
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        for i in range(BLOCKS):
            step(i)
        best = min(best, (time.perf_counter() - start) / BLOCKS)
    return best


def _busy_day(channels):
    """A loaded board: pairs of channels bridged, and in every tenth group of six a whisper
    and a three-way conference (barge) as well: about 2.3 paths per channel."""
    mixer = Mixer(channels)
    for c in range(0, channels - 1, 2):
        mixer.route(("call", c), [MixPath(c, c + 1), MixPath(c + 1, c)])
    for c in range(0, channels - 5, 60):
        a, b, s, x, y, z = range(c, c + 6)
        mixer.route(("whisper", c), [MixPath(s, a), MixPath(s, b), MixPath(b, s, -6.0)])
        mixer.route(("barge", c), [MixPath(p, q) for p in (x, y, z) for q in (x, y, z)
                                   if p != q])
    return mixer


def _mixer(channels, rng):
    mixer = _busy_day(channels)
    rx = [rng.integers(-8000, 8000, (channels, BLOCK)).astype(np.int16) for _ in range(4)]
    out = np.zeros((channels, BLOCK), np.int16)
    paths = len(mixer.paths())
    return _time_per_block(lambda i: mixer.apply(rx[i % 4], out)), paths


def _renderer(channels, rng):
    tx = TxRenderer(channels)
    prompt = rng.integers(-8000, 8000, 8000 * 60).astype(np.int16)
    for c in range(channels):
        tx.play(c, [prompt, prompt], gain_db=-3.0)
    out = np.zeros((channels, BLOCK), np.int16)
    return _time_per_block(lambda _: tx.render(out)), 0


def run():
    rng = np.random.default_rng(11)
    rows = []
    for label, fn in (("Mixer.apply (busy board: bridges, whispers, conferences)", _mixer),
                      ("TxRenderer.render (a prompt at -3 dB on every channel)", _renderer)):
        cells = []
        for channels in CHANNELS:
            per_block, paths = fn(channels, rng)
            extra = f", {paths} paths" if paths else ""
            cells.append(f"{per_block * 1e6:,.1f} µs / {per_block * 1e9 / channels:,.0f} ns"
                         f"{extra}")
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    header = " | ".join(f"{c} channels: per block / per channel" for c in CHANNELS)
    return "\n".join([
        "## Mixing",
        "",
        f"| kernel | {header} |",
        "|---|---:|---:|",
        *rows,
        "",
        f"One Python call per 160-sample (20 ms) block for the whole board, {BLOCKS} blocks, "
        f"best of {REPEATS} runs, single thread, `time.perf_counter`, on a machine shared with "
        "other work (expect ±50 % between runs). The mixer's figure includes clearing the "
        "`mixed` block and adding the mix into the transmit block.",
    ])
