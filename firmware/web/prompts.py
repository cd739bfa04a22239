"""Prompt audio from the web: list, play back, upload a recording, synthesise a placeholder.

``WebPrompts(store, document, install, worker)``: ``store`` is the running ``PromptStore``, read
only here; ``document()`` gives the configuration in force; ``install(name, lang, audio,
entry)`` hands new audio to the media loop, which swaps it in at its next tick (the loop alone
touches the store's memory). Decoding, resampling and synthesis run in the worker process
(``worker.run``, ``config.web.worker``): they are CPU work on untrusted input, and this process
is the media loop's. The worker hands back 8 kHz samples; writing the files happens on the
calling web thread, never on the loop.

Uploads (``store_prompt``):

* the name is a document prompt name: ``prompts.check_name`` (letters, digits, ``_ . ^ -``,
  no part starting with a dot) and no ``/`` (the speech units' namespace). A name is never a
  path: every file is made from the checked name under the store's own folders.
* at most ``MAX_PROMPT_UPLOAD`` bytes (10 MB); the type is told by content, never by a file
  name: ``RIFF....WAVE``, ``fLaC``, an ``ID3`` tag or an MPEG audio frame sync (11 set bits,
  ISO/IEC 11172-3 §2.4.2.3).
* decoded and brought to 8 kHz at the prompts' level by ``branchline.dsp.transcode``; 0.1 s to
  300 s long. Stored as ``recorded/<lang>/<name>.wav`` (the 8 kHz result, so a restart uses
  the same audio) and in the cache; any other recording of the name is removed.

Errors are ``config.web.link`` ``Refused`` / ``TooLarge`` / ``NotFound``, with the fix.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath

import numpy as np

from branchline.config.store.files import write_atomic
from branchline.config.web.link import MAX_PROMPT_UPLOAD, NotFound, Refused, TooLarge
from branchline.config.web.worker import Worker
from branchline.dsp import MediaError, transcode
from branchline.firmware.prompts.speech import plan_digest, speech_plan, wav_bytes
from branchline.firmware.prompts.store import (
    LANGUAGES,
    MAX_RECORDED_SECONDS,
    MIN_RECORDED_SECONDS,
    PROMPT_LEVEL_DBM0,
    RATE,
    RECORDED_SUFFIXES,
    PromptError,
    PromptStore,
    check_name,
)
from branchline.ivr import unit_texts

__all__ = ["WebPrompts", "decode_recording", "decode_recordings", "sniff_audio",
           "synthesise_audio"]


def sniff_audio(data: bytes) -> str | None:
    """``wav``, ``flac``, ``mp3`` by the bytes' content, or None."""
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"fLaC":
        return "flac"
    if data[:3] == b"ID3":
        return "mp3"
    # MPEG audio frame header: 11 sync bits, then a layer field that is not the reserved 00.
    if len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0 and data[1] & 0x06:
        return "mp3"
    return None


