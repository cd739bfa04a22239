"""Placeholder speech for prompts: text in Mandarin, Cantonese or English to audio by espeak-ng.

Contract: ``speech_plan(text, lang)`` turns a prompt's text into the segments espeak-ng is
asked to speak, each with its voice; ``synthesise(plan)`` runs one espeak-ng process per
segment and returns the 22.05 kHz int16 samples joined with a short gap, plus espeak-ng's
phoneme transcription; ``speech_problem(...)`` says what is wrong with a result, or None: a
length implausible for the text, or a Chinese voice that fell back to English letter names
(espeak-ng's transcription shows the switch), which is what Debian's ``cmn`` voice does with
most characters.

* Mandarin: Debian's espeak-ng ``cmn`` dictionary lacks most characters and falls back to
  reading them as English letter names, so Mandarin text is converted to tone-numbered pinyin
  (pypinyin ``Style.TONE3``, neutral tone 5, with its tone changes of 一 and 不: 一百 yi4
  bai3, 不是 bu2 shi4, which espeak-ng does not make; it makes the third-tone change of 你好
  itself) and spoken by voice ``cmn-latn-pinyin``.
  A short table of readings corrects the polyphones pypinyin gets wrong in IVR phrasing.
* Cantonese: voice ``yue`` reads the characters.
* English: voice ``en-us``.
* Runs of Latin words inside Chinese text (the three-language menu) are spoken in English.

The texts go to espeak-ng on stdin, never on its command line, so no text is an option.
Errors: ``SynthesisError`` (a PromptError) when espeak-ng is missing or fails.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import shutil
import subprocess
from dataclasses import dataclass
from importlib import metadata

import numpy as np
import soundfile

from branchline.firmware.prompts.errors import SynthesisError

ESPEAK = "espeak-ng"
ESPEAK_RATE = 22050
# Words per minute: a little slower than espeak-ng's 175 for telephone listeners (our choice).
VOICES = {"zh": ("cmn-latn-pinyin", 160), "yue": ("yue", 160), "en": ("en-us", 160)}
SEGMENT_GAP_S = 0.15
# Bump when the text-to-speech pipeline changes, so every cached synthesis is redone.
PIPELINE_VERSION = 1

_CHINESE_DIGITS = str.maketrans("0123456789", "零一二三四五六七八九")
_PUNCTUATION = str.maketrans({"，": ", ", "。": ". ", "、": ", ", "；": "; ", "：": ": ",
                              "？": "? ", "！": "! "})
# pypinyin reads these by their dictionary sense; an IVR means the other one.
# 重听 "hear again" is chong2 (not zhong4 "hard of hearing"); 为 "is" after a noun is wei2.
MANDARIN_READINGS = {
    "重听": "chong2 ting1",
    "余额为": "yu2 e2 wei2",
    "编号为": "bian1 hao4 wei2",
    "时间为": "shi2 jian1 wei2",
}
_READINGS_RE = re.compile("|".join(map(re.escape, MANDARIN_READINGS)))
# A run of English inside Chinese text: starts with a Latin letter, runs over ASCII words,
# digits and punctuation.
_LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z0-9 ,.'?!-]*")
_CJK = re.compile(r"[\u3400-\u9fff]")
# A run of Chinese inside English text: characters with the digits and punctuation among them.
_CJK_RUN = re.compile(r"[\u3400-\u9fff][\u3400-\u9fff0-9，。、；：？！]*")


@dataclass(frozen=True, slots=True)
class Segment:
    lang: str  # the language this run of text is in (may differ from the prompt's)
    voice: str
    words_per_minute: int
    text: str


@dataclass(frozen=True, slots=True)
class Speech:
    samples: np.ndarray  # int16 at ESPEAK_RATE
    phonemes: tuple[str, ...]  # espeak-ng's transcription, one per segment


def speech_plan(text: str, lang: str) -> tuple[Segment, ...]:
    """The segments, with their voices, that speak ``text`` in ``lang``.

    Chinese text in an English entry is spoken in Mandarin, English words in a Chinese
    entry in English (the three-language menu has both).
    """
    foreign, foreign_lang = (_CJK_RUN, "zh") if lang == "en" else (_LATIN_RUN, "en")
    runs: list[tuple[str, str]] = []
    position = 0
    for match in foreign.finditer(text):
        runs += [(lang, text[position:match.start()]), (foreign_lang, match.group())]
        position = match.end()
    runs.append((lang, text[position:]))
    segments = []
    for run_lang, words in runs:
        voice, wpm = VOICES[run_lang]
        words = to_pinyin(words) if run_lang == "zh" else words
        if any(ch.isalnum() for ch in words):
            segments.append(Segment(run_lang, voice, wpm, words.strip()))
    return tuple(segments)


def plan_digest(plan: tuple[Segment, ...]) -> str:
    """A hash of what espeak-ng is asked to say: the manifest's key for a synthesis."""
    spec = repr((PIPELINE_VERSION, [(s.lang, s.voice, s.words_per_minute, s.text)
                                     for s in plan]))
    return hashlib.sha256(spec.encode()).hexdigest()


def text_digest(text: str, lang: str) -> str:
    """A hash of a prompt's text and of what makes its plan (the pipeline, pypinyin's release):
    equal digests mean equal plans, known without loading pypinyin's ~55 MiB dictionaries."""
    spec = repr((PIPELINE_VERSION, _pypinyin_release(), VOICES, MANDARIN_READINGS, lang, text))
    return hashlib.sha256(spec.encode()).hexdigest()


