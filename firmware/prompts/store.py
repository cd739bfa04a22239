"""The prompt store: every prompt and speech unit as 8 kHz audio, built once, held in memory.

Where prompts live (``data_dir/prompts/``):

    recorded/<lang>/<name>.wav|.flac   a person's recording; preferred over synthesis
    cache/<lang>/<name>.wav            8 kHz int16 mono at PROMPT_LEVEL_DBM0, built from either
    cache/slow-<speed>/<lang>/<name>.wav  the same, time-stretched for older callers
    cache/manifest.json                per prompt: source, digest of its input, seconds, for
                                       speech the text's digest (``text_digest``), and the
                                       speeds its slowed copies were made at (``slow``)

``PromptStore(data_dir, texts, languages, *, units=None, slow_speeds=())`` knows the flow's
prompt texts (``texts[name][lang]``) and adds the speech units of
``branchline.ivr.unit_texts(lang)`` (names with a ``/``, like ``num/2``; ``units[lang][name]``
holds fewer, for tests). ``slow_speeds`` are the older callers' speeds of the flows (0.8):
every prompt is also built and held slowed to each, so the media loop never stretches audio.
``build()`` makes what is missing or changed: a recording is transcoded
(``branchline.dsp.transcode``), anything else with a text is synthesised by espeak-ng (see
``prompts_speech``); the manifest's digests (of the recording's bytes, or of what espeak-ng is
asked to say) tell what changed. ``build()`` reports a prompt
that has neither text nor recording, or whose audio fails the checks, and goes on with the rest.

The media loop never touches the disk: ``preload()`` loads everything, and after it ``audio()``
only reads memory. Names are checked before any path is made from them: segments of letters,
digits, ``_ . ^ -`` separated by ``/``, none starting with a dot, so no name leaves the
prompt directory.

Exceptions: ``prompts_errors`` (PromptError > PromptNameError, PromptMissing, SynthesisError,
RecordingError).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from branchline.config.data_dir import DataDir
from branchline.dsp import MediaError, transcode
from branchline.dsp.timescale import stretch
from branchline.firmware.prompts.errors import (
    PromptError,
    PromptMissing,
    PromptNameError,
    RecordingError,
    SynthesisError,
)
from branchline.firmware.prompts.speech import (
    ESPEAK_RATE,
    plan_digest,
    speech_plan,
    speech_problem,
    synthesise,
    text_digest,
    wav_bytes,
)
from branchline.ivr import PromptCatalog, unit_texts

__all__ = [
    "LANGUAGES",
    "PROMPT_LEVEL_DBM0",
    "BuildProblem",
    "BuildReport",
    "PromptError",
    "PromptMissing",
    "PromptNameError",
    "PromptStore",
    "RecordingError",
    "SynthesisError",
    "check_name",
]

LANGUAGES = ("zh", "yue", "en")
LANGUAGE_NAMES = {"zh": "Mandarin", "yue": "Cantonese", "en": "English"}
RATE = 8000
# The level prompts are normalised to (docs/dsp-tones.md: transcode's default, a usual
# active speech level for recorded prompts on a telephone line).
PROMPT_LEVEL_DBM0 = -20.0
RECORDED_SUFFIXES = (".wav", ".flac")
MIN_RECORDED_SECONDS = 0.1
MAX_RECORDED_SECONDS = 300.0
# Silence kept around synthesised speech after trimming: enough that units joined into a
# number do not run together, short enough that a card number reads briskly (our choice).
LEAD_S, TAIL_S = 0.02, 0.06
TRIM_THRESHOLD = 0.01  # of the peak: -40 dB
MANIFEST_VERSION = 1
MAX_NAME_LENGTH = 120
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.^-]*")
# The slowed prompts kept for older callers: the most recently played, within this budget
# (about two minutes of audio), so a day of calls never grows the store.
SLOW_KEPT_BYTES = 2 * 2**20

Key = tuple[str, str]  # (name, lang)


@dataclass(frozen=True, slots=True)
class BuildProblem:
    name: str
    lang: str
    message: str


@dataclass(frozen=True, slots=True)
class BuildReport:
    synthesised: tuple[Key, ...]
    recorded: tuple[Key, ...]  # transcoded from recordings
    unchanged: int
    missing: tuple[Key, ...]  # neither text nor recording
    failed: tuple[BuildProblem, ...]
    seconds: float  # wall time of the build

    @property
    def ok(self) -> bool:
        return not self.missing and not self.failed


def check_name(name: object) -> str:
    """Return ``name`` if it is a safe prompt or unit name, else raise PromptNameError."""
    if not isinstance(name, str) or not name:
        raise PromptNameError(f"prompt name {name!r}: expected a non-empty string")
    if len(name) > MAX_NAME_LENGTH:
        raise PromptNameError(f"prompt name {name[:40]!r}...: {len(name)} characters; "
                              f"at most {MAX_NAME_LENGTH}")
    if not all(_SEGMENT.fullmatch(part) for part in name.split("/")):
        raise PromptNameError(
            f"prompt name {name!r} is not allowed: use letters, digits and _ . ^ -, parts "
            "separated by single '/', no part starting with '.', no absolute path "
            "(like main.long or num/2)")
    return name


class PromptStore:
    """Prompts and speech units of ``languages`` under ``data_dir/prompts`` (module docstring)."""

    def __init__(self, data_dir: str | os.PathLike[str],
                 texts: Mapping[str, Mapping[str, str]],
                 languages: Iterable[str] = LANGUAGES, *,
                 units: Mapping[str, Mapping[str, str]] | None = None,
                 slow_speeds: Iterable[float] = ()) -> None:
        self.languages = tuple(languages)
        self.slow_speeds = tuple(sorted({float(speed) for speed in slow_speeds
                                         if speed != 1.0}))
        for lang in self.languages:
            if lang not in LANGUAGES:
                raise PromptNameError(f"PromptStore: language {lang!r} is not one of "
                                      f"{', '.join(LANGUAGES)}")
        for name in texts:
            if "/" in check_name(name):
                raise PromptNameError(f"prompt name {name!r}: '/' is reserved for speech "
                                      "units; group prompt names with dots (main.long)")
        self.root = DataDir.of(data_dir).prompts
        self.cache_dir = self.root / "cache"
        self.recorded_dir = self.root / "recorded"
        self._prompts = {name: dict(per_lang) for name, per_lang in texts.items()}
        # units[lang][name]: the speech units to hold; all of unit_texts(lang) by default
        self._units = {lang: dict(unit_texts(lang) if units is None else units.get(lang, {}))
                       for lang in self.languages}
        for per_lang in self._units.values():
            for name in per_lang:
                check_name(name)
        self._manifest = self._read_manifest()
        self._audio: dict[Key, np.ndarray] = {}
        self._slow_built: dict[tuple[str, str, float], np.ndarray] = {}
        self._slow: OrderedDict[tuple[str, str, float], np.ndarray] = OrderedDict()
        self._slow_bytes = 0
        self._preloaded = False

    # -- paths -------------------------------------------------------------------------

    def cache_path(self, name: str, lang: str) -> Path:
        return self.cache_dir / self._lang(lang) / f"{check_name(name)}.wav"

    def slow_path(self, name: str, lang: str, speed: float) -> Path:
        return self.cache_dir / f"slow-{speed:g}" / self._lang(lang) / f"{check_name(name)}.wav"

    def recorded_path(self, name: str, lang: str) -> Path | None:
        """The recording that overrides synthesis for this prompt, if there is one."""
        stem = self.recorded_dir / self._lang(lang) / check_name(name)
        for suffix in RECORDED_SUFFIXES:
            path = stem.with_name(stem.name + suffix)
            if path.is_file():
                return path
        return None

    def _lang(self, lang: str) -> str:
        if lang not in self.languages:
            raise PromptNameError(f"language {lang!r} is not one of this store's languages "
                                  f"({', '.join(self.languages)})")
        return lang

    # -- texts -------------------------------------------------------------------------

    def _text_or_none(self, name: str, lang: str) -> str | None:
        if "/" in name:
            return self._units[lang].get(name)
        return self._prompts.get(name, {}).get(lang)

    def text(self, name: str, lang: str) -> str:
        """What the prompt says; ``[name]`` for a recording that has no text."""
        text = self._text_or_none(check_name(name), self._lang(lang))
        if text is not None:
            return text
        if (name, lang) in self._entries() or self.recorded_path(name, lang):
            return f"[{name}]"
        raise self._missing(name, lang)

    def items_text(self, items: Iterable[str], lang: str) -> str:
        """The text of a Play action's items, as heard (words spaced in English)."""
        words = [self.text(item, lang) for item in items]
        return " ".join(words) if lang == "en" else "".join(words)

    def _missing(self, name: str, lang: str) -> PromptMissing:
        where = self.recorded_dir / lang / f"{name}.wav"
        what = "speech unit" if "/" in name else "prompt"
        return PromptMissing(
            f"{what} {name!r} has no {LANGUAGE_NAMES[lang]} ({lang}) text or recording: "
            f"record it as {where} (WAV or FLAC), or add its {lang} text to the prompt "
            "texts (prompts.yaml); then build the prompt store")

    # -- building ----------------------------------------------------------------------

    def wanted(self) -> dict[Key, str | None]:
        """Every (name, lang) the store should hold, with its text (None: recording only)."""
        wanted: dict[Key, str | None] = {}
        for lang in self.languages:
            for name, per_lang in self._prompts.items():
                wanted[(name, lang)] = per_lang.get(lang)
            for name, text in self._units[lang].items():
                wanted[(name, lang)] = text
            for name in self._recorded_names(lang):
                wanted.setdefault((name, lang), None)
        return wanted

    def _recorded_names(self, lang: str) -> list[str]:
        folder = self.recorded_dir / lang
        if not folder.is_dir():
            return []
        names = []
        for path in sorted(folder.rglob("*")):
            if path.suffix in RECORDED_SUFFIXES and path.is_file():
                name = path.relative_to(folder).with_suffix("").as_posix()
                if _is_safe(name):
                    names.append(name)
        return names

    def build(self, progress: Callable[[int, int, str], None] | None = None,
              *, workers: int | None = None) -> BuildReport:
        """Synthesise or transcode every prompt that is missing or changed (module docstring).

        ``progress(done, total, "lang/name")`` is called after each prompt made or failed.
        """
        started = time.perf_counter()
        jobs: list[tuple[Key, str, str, object]] = []  # key, source, digest, input
        missing: list[Key] = []
        unchanged = 0
        said: dict[Key, str] = {}  # text_digest of each spoken prompt
        noted = False
        for (name, lang), text in self.wanted().items():
            recorded = self.recorded_path(name, lang)
            if recorded is not None:
                data = recorded.read_bytes()
                digest = hashlib.sha256(b"%g:" % PROMPT_LEVEL_DBM0 + data).hexdigest()
                job = ((name, lang), "recording", digest, data)
            elif text is not None:
                said[(name, lang)] = text_digest(text, lang)
                entry = self._manifest.get(_entry_key(name, lang))
                if (entry and entry.get("text") == said[(name, lang)]
                        and self.cache_path(name, lang).is_file()):
                    unchanged += 1
                    continue
                plan = speech_plan(text, lang)
                job = ((name, lang), "speech", plan_digest(plan), (text, plan))
            else:
                missing.append((name, lang))
                continue
            entry = self._manifest.get(_entry_key(name, lang))
            if (entry and entry["digest"] == job[2]
                    and self.cache_path(name, lang).is_file()):
                unchanged += 1
                if (name, lang) in said:  # a manifest written before "text" was kept
                    self._manifest[_entry_key(name, lang)] = {**entry,
                                                              "text": said[(name, lang)]}
                    noted = True
            else:
                jobs.append(job)
        made: dict[str, list[Key]] = {"speech": [], "recording": []}
        failed: list[BuildProblem] = []
        with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2) as pool:
            results = pool.map(self._make, jobs)
            for done, ((key, source, digest, _), outcome) in enumerate(
                    zip(jobs, results, strict=True), start=1):
                name, lang = key
                if isinstance(outcome, str):
                    failed.append(BuildProblem(name, lang, outcome))
                else:
                    self._manifest[_entry_key(name, lang)] = {
                        "source": source, "digest": digest, "seconds": len(outcome) / RATE,
                        **({"text": said[key]} if key in said else {})}
                    self._audio[key] = outcome
                    made[source].append(key)
                if progress is not None:
                    progress(done, len(jobs), f"{lang}/{name}")
            noted = self._build_slowed(pool) or noted
        if jobs or noted:
            self._write_manifest()
        return BuildReport(tuple(made["speech"]), tuple(made["recording"]), unchanged,
                           tuple(missing), tuple(failed), time.perf_counter() - started)

    def _make(self, job: tuple[Key, str, str, object]) -> np.ndarray | str:
        """Make one prompt's audio and write it to the cache; a string says what failed."""
        (name, lang), source, _, data = job
        try:
            audio = _from_recording(data) if source == "recording" else _from_speech(lang, data)
        except PromptError as exc:
            return str(exc)
        _atomic_write(self.cache_path(name, lang), wav_bytes(audio, RATE))
        return audio

    def _build_slowed(self, pool: ThreadPoolExecutor) -> bool:
        """Make the slowed copies that are missing or older than their prompt; True if any."""
        wanted = []
        for key, entry in self._entries().items():
            made = entry.get("slow", ())
            speeds = [speed for speed in self.slow_speeds
                      if f"{speed:g}" not in made or not self.slow_path(*key, speed).is_file()]
            if speeds:
                wanted.append((key, speeds))
        for (key, _), done in zip(wanted, pool.map(self._make_slowed, wanted),
                                       strict=True):
            if done:
                entry = self._manifest[_entry_key(*key)]
                self._manifest[_entry_key(*key)] = {
                    **entry, "slow": sorted({*entry.get("slow", ()), *done})}
        return bool(wanted)

    def _make_slowed(self, job: tuple[Key, list[float]]) -> list[str]:
        (name, lang), speeds = job
        try:
            audio = self._audio.get((name, lang))
            if audio is None:
                audio = self._load(name, lang)
        except PromptMissing:
            return []  # the next build makes the prompt again, then its slowed copies
        for speed in speeds:
            _atomic_write(self.slow_path(name, lang, speed),
                          wav_bytes(stretch(audio, 1.0 / speed), RATE))
        return [f"{speed:g}" for speed in speeds]

    # -- the manifest ------------------------------------------------------------------

    def _read_manifest(self) -> dict[str, dict]:
        path = self.cache_dir / "manifest.json"
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}  # unreadable: everything is rebuilt, nothing is lost but time
        if document.get("version") != MANIFEST_VERSION:
            return {}
        return dict(document.get("prompts", {}))

    def _write_manifest(self) -> None:
        document = {"version": MANIFEST_VERSION, "level_dbm0": PROMPT_LEVEL_DBM0,
                    "prompts": dict(sorted(self._manifest.items()))}
        _atomic_write(self.cache_dir / "manifest.json",
                      json.dumps(document, ensure_ascii=False, indent=1).encode())

    def _entries(self) -> dict[Key, dict]:
        entries = {}
        for key, entry in self._manifest.items():
            lang, _, name = key.partition(":")
            if lang in self.languages and _is_safe(name):
                entries[(name, lang)] = entry
        return entries

    # -- audio for the runtime ---------------------------------------------------------

    def preload(self) -> int:
        """Load every built prompt into memory; afterwards ``audio()`` never reads the disk."""
        for (name, lang), entry in self._entries().items():
            if (name, lang) not in self._audio:
                self._audio[(name, lang)] = self._load(name, lang)
            for speed in self.slow_speeds:
                if f"{speed:g}" in entry.get("slow", ()):
                    self._slow_built[(name, lang, speed)] = self._load(
                        name, lang, self.slow_path(name, lang, speed))
        self._preloaded = True
        return len(self._audio)

    def install(self, name: str, lang: str, audio: np.ndarray, entry: dict) -> None:
        """Use `audio` for (name, lang) from the next play on; its files are written already.

        The manifest is replaced, not changed in place: another thread may be reading the old
        one (``seconds``), and swapping one reference is atomic.
        """
        key = (check_name(name), self._lang(lang))
        self._audio[key] = audio
        for speed in self.slow_speeds:  # until the next build, slowed when played
            self._slow_built.pop((*key, speed), None)
            self._slow.pop((*key, speed), None)
        self._manifest = {**self._manifest, _entry_key(*key): dict(entry)}

    def audio(self, name: str, lang: str) -> np.ndarray:
        """The prompt as int16 at 8 kHz (loaded once, then kept)."""
        # Only checked names and languages are kept, so a prompt found needs no checking.
        found = self._audio.get((name, lang)) if isinstance(name, str) else None
        if found is not None:
            return found
        key = (check_name(name), self._lang(lang))
        found = self._audio.get(key)
        if found is not None:
            return found
        if self._preloaded or key not in self._entries():
            raise self._not_built(name, lang)
        found = self._audio[key] = self._load(name, lang)
        return found

    def _not_built(self, name: str, lang: str) -> PromptMissing:
        if self._text_or_none(name, lang) is None and self.recorded_path(name, lang) is None:
            return self._missing(name, lang)
        return PromptMissing(f"prompt {name!r} ({lang}) is not built: run the prompt store's "
                             "build (branchline run does it at start) before playing it")

    def _load(self, name: str, lang: str, path: Path | None = None) -> np.ndarray:
        path = path or self.cache_path(name, lang)
        try:
            samples, rate = soundfile.read(path, dtype="int16")
        except (OSError, RuntimeError) as exc:
            raise PromptMissing(f"prompt {name!r} ({lang}): cannot read {path} ({exc}); "
                                "build the prompt store again") from exc
        if rate != RATE or samples.ndim != 1:
            raise PromptMissing(f"prompt {name!r} ({lang}): {path} is not 8 kHz mono; build "
                                "the prompt store again")
        return np.ascontiguousarray(samples)

    def render_items(self, items: Iterable[str], lang: str, speed: float = 1.0
                     ) -> list[np.ndarray]:
        """The audio of a Play action's items (prompt names and units), in order; below
        ``speed`` 1 each item is time-stretched (WSOLA, same pitch): built and loaded with the
        rest for the flows' speeds; at another speed (published since the start) stretched
        here and kept while it is among the most recently played (``SLOW_KEPT_BYTES``)."""
        if speed == 1.0:
            return [self.audio(item, lang) for item in items]
        return [self._slowed(item, lang, speed) for item in items]

    def _slowed(self, item: str, lang: str, speed: float) -> np.ndarray:
        key = (item, lang, speed)
        found = self._slow_built.get(key)
        if found is not None:
            return found
        key = (item, self._lang(lang), speed)
        found = self._slow.get(key)
        if found is not None:
            self._slow.move_to_end(key)
            return found
        found = self._slow[key] = stretch(self.audio(item, lang), 1.0 / speed)
        self._slow_bytes += found.nbytes
        while self._slow_bytes > SLOW_KEPT_BYTES and len(self._slow) > 1:
            self._slow_bytes -= self._slow.popitem(last=False)[1].nbytes
        return found

    def seconds(self, name: str, lang: str) -> float:
        entry = self._entries().get((check_name(name), self._lang(lang)))
        if entry is None:
            raise self._not_built(name, lang)
        return float(entry["seconds"])

    def catalog(self) -> PromptCatalog:
        """The flow prompts (not the units) with their real lengths, for the validator."""
        durations: dict[str, dict[str, float]] = {}
        for (name, lang), entry in self._entries().items():
            if "/" not in name:
                durations.setdefault(name, {})[lang] = float(entry["seconds"])
        return PromptCatalog(texts={n: dict(t) for n, t in self._prompts.items()},
                             durations=durations)