class WebPrompts:
    def __init__(self, store: PromptStore, document: Callable[[], object],
                 install: Callable[[str, str, np.ndarray, dict], None], worker: Worker):
        self.store = store
        self.document = document
        self.install = install
        self.worker = worker
        self._writing = threading.Lock()  # one upload at a time: temp names are per process

    # --- checks ---------------------------------------------------------------------------

    def _checked(self, name: str, language: str) -> tuple[str, str]:
        try:
            check_name(name)
        except PromptError as exc:
            raise Refused(str(exc), code="bad_prompt_name") from None
        if "/" in name:
            raise Refused(f"prompt name {name!r}: '/' is reserved for speech units; name "
                          "prompts like the document does (main.long)", code="bad_prompt_name")
        languages = self.document().site.languages
        if language not in languages:
            raise Refused(f"prompt {name!r}: language {language!r} is not one of the site's "
                          f"languages ({', '.join(languages)})", code="bad_language")
        return name, language

    # --- reading --------------------------------------------------------------------------

    def list(self) -> list[dict]:
        document = self.document()
        names = set(document.prompts) | self._recorded_names()
        built = self.store.catalog().durations  # one pass over the manifest
        rows = []
        for name in sorted(names):
            texts = document.prompts[name].texts() if name in document.prompts else {}
            for lang in document.site.languages:
                recorded = self.store.recorded_path(name, lang) is not None
                seconds = built.get(name, {}).get(lang)  # None: neither built nor buildable
                rows.append({"name": name, "language": lang,
                             "source": "recorded" if recorded else "synthesised",
                             "duration_s": None if seconds is None else round(seconds, 2),
                             "text": texts.get(lang),
                             "in_document": name in document.prompts})
        return rows

    def _recorded_names(self) -> set[str]:
        names = set()
        for lang in LANGUAGES:
            folder = self.store.recorded_dir / lang
            if folder.is_dir():
                names.update(p.stem for p in folder.iterdir()
                             if p.suffix in RECORDED_SUFFIXES and p.is_file()
                             and "/" not in p.stem and _safe(p.stem))
        return names

    def audio(self, name: str, language: str) -> bytes:
        name, language = self._checked(name, language)
        path = self.store.cache_path(name, language)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"prompt {name!r} ({language}) has no audio yet: upload a "
                           "recording or synthesise it from its text") from None

    def unit_audio(self, unit: str, language: str) -> bytes:
        """A speech unit's audio (``num/2``, ``money/yuan``: what Try it plays for a spoken
        amount or date); only the units of ``branchline.ivr.unit_texts`` are served."""
        languages = self.document().site.languages
        if language not in languages:
            raise Refused(f"speech unit {unit!r}: language {language!r} is not one of the "
                          f"site's languages ({', '.join(languages)})", code="bad_language")
        if unit not in unit_texts(language):
            raise NotFound(f"there is no speech unit {unit!r} in {language}; the units are "
                           "those of docs/ivr.md (num/0-9, num/10, money/yuan, ...)")
        try:
            return self.store.cache_path(unit, language).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"speech unit {unit!r} ({language}) has no audio yet: the "
                           "appliance makes it when it builds its prompts") from None

    # --- writing --------------------------------------------------------------------------

    def upload(self, name: str, language: str, data: bytes) -> dict:
        name, language = self._checked(name, language)
        audio = self.worker.run("prompt upload", decode_recording, name, language, data)
        with self._writing:
            self._write_recording(name, language, audio)
            return self._install(name, language, audio, "recording",
                                 self._digest(name, language))

    def _write_recording(self, name: str, language: str, audio: np.ndarray) -> None:
        target = self.store.recorded_dir / language / f"{name}.wav"
        _atomic_write(target, wav_bytes(audio, RATE))
        for suffix in RECORDED_SUFFIXES:
            other = target.with_name(name + suffix)
            if other != target:
                other.unlink(missing_ok=True)

    def _digest(self, name: str, language: str) -> str:
        # As PromptStore.build computes it, so a restart finds the cache up to date.
        path = self.store.recorded_path(name, language)
        return hashlib.sha256(b"%g:" % PROMPT_LEVEL_DBM0 + path.read_bytes()).hexdigest()

    def _install(self, name: str, language: str, audio: np.ndarray, source: str,
                 digest: str) -> dict:
        _atomic_write(self.store.cache_path(name, language), wav_bytes(audio, RATE))
        entry = {"source": source, "digest": digest, "seconds": len(audio) / RATE}
        self.install(name, language, audio, entry)
        texts = self.document().prompts.get(name)
        return {"name": name, "language": language,
                "source": "recorded" if source == "recording" else "synthesised",
                "duration_s": round(len(audio) / RATE, 2),
                "text": texts.texts().get(language) if texts is not None else None,
                "in_document": texts is not None}

    def synthesise(self, name: str, language: str, text: str) -> dict:
        name, language = self._checked(name, language)
        if not text or not text.strip() or len(text) > 2000:
            raise Refused(f"prompt {name!r} ({language}): the text is empty or over 2000 "
                          "characters; give the words the prompt should say", code="bad_text")
        if self.store.recorded_path(name, language) is not None:
            raise Refused(f"prompt {name!r} ({language}) plays a recording; a synthesised "
                          "placeholder would not be heard. Upload a new recording instead",
                          code="has_recording")
        audio = self.worker.run("prompt synthesis", synthesise_audio, name, language, text)
        digest = plan_digest(speech_plan(text, language))  # as PromptStore.build computes it
        with self._writing:
            return self._install(name, language, audio, "speech", digest)

    # --- backup ---------------------------------------------------------------------------

    def recorded_files(self) -> dict[str, bytes]:
        files = {}
        root = self.store.recorded_dir
        for lang in LANGUAGES:
            folder = root / lang
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                if (path.suffix in RECORDED_SUFFIXES and path.is_file() and not path.is_symlink()
                        and _safe(path.stem)):
                    files[f"{lang}/{path.name}"] = path.read_bytes()
        return files

    def restore_files(self, files: Mapping[str, bytes], *, check_only: bool = False
                      ) -> list[str]:
        """Check and decode every file first; write only when all are good (and not
        ``check_only``). The names, as ``<lang>/<name>``."""
        checked = []
        for key, data in sorted(files.items()):
            path = PurePosixPath(key)
            if (len(path.parts) != 2 or path.suffix not in RECORDED_SUFFIXES
                    or path.parts[0] not in LANGUAGES):
                raise Refused(f"backup prompt {key!r}: expected <language>/<name>.wav|.flac "
                              f"with a language of {', '.join(LANGUAGES)}",
                              code="bad_prompt_name")
            name, language = self._checked(path.stem, path.parts[0])
            checked.append((name, language, data))
        decoded = self.worker.run("prompts restore", decode_recordings, checked)
        if check_only:
            return [f"{language}/{name}" for name, language, _ in decoded]
        with self._writing:
            for name, language, audio in decoded:
                self._write_recording(name, language, audio)
                self._install(name, language, audio, "recording",
                              self._digest(name, language))
        return [f"{language}/{name}" for name, language, _ in decoded]


