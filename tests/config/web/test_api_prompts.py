"""Prompts through the API: list, play back, upload by content, synthesise; names never paths."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile
from runtime_harness import bank_url, prompts_dir  # noqa: F401 (fixtures)
from web_harness import WebHarness

from branchline.config.web.link import Refused
from branchline.firmware.records.database import Records

NAME = "common.goodbye"


@pytest.fixture
def h(tmp_path, prompts_dir, bank_url):  # noqa: F811
    harness = WebHarness(tmp_path, prompts_dir=prompts_dir, bank_url=bank_url)
    yield harness
    harness.close()


def _tone(fmt: str, *, rate=16000, seconds=1.5, hz=440.0) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    out = io.BytesIO()
    soundfile.write(out, 0.3 * np.sin(2 * np.pi * hz * t), rate, format=fmt)
    return out.getvalue()


def _files(root):
    return {p for p in root.rglob("*") if p.is_file()}


def _upload(client, name, data, language="zh", filename="take1.wav"):
    return client.put(f"/api/prompts/{name}/{language}",
                      files={"file": (filename, data, "application/octet-stream")})


def test_viewer_lists_prompts_and_plays_one(h):
    viewer = h.client("viewer")
    rows = viewer.get("/api/prompts").json()
    goodbye = {r["language"]: r for r in rows if r["name"] == NAME}
    assert set(goodbye) == {"zh", "yue", "en"}
    assert goodbye["zh"]["source"] == "synthesised"
    assert goodbye["zh"]["text"] == "感谢您的来电，再见。"
    assert goodbye["zh"]["duration_s"] > 0.5
    audio = viewer.get(f"/api/prompts/{NAME}/zh.wav")
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/wav"
    samples, rate = soundfile.read(io.BytesIO(audio.content), dtype="int16")
    assert rate == 8000
    assert len(samples) / rate == pytest.approx(goodbye["zh"]["duration_s"], abs=0.01)


@pytest.mark.parametrize(("fmt", "filename"), [("WAV", "a.mp3"), ("FLAC", "a.txt"),
                                               ("MP3", "recording")])
def test_upload_is_told_by_content_and_the_loop_plays_it_next(h, fmt, filename):
    admin = h.client()
    reply = _upload(admin, NAME, _tone(fmt), filename=filename)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["source"], body["language"]) == ("recorded", "zh")
    assert body["duration_s"] == pytest.approx(1.5, abs=0.06)  # MP3 pads a frame or so
    recorded = h.app.prompts.recorded_dir / "zh" / f"{NAME}.wav"
    assert recorded.is_file()
    h.run(0.02)  # the loop swaps the audio in at its next tick
    assert len(h.app.prompts.audio(NAME, "zh")) == round(body["duration_s"] * 8000)
    listed = {(r["name"], r["language"]): r for r in admin.get("/api/prompts").json()}
    assert listed[(NAME, "zh")]["source"] == "recorded"
    with Records(h.data_dir / "records.db") as records:
        assert any(e.what == f"prompt {NAME} (zh): recording uploaded"
                   for e in records.audit())


def test_not_audio_is_refused_and_nothing_is_written(h):
    admin = h.client()
    before = _files(h.tmp_path / "prompt-store")
    reply = _upload(admin, NAME, b"#!/bin/sh\nrm -rf /\n", filename="x.wav")
    assert reply.status_code == 422
    error = reply.json()["error"]
    assert error["code"] == "unsupported_type"
    assert "not WAV, FLAC or MP3 audio" in error["message"]
    assert _files(h.tmp_path / "prompt-store") == before


def test_a_traversal_name_is_refused_and_nothing_lands_outside_the_store(h):
    admin = h.client()
    everything = _files(h.tmp_path)
    for name in (".hidden", "..", "a..b/../../x"):
        reply = _upload(admin, name.replace("/", "%2F"), _tone("WAV"))
        assert reply.status_code in (404, 422), (name, reply.text)
    reply = _upload(admin, ".profile", _tone("WAV"))
    assert reply.json()["error"]["code"] == "bad_prompt_name"
    with pytest.raises(Refused, match="is not allowed"):
        h.link.store_prompt("../../../../etc/evil", "zh", _tone("WAV"), who="admin")
    with pytest.raises(Refused, match="'/' is reserved for speech units"):
        h.link.store_prompt("num/2", "zh", _tone("WAV"), who="admin")
    new = _files(h.tmp_path) - everything
    assert all("records.db" in p.name or "accounts.db" in p.name for p in new), new


def test_unknown_language_too_large_and_viewer_are_refused(h):
    admin = h.client()
    reply = _upload(admin, NAME, _tone("WAV"), language="fr")
    assert reply.status_code == 422
    assert reply.json()["error"]["code"] == "bad_language"
    big = _upload(admin, NAME, b"RIFF" + b"\x00" * (10 * 1024 * 1024 + 10))
    assert big.status_code == 413
    viewer = h.client("viewer")
    assert _upload(viewer, NAME, _tone("WAV")).status_code == 403


def test_synthesise_a_placeholder(h):
    admin = h.client()
    reply = admin.post("/api/prompts/promo.autumn/en/synthesise",
                       json={"text": "We are open from nine to five."})
    assert reply.status_code == 200, reply.text
    assert (reply.json()["source"], reply.json()["in_document"]) == ("synthesised", False)
    audio = admin.get("/api/prompts/promo.autumn/en.wav")
    assert audio.status_code == 200
    h.run(0.02)
    assert len(h.app.prompts.audio("promo.autumn", "en")) > 8000


def test_synthesise_over_a_recording_is_refused(h):
    admin = h.client()
    assert _upload(admin, NAME, _tone("WAV")).status_code == 200
    reply = admin.post(f"/api/prompts/{NAME}/zh/synthesise", json={"text": "再见"})
    assert reply.status_code == 422
    assert reply.json()["error"]["code"] == "has_recording"


def test_missing_audio_is_404(h):
    viewer = h.client("viewer")
    reply = viewer.get("/api/prompts/no.such.prompt/zh.wav")
    assert reply.status_code == 404
    assert "has no audio yet" in reply.json()["error"]["message"]