def _entry_key(name: str, lang: str) -> str:
    return f"{lang}:{name}"


def _is_safe(name: str) -> bool:
    try:
        check_name(name)
    except PromptNameError:
        return False
    return True


def _from_recording(data: bytes) -> np.ndarray:
    try:
        audio = transcode(data, target_dbm0=PROMPT_LEVEL_DBM0)
    except MediaError as exc:
        raise RecordingError(f"the recording cannot be used: {exc}") from exc
    seconds = len(audio) / RATE
    if not MIN_RECORDED_SECONDS <= seconds <= MAX_RECORDED_SECONDS:
        raise RecordingError(f"the recording is {seconds:.2f} s long; expected "
                             f"{MIN_RECORDED_SECONDS}-{MAX_RECORDED_SECONDS:.0f} s")
    return audio


def _from_speech(lang: str, data: tuple) -> np.ndarray:
    text, plan = data
    speech = synthesise(plan)
    try:
        audio = _trim(transcode(wav_bytes(speech.samples, ESPEAK_RATE),
                                target_dbm0=PROMPT_LEVEL_DBM0))
    except MediaError as exc:
        raise SynthesisError(f"espeak-ng's audio cannot be used: {exc}") from exc
    problem = speech_problem(text, lang, len(audio) / RATE, speech, plan)
    if problem:
        raise SynthesisError(f"synthesised speech rejected: {problem}")
    return audio


def _trim(audio: np.ndarray) -> np.ndarray:
    """Cut the synthesiser's leading and trailing silence down to LEAD_S / TAIL_S."""
    magnitude = np.abs(audio.astype(np.int32))
    loud = np.flatnonzero(magnitude > TRIM_THRESHOLD * magnitude.max())
    if loud.size == 0:
        return audio
    start = max(loud[0] - round(LEAD_S * RATE), 0)
    end = min(loud[-1] + 1 + round(TAIL_S * RATE), len(audio))
    return np.ascontiguousarray(audio[start:end])


def _atomic_write(path: Path, data: bytes) -> None:
    """Write a file so a power cut leaves either the old or the new one (temp, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