def decode_recording(name: str, language: str, data: bytes) -> np.ndarray:
    """An uploaded recording as the prompts' 8 kHz samples (in the worker process)."""
    where = f"prompt {name!r} ({language})"
    if len(data) > MAX_PROMPT_UPLOAD:
        raise TooLarge(f"{where}: the upload is {len(data) / 1e6:.1f} MB; at most "
                       f"{MAX_PROMPT_UPLOAD // (1024 * 1024)} MB (about five minutes of "
                       "16 kHz WAV); shorten or compress it (FLAC, MP3)")
    kind = sniff_audio(data)
    if kind is None:
        raise Refused(f"{where}: the upload is not WAV, FLAC or MP3 audio (its first "
                      f"bytes are {data[:8].hex(' ') or 'empty'}); export the recording "
                      "as WAV, FLAC or MP3", code="unsupported_type")
    try:
        audio = transcode(data, target_dbm0=PROMPT_LEVEL_DBM0)
    except MediaError as exc:
        raise Refused(f"{where}: the {kind.upper()} file cannot be used: {exc}",
                      code="bad_audio") from None
    seconds = len(audio) / RATE
    if not MIN_RECORDED_SECONDS <= seconds <= MAX_RECORDED_SECONDS:
        raise Refused(f"{where}: the recording is {seconds:.2f} s long; expected "
                      f"{MIN_RECORDED_SECONDS}-{MAX_RECORDED_SECONDS:.0f} s",
                      code="bad_audio")
    return audio


def synthesise_audio(name: str, language: str, text: str) -> np.ndarray:
    """A synthesised placeholder's 8 kHz samples, built in a scratch store (in the worker
    process)."""
    with tempfile.TemporaryDirectory(prefix="branchline-tts-") as scratch:
        temp = PromptStore(scratch, {name: {language: text}}, [language], units={})
        report = temp.build(workers=1)
        if not report.ok:
            problem = report.failed[0].message if report.failed else "nothing was made"
            raise Refused(f"prompt {name!r} ({language}): {problem}", code="synthesis_failed")
        return temp.audio(name, language)


def decode_recordings(items: list[tuple[str, str, bytes]]) -> list[tuple[str, str, np.ndarray]]:
    """Every ``(name, language, data)`` decoded, or the first one's error (worker process)."""
    return [(name, language, decode_recording(name, language, data))
            for name, language, data in items]


def _safe(stem: str) -> bool:
    try:
        check_name(stem)
    except PromptError:
        return False
    return True


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)
