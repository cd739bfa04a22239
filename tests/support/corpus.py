"""The talk-off corpus: over an hour of real speech and music, at 8 kHz, for false-detection tests.

Detectors that must stay silent on voice (DTMF receiver, busy-tone detector) are measured on it.
It is built once, on first use, from Debian packages the project installs
(scripts/install-system-deps), and cached under var/corpus/ (or $BRANCHLINE_CORPUS_DIR):

- speech: espeak-ng reading English licence texts (two voices), Mandarin (random phrases from
  pypinyin's phrase dictionary, spoken as tone-numbered pinyin by `cmn-latn-pinyin`) and
  Cantonese (the same phrases as characters, voice `yue`), at several rates and pitches;
- music: the Ogg Vorbis soundtrack of planetblupi-music-ogg (GPL-3+), tonal and percussive.

Every segment is mono int16 at 8 kHz, scaled to an RMS of -18 dBm0: hotter than ordinary
speech on a line (about -20 to -25 dBm0), so the measurement errs on the harsh side.
"""

import fcntl
import io
import json
import os
import random
import subprocess
from pathlib import Path

import numpy as np
import soundfile
import soxr

RATE = 8000
RECIPE_VERSION = 2
TARGET_RMS = 16141 * 10 ** (-18 / 20)  # 0 dBm0 sine RMS on a 16-bit scale is 16,141
MUSIC_DIR = Path("/usr/share/planetblupi/music")
MUSIC_SECONDS = 30 * 60
TRACK_SECONDS = 4 * 60  # at most this much of one track, for variety
SPEECH_SECONDS = 10 * 60


def corpus_dir():
    default = Path(__file__).resolve().parents[2] / "var" / "corpus"
    return Path(os.environ.get("BRANCHLINE_CORPUS_DIR", default))


def talkoff_corpus():
    """Return [(name, int16 samples at 8 kHz)], building the cache on first use."""
    directory = corpus_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = directory / "manifest.json"
        built = json.loads(manifest.read_text()) if manifest.exists() else {}
        if built.get("version") != RECIPE_VERSION:
            _build(directory)
            manifest.write_text(json.dumps({"version": RECIPE_VERSION}))
    return [
        (path.stem, soundfile.read(path, dtype="int16")[0])
        for path in sorted(directory.glob("*.wav"))
    ]


def _build(directory):
    for old in directory.glob("*.wav"):
        old.unlink()
    for name, samples in _speech_segments():
        _save(directory / f"speech-{name}.wav", samples)
    for name, samples in _music_segments():
        _save(directory / f"music-{name}.wav", samples)


def _save(path, samples):
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    scaled = np.clip(np.round(samples * (TARGET_RMS / max(rms, 1e-9))), -32768, 32767)
    tmp = path.with_suffix(".tmp")
    soundfile.write(tmp, scaled.astype(np.int16), RATE, subtype="PCM_16", format="WAV")
    tmp.rename(path)


def _to_8k(samples, rate):
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    return soxr.resample(samples.astype(np.float32), rate, RATE, quality="HQ")


def _espeak(voice, text, speed, pitch):
    result = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout"],
        input=text.encode(), capture_output=True, check=True,
    )
    samples, rate = soundfile.read(io.BytesIO(result.stdout), dtype="float32")
    return _to_8k(samples, rate)


def _speak_for(voice, chunks, seconds):
    """Speak successive text chunks with varied rate and pitch until `seconds` are reached."""
    rng = random.Random(voice)
    parts, total = [], 0
    for chunk in chunks:
        audio = _espeak(voice, chunk, rng.choice([140, 160, 175, 190]), rng.choice([30, 50, 70]))
        parts.append(audio)
        total += len(audio)
        if total >= seconds * RATE:
            break
    return np.concatenate(parts)[: seconds * RATE]


def _licence_chunks(name):
    words = Path(f"/usr/share/common-licenses/{name}").read_text().split()
    return [" ".join(words[i : i + 400]) for i in range(0, len(words), 400)]


def _chinese_phrases(seed):
    from pypinyin.phrases_dict import phrases_dict

    rng = random.Random(seed)
    phrases = sorted(phrases_dict)
    while True:
        yield "，".join(rng.choice(phrases) for _ in range(6)) + "。"


def _pinyin_chunks(seed):
    from pypinyin import Style, lazy_pinyin

    lines = _chinese_phrases(seed)
    while True:
        text = " ".join(next(lines) for _ in range(20))
        yield " ".join(lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True))


def _character_chunks(seed):
    lines = _chinese_phrases(seed)
    while True:
        yield "".join(next(lines) for _ in range(20))


def _speech_segments():
    yield "en-us", _speak_for("en-us", _licence_chunks("GPL-3"), SPEECH_SECONDS)
    yield "en-gb-f", _speak_for("en-gb+f3", _licence_chunks("Apache-2.0"), SPEECH_SECONDS)
    yield "zh", _speak_for("cmn-latn-pinyin", _pinyin_chunks(1), SPEECH_SECONDS)
    yield "yue", _speak_for("yue", _character_chunks(2), SPEECH_SECONDS)


def _music_segments():
    tracks = sorted(MUSIC_DIR.glob("*.ogg"))
    if not tracks:
        raise RuntimeError(
            f"no music in {MUSIC_DIR}: run scripts/install-system-deps (planetblupi-music-ogg)"
        )
    remaining = MUSIC_SECONDS * RATE
    for track in tracks:
        samples, rate = soundfile.read(track, dtype="float32")
        audio = _to_8k(samples, rate)[: min(remaining, TRACK_SECONDS * RATE)]
        yield track.stem, audio
        remaining -= len(audio)
        if remaining <= 0:
            break
