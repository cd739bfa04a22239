"""DTMF receiver: throughput, talk-off and the conformance table, ours against spandsp.

spandsp's receiver (Debian libspandsp-dev, its defaults) is driven by bench/spandsp_dtmf.c,
compiled here with cc: a C loop that feeds every channel its 160-sample frame, the way a C
media engine would. Ours is driven the way the runtime drives it: one DtmfRx.process call per
20 ms block of all channels. Both get the same audio and are timed in CPU seconds.
"""

import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import signals as s
from corpus import talkoff_corpus
from dtmf_reference import CONFORMANCE, case_signal

from bench.spandsp import SpandspProgram
from branchline.dsp import DtmfRx

SPANDSP = SpandspProgram("spandsp_dtmf")
FRAME = 160
CHANNEL_COUNTS = (1, 30, 120, 480)
LEADS = (0.03, 0.0337, 0.041, 0.0488, 0.0531)  # as in tests/dsp/test_dtmf_rx_conformance.py


def _busy_audio(seconds):
    """What a port hears: speech from the corpus with keys pressed now and then."""
    speech = np.concatenate([x for name, x in talkoff_corpus() if name.startswith("speech")])
    audio = speech[: s.samples(seconds)].astype(np.float64)
    keys, _ = s.dtmf_sequence("0123456789*#", 0.08, 0.5, lead_seconds=1.0, level_dbm0=-12.0)
    keys = np.resize(keys, len(audio))
    audio += keys
    return s.to_int16(audio)


def _offsets(channels, frames):
    return [(c * 7919) % frames for c in range(channels)]  # as spandsp_dtmf.c does


def _ours_speed(audio, channels):
    frames = len(audio) // FRAME
    framed = audio[: frames * FRAME].reshape(frames, FRAME)
    blocks = np.empty((frames, channels, FRAME), np.int16)
    for c, offset in enumerate(_offsets(channels, frames)):
        blocks[:, c] = np.roll(framed, -offset, axis=0)
    rx = DtmfRx(channels)
    started = time.thread_time()
    for block in blocks:
        rx.process(block)
    return channels * frames * FRAME / 8000 / (time.thread_time() - started)


def _spandsp_speed(path, channels):
    _, audio_seconds, cpu = SPANDSP.run("speed", channels, path).split()
    return channels * float(audio_seconds) / float(cpu)


def _speed(tmp):
    rows = []
    for channels in CHANNEL_COUNTS:
        seconds = max(5, 1200 // channels)  # about the same work at every size
        audio = _busy_audio(seconds)
        path = tmp / f"busy-{channels}.raw"
        audio.tofile(path)
        ours = max(_ours_speed(audio, channels) for _ in range(3))
        theirs = max(_spandsp_speed(path, channels) for _ in range(3))
        rows.append((channels, ours, theirs))
    return rows


def _spandsp_digits(path):
    return [(line.split()[0], int(line.split()[1])) for line in SPANDSP.run("detect", path).split(
        "\n") if line]


def _talkoff(tmp):
    corpus = talkoff_corpus()
    audio = np.concatenate([x for _, x in corpus])
    hours = len(audio) / 8000 / 3600
    per_channel = -(-len(audio) // 32)
    block = np.zeros(32 * per_channel, np.int16)
    block[: len(audio)] = audio
    ours = [e for e in DtmfRx(32).process(block.reshape(32, per_channel)) if e.end is None]
    theirs = 0
    for name, x in corpus:
        path = tmp / f"{name}.raw"
        x.tofile(path)
        theirs += len(_spandsp_digits(path))
    return hours, len(ours), theirs


def _conformance(tmp):
    """Per group: (cases, ours passed, spandsp passed, spandsp's failures)."""
    groups = {}
    gap = s.samples(0.5)
    for case in CONFORMANCE:
        rng = np.random.default_rng(zlib.crc32(case.name.encode()))
        pieces = [case_signal(case, lead, rng) for lead in LEADS]
        span = max(len(p) for p in pieces) + gap
        audio = np.zeros(span * len(pieces), np.int16)
        for i, piece in enumerate(pieces):
            audio[i * span : i * span + len(piece)] = piece
        want = [case.digit] if case.detect else []
        ours_found = [[] for _ in pieces]
        for e in DtmfRx(1).process(audio[None, :].copy()):
            if e.end is None:
                ours_found[e.start // span].append(e.digit)
        path = tmp / "case.raw"
        audio.tofile(path)
        theirs_found = [[] for _ in pieces]
        for digit, at in _spandsp_digits(path):
            theirs_found[min(at // span, len(pieces) - 1)].append(digit)
        tally = groups.setdefault(case.group, [0, 0, 0, []])
        tally[0] += 1
        tally[1] += all(f == want for f in ours_found)
        if all(f == want for f in theirs_found):
            tally[2] += 1
        else:
            tally[3].append(case.name)
    return groups


def run():
    SPANDSP.build()
    with tempfile.TemporaryDirectory(prefix="bench-dtmf-") as name:
        tmp = Path(name)
        speed = _speed(tmp)
        hours, ours_false, theirs_false = _talkoff(tmp)
        groups = _conformance(tmp)
    lines = [
        "## DTMF receiver",
        "",
        "Real-time channels per CPU core (single thread; 160-sample frames of the same audio: "
        "corpus speech with a key every 0.58 s, each channel at its own offset):",
        "",
        "| channels | branchline DtmfRx | spandsp dtmf_rx | ratio |",
        "|---:|---:|---:|---:|",
    ]
    for channels, ours, theirs in speed:
        lines.append(f"| {channels} | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.2f} |")
    lines += [
        "",
        f"Talk-off over {hours:.2f} h of the talk-off corpus (tests/support/corpus.py: "
        "espeak-ng English, Mandarin, Cantonese and music, -18 dBm0 RMS):",
        "",
        "| receiver | false digits | per hour |",
        "|---|---:|---:|",
        f"| branchline DtmfRx | {ours_false} | {ours_false / hours:.2f} |",
        f"| spandsp dtmf_rx (defaults) | {theirs_false} | {theirs_false / hours:.2f} |",
        "",
        "Conformance table (tests/support/dtmf_reference.py, ITU-T Q.24 AT&T column and MT8870 "
        "conditions); a case passes when all five placements of the key relative to the "
        "receiver's blocks give exactly the expected digit or nothing. Offset and twist "
        "keys last 60 ms (100 ms where they must be rejected); spandsp detects some of the "
        "offset keys it misses here when they last longer:",
        "",
        "| group | cases | branchline passed | spandsp passed | spandsp failed, e.g. |",
        "|---|---:|---:|---:|---|",
    ]
    for group, (total, ours, theirs, misses) in groups.items():
        shown = ", ".join(misses[:4]) + (" ..." if len(misses) > 4 else "")
        lines.append(f"| {group} | {total} | {ours} | {theirs} | {shown} |")
    lines += [
        "",
        "Measured with `time.thread_time()` around the Python loop of `DtmfRx.process` calls "
        "(blocks prepared beforehand) and `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)` around the "
        "C loop of `dtmf_rx` calls in bench/spandsp_dtmf.c (built with `cc -O2` against "
        "Debian's libspandsp); best of three runs each. The extension is built with "
        "`-O3 -march=native` (setup.py), spandsp is Debian's generic build.",
    ]
    return "\n".join(lines)
