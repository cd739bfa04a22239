"""G.711 throughput: our table kernels against Python 3.11's audioop, in the same run."""

import warnings

import numpy as np

from bench import best_of
from branchline.dsp import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

SAMPLES = 1 << 20  # 2 MiB of int16
REPEATS = 7


def run():
    rng = np.random.default_rng(1)
    linear = rng.integers(-32768, 32768, SAMPLES).astype(np.int16)
    raw = linear.tobytes()
    codes_a, codes_u = alaw_encode(linear), ulaw_encode(linear)
    out_codes, out_linear = np.empty(SAMPLES, np.uint8), np.empty(SAMPLES, np.int16)
    megabytes = SAMPLES * 2 / 1e6  # measured against the int16 side in every direction
    cases = [
        ("A-law encode", lambda: alaw_encode(linear, out=out_codes),
         lambda: audioop.lin2alaw(raw, 2)),
        ("A-law decode", lambda: alaw_decode(codes_a, out=out_linear),
         lambda: audioop.alaw2lin(codes_a.tobytes(), 2)),
        ("u-law encode", lambda: ulaw_encode(linear, out=out_codes),
         lambda: audioop.lin2ulaw(raw, 2)),
        ("u-law decode", lambda: ulaw_decode(codes_u, out=out_linear),
         lambda: audioop.ulaw2lin(codes_u.tobytes(), 2)),
    ]
    rows = []
    for name, ours, theirs in cases:
        t_ours, t_theirs = best_of(REPEATS, ours), best_of(REPEATS, theirs)
        rows.append(f"| {name} | {megabytes / t_ours:,.0f} | {megabytes / t_theirs:,.0f} | "
                    f"{t_theirs / t_ours:.1f}x |")
    return "\n".join([
        "## G.711",
        "",
        "| operation | branchline.dsp MB/s | audioop MB/s | ours / audioop |",
        "|---|---:|---:|---:|",
        *rows,
        "",
        f"MB/s of int16 samples (2 bytes each) through one call on {SAMPLES:,} random samples, "
        f"best of {REPEATS} runs, single thread, `time.perf_counter`. Ours writes into a "
        "preallocated `out=` buffer (64 Ki-entry encode table, 256-entry decode table); audioop "
        "(Python 3.11) allocates its result bytes, and decode timings include turning the codes "
        "into bytes for it.",
    ])
