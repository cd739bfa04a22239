"""Recorded prompts override synthesis: transcoded once, at the prompt level, redone on change."""

import numpy as np
import pytest
import soundfile

from branchline.dsp import active_level_dbm0
from branchline.firmware.prompts.store import PROMPT_LEVEL_DBM0, PromptStore

TEXTS = {"main.short": {"en": "Balance 1, a person 0."}}


def voice_like(seconds, rate, seed):
    """A loud, speech-band, syllable-modulated noise: a stand-in for a person's recording."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * rate)) / rate
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, None)
    return 0.5 * envelope * np.sin(2 * np.pi * 300 * t + rng.normal(0, 0.3, t.size))


def record(root, name, lang, suffix=".wav", seconds=1.5, rate=16000, seed=0):
    path = root / "prompts" / "recorded" / lang / f"{name}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, voice_like(seconds, rate, seed), rate)
    return path


def test_a_recording_replaces_the_synthesised_prompt(tmp_path):
    record(tmp_path, "main.short", "en", seconds=1.5)
    store = PromptStore(tmp_path, TEXTS, ("en",), units={})
    report = store.build()
    assert report.recorded == (("main.short", "en"),)
    assert report.synthesised == ()
    audio = store.audio("main.short", "en")
    assert len(audio) == 12000  # 1.5 s at 8 kHz, untrimmed
    assert active_level_dbm0(audio) == pytest.approx(PROMPT_LEVEL_DBM0, abs=0.5)


def test_flac_recordings_are_accepted(tmp_path):
    record(tmp_path, "main.short", "en", suffix=".flac", rate=44100)
    report = PromptStore(tmp_path, TEXTS, ("en",), units={}).build()
    assert report.recorded == (("main.short", "en"),)


def test_a_recording_is_transcoded_once_and_again_when_it_changes(tmp_path):
    record(tmp_path, "main.short", "en", seconds=1.0)
    PromptStore(tmp_path, TEXTS, ("en",), units={}).build()
    again = PromptStore(tmp_path, TEXTS, ("en",), units={}).build()
    assert again.recorded == () and again.unchanged == 1
    record(tmp_path, "main.short", "en", seconds=2.0, seed=1)
    store = PromptStore(tmp_path, TEXTS, ("en",), units={})
    assert store.build().recorded == (("main.short", "en"),)
    assert store.seconds("main.short", "en") == pytest.approx(2.0)


def test_removing_the_recording_brings_back_synthesis(tmp_path):
    path = record(tmp_path, "main.short", "en")
    PromptStore(tmp_path, TEXTS, ("en",), units={}).build()
    path.unlink()
    report = PromptStore(tmp_path, TEXTS, ("en",), units={}).build()
    assert report.synthesised == (("main.short", "en"),)


def test_a_recording_without_text_is_a_prompt_too(tmp_path):
    record(tmp_path, "bank.jingle", "en")
    store = PromptStore(tmp_path, TEXTS, ("en",), units={})
    store.build()
    assert store.text("bank.jingle", "en") == "[bank.jingle]"
    assert store.catalog().has("bank.jingle", "en")
    assert store.items_text(("bank.jingle", "main.short"), "en") == \
        "[bank.jingle] Balance 1, a person 0."


def test_a_broken_recording_fails_its_prompt_and_the_rest_are_built(tmp_path):
    path = tmp_path / "prompts" / "recorded" / "en" / "main.short.wav"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"RIFF not really a wav")
    store = PromptStore(tmp_path, TEXTS, ("en",), units={"en": {"num/2": "two"}})
    report = store.build()
    assert [(p.name, p.lang) for p in report.failed] == [("main.short", "en")]
    assert "cannot decode" in report.failed[0].message
    assert report.synthesised == (("num/2", "en"),)
    assert not report.ok


def test_a_too_short_recording_is_rejected(tmp_path):
    record(tmp_path, "main.short", "en", seconds=0.05)
    report = PromptStore(tmp_path, TEXTS, ("en",), units={}).build()
    assert "0.05 s long; expected 0.1-300 s" in report.failed[0].message