@functools.cache
def _pypinyin_release() -> str:
    return metadata.version("pypinyin")


def to_pinyin(text: str) -> str:
    """Mandarin text as tone-numbered pinyin (digits read as characters, punctuation kept)."""
    text = text.translate(_CHINESE_DIGITS)
    words: list[str] = []
    position = 0
    for match in _READINGS_RE.finditer(text):
        words += _pinyin_words(text[position:match.start()])
        words.append(MANDARIN_READINGS[match.group()])
        position = match.end()
    words += _pinyin_words(text[position:])
    return re.sub(r" +", " ", " ".join(words)).replace(" ,", ",").replace(" .", ".").strip()


def _pinyin_words(text: str) -> list[str]:
    if not text:
        return []
    # Imported here: its dictionaries take ~55 MiB, and only synthesis (a worker process, or
    # the first start's prompt build) reads them; the running appliance should not carry them.
    from pypinyin import Style, lazy_pinyin

    return [w.translate(_PUNCTUATION).strip()
            for w in lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True,
                                 tone_sandhi=True)]


def synthesise(plan: tuple[Segment, ...]) -> Speech:
    """Speak every segment with espeak-ng; join them with a short gap."""
    if not plan:
        raise SynthesisError("synthesis: the text has nothing to say (no letters or digits)")
    gap = np.zeros(round(SEGMENT_GAP_S * ESPEAK_RATE), dtype=np.int16)
    parts: list[np.ndarray] = []
    phonemes = []
    for segment in plan:
        samples, transcription = _espeak(segment)
        parts += [gap, samples] if parts else [samples]
        phonemes.append(transcription)
    return Speech(np.concatenate(parts), tuple(phonemes))


def _espeak(segment: Segment) -> tuple[np.ndarray, str]:
    if shutil.which(ESPEAK) is None:
        raise SynthesisError(
            "synthesis: espeak-ng is not installed; run scripts/install-system-deps "
            "(apt-get install espeak-ng) or record the prompts")
    command = [ESPEAK, "-v", segment.voice, "-s", str(segment.words_per_minute), "-x",
               "--phonout=/dev/stderr", "--stdout"]
    done = subprocess.run(command, input=segment.text.encode(), capture_output=True,
                          check=False)
    if done.returncode != 0 or len(done.stdout) <= 44:
        raise SynthesisError(
            f"synthesis: espeak-ng voice {segment.voice} failed (exit {done.returncode}): "
            f"{done.stderr.decode(errors='replace').strip()[:200]}; check `espeak-ng --voices`")
    try:
        samples, rate = soundfile.read(io.BytesIO(done.stdout), dtype="int16")
    except (soundfile.LibsndfileError, RuntimeError) as exc:
        raise SynthesisError(f"synthesis: espeak-ng voice {segment.voice} wrote audio that "
                             f"cannot be decoded ({exc})") from exc
    if rate != ESPEAK_RATE:
        raise SynthesisError(f"synthesis: espeak-ng wrote {rate} Hz; expected {ESPEAK_RATE} Hz")
    return samples, done.stderr.decode(errors="replace")


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    out = io.BytesIO()
    soundfile.write(out, samples, rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


# -- checks ------------------------------------------------------------------------------

# Plausible speaking time per spoken unit of text (a Chinese character, a digit, or an English
# syllable estimated as ~3 letters). The sample corpus measures 0.17-0.56 s per unit with the
# voices above (the silence kept around each prompt included); the bounds leave room on both
# sides, and the upper one 0.5 s more: our bounds, not a standard's.
SECONDS_PER_UNIT = (0.12, 0.55)
MIN_SECONDS = 0.12
# espeak-ng marks a switch to another language in its transcription as "(en)": a Chinese
# voice that meets words it cannot say reads them as English (letter names).
_LANGUAGE_SWITCH = "(en)"
_CHINESE_NAMES = {"zh": "Mandarin", "yue": "Cantonese"}


def spoken_units(text: str) -> float:
    """How many syllable-like units the text holds (Chinese characters, digits, ~3 letters)."""
    cjk = len(_CJK.findall(text))
    digits = sum(ch.isdigit() for ch in text)
    letters = sum(ch.isascii() and ch.isalpha() for ch in text)
    return cjk + digits + letters / 3.0


def speech_problem(text: str, lang: str, seconds: float, speech: Speech,
                   plan: tuple[Segment, ...]) -> str | None:
    """What is wrong with synthesised speech for ``text``, or None if it is plausible."""
    units = max(spoken_units(text), 1.0)
    low, high = SECONDS_PER_UNIT
    if seconds < MIN_SECONDS or seconds < low * units:
        return (f"{seconds:.2f} s of speech for {units:.0f} syllables is too short "
                f"(at least {max(MIN_SECONDS, low * units):.2f} s expected)")
    if seconds > high * units + 0.5:
        return (f"{seconds:.2f} s of speech for {units:.0f} syllables is too long "
                f"(at most {high * units + 0.5:.2f} s expected)")
    for segment, transcription in zip(plan, speech.phonemes, strict=True):
        if segment.lang != "en" and _LANGUAGE_SWITCH in transcription:
            expected = "tone-numbered pinyin" if segment.lang == "zh" else "characters it knows"
            return (f"the {_CHINESE_NAMES[segment.lang]} voice {segment.voice} fell back to "
                    f"English (letter names) for {segment.text!r}; expected {expected} only")
    return None
