"""System endpoints: board and ports, self-test, logs, backup and restore, the audit log."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import numpy as np
import pytest
import soundfile
from runtime_harness import bank_url, prompts_dir  # noqa: F401 (fixtures)
from web_harness import WebHarness

from branchline.config.web.backup import read_backup


@pytest.fixture
def h(tmp_path, prompts_dir, bank_url):  # noqa: F811
    harness = WebHarness(tmp_path, prompts_dir=prompts_dir, bank_url=bank_url)
    yield harness
    harness.close()


def _wav() -> bytes:
    out = io.BytesIO()
    t = np.arange(8000) / 8000
    soundfile.write(out, 0.3 * np.sin(2 * np.pi * 500 * t), 8000, format="WAV")
    return out.getvalue()


def test_viewer_sees_firmware_board_and_ports(h):
    h.run(1)
    body = h.client("viewer").get("/api/system").json()
    assert body["firmware_version"] == h.link.firmware_version()
    board = body["board"]
    assert board["driver"] == "sim"
    kinds = {p["name"]: p["kind"] for p in board["ports"]}
    assert kinds["fxo1"] == "trunk" and kinds["fxs1"] == "station"
    assert board["config_version"] == h.store.current_number()
    assert board["link"] is None  # the simulated board has no link to lose


def test_selftest_is_for_admins_and_checks_every_port(h):
    assert h.client("supervisor").post("/api/system/selftest").status_code == 403
    admin = h.client()
    reply = admin.post("/api/system/selftest")
    assert reply.status_code == 200
    body = reply.json()
    assert body["ok"] is True
    assert [p["name"] for p in body["ports"]] == [p.name for p in h.app.board.ports]
    assert all(p["heard"] == p["sent"] and p["busy_tone"] for p in body["ports"])
    audit = admin.get("/api/audit").json()
    assert audit[-1]["what"] == "self-test: passed"


def test_logs_download_holds_recent_masked_lines(h):
    import logging

    logging.getLogger("branchline.test").warning("card 6222021234567894 reported lost")
    admin = h.client()
    reply = admin.get("/api/system/logs", params={"lines": 50})
    assert reply.status_code == 200
    assert reply.headers["content-disposition"] == 'attachment; filename="branchline.log"'
    assert "first run" in reply.text
    assert "7894 reported lost" in reply.text
    assert "6222021234567894" not in reply.text
    assert h.client("viewer").get("/api/system/logs").status_code == 403


def test_backup_holds_every_version_drafts_and_recordings(h):
    admin = h.client()
    upload = admin.put("/api/prompts/common.goodbye/zh",
                       files={"file": ("bye.wav", _wav(), "audio/wav")})
    assert upload.status_code == 200
    admin.put("/api/draft", json={"base": h.store.current_number(), "revision": 0,
                                  "text": h.store.current().text + "\n# my draft\n"})
    reply = admin.get("/api/system/backup")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/gzip"
    backup = read_backup(reply.content)
    assert sorted(backup.versions) == [v.number for v in h.store.history()]
    assert backup.current == h.store.current_number()
    assert set(backup.prompts) == {"zh/common.goodbye.wav"}
    assert [d.user for d in h.store.drafts()] == sorted(backup.drafts)
    assert h.client("supervisor").get("/api/system/backup").status_code == 403


def _restore(client, data):
    return client.post("/api/system/restore",
                       files={"file": ("backup.tar.gz", data, "application/gzip")})


def test_restore_publishes_the_archived_version_as_a_new_one(h):
    admin = h.client()
    archived = h.store.current_number()
    admin.put("/api/prompts/common.goodbye/zh", files={"file": ("bye.wav", _wav(), "audio/wav")})
    data = admin.get("/api/system/backup").content
    recording = h.app.prompts.recorded_dir / "zh" / "common.goodbye.wav"
    recording.unlink()
    h.runtime.publish(lambda d: d["site"].update(name="Changed branch"), note="later change")
    before = h.store.current_number()
    reply = _restore(admin, data)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["from_version"] == archived
    assert body["published"] == before + 1 == h.store.current_number()
    assert h.store.current().text == h.store.get(archived).text
    assert h.store.current().info.note.startswith("restored from backup of ")
    assert body["prompts_restored"] == ["zh/common.goodbye"]
    assert recording.is_file()
    h.run(1)  # the loop sees the new version and checks it off the loop
    h.app.wait_config_loaded()
    h.run(1)
    assert h.app.config.version == before + 1  # the running appliance took it
    assert any(e["what"].startswith(f"restore: backup version {archived} published")
               for e in admin.get("/api/audit").json())


def _members(data):
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isreg()}


def _pack(files):
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb") as packed, \
            tarfile.open(fileobj=packed, mode="w") as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return out.getvalue()


def test_a_tampered_archive_is_refused_and_the_current_version_stays(h):
    admin = h.client()
    files = _members(admin.get("/api/system/backup").content)
    current = h.store.current_number()
    name = f"config/versions/{current:06d}.yaml"
    files[name] += b"\n# an edit made outside the appliance\n"
    reply = _restore(admin, _pack(files))
    assert reply.status_code == 422
    error = reply.json()["error"]
    assert error["code"] == "backup_invalid"
    assert f"{name} does not match the sha256" in error["message"]
    assert error["message"].endswith("the current configuration stays")
    assert h.store.current_number() == current


def test_an_archive_whose_document_does_not_validate_is_refused(h):
    admin = h.client()
    files = _members(admin.get("/api/system/backup").content)
    current = h.store.current_number()
    name = f"config/versions/{current:06d}.yaml"
    files[name] = b"site: {}\n"
    manifest = json.loads(files["manifest.json"])
    manifest["files"][name] = {"sha256": hashlib.sha256(files[name]).hexdigest(),
                               "size": len(files[name])}
    files["manifest.json"] = json.dumps(manifest).encode()
    reply = _restore(admin, _pack(files))
    assert reply.status_code == 422
    error = reply.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["issues"] and all({"path", "fix"} <= i.keys() for i in error["issues"])
    assert h.store.current_number() == current


def test_restore_of_a_traversal_archive_writes_nothing(h):
    admin = h.client()
    files = _members(admin.get("/api/system/backup").content)
    files["../../../../tmp/branchline-evil"] = b"x"
    current = h.store.current_number()
    reply = _restore(admin, _pack(files))
    assert reply.status_code == 422
    assert "climbs out with '..'" in reply.json()["error"]["message"]
    assert h.store.current_number() == current
    assert not (h.tmp_path.parent / "branchline-evil").exists()


def test_audit_is_for_admins(h):
    assert h.client("supervisor").get("/api/audit").status_code == 403
    entries = h.client().get("/api/audit").json()
    assert entries[0]["what"].startswith("first-run setup")


def test_a_bad_recording_in_the_archive_changes_nothing(h):
    admin = h.client()
    files = _members(admin.get("/api/system/backup").content)
    name = "prompts/recorded/zh/common.goodbye.wav"
    files[name] = b"RIFF\x10\x00\x00\x00WAVEnot really audio"
    manifest = json.loads(files["manifest.json"])
    manifest["files"][name] = {"sha256": hashlib.sha256(files[name]).hexdigest(),
                               "size": len(files[name])}
    files["manifest.json"] = json.dumps(manifest).encode()
    current = h.store.current_number()
    reply = _restore(admin, _pack(files))
    assert reply.status_code == 422
    assert reply.json()["error"]["code"] == "bad_audio"
    assert h.store.current_number() == current
    assert not (h.app.prompts.recorded_dir / "zh" / "common.goodbye.wav").exists()


def test_a_pax_header_bomb_is_refused_with_the_limit_it_passed(h):
    # 362 bytes that the standard library's tarfile takes half a minute to parse
    # (CVE-2024-6232); the bounded reader refuses it at the header, in the worker process.
    header = tarfile.TarInfo("././@PaxHeader")
    header.size, header.type = 256 * 1024, tarfile.XHDTYPE
    bomb = gzip.compress(header.tobuf(tarfile.USTAR_FORMAT) + b"0" * header.size
                         + bytes(1024))
    admin = h.client()
    current = h.store.current_number()
    reply = _restore(admin, bomb)
    assert reply.status_code == 422
    error = reply.json()["error"]
    assert error["code"] == "backup_invalid"
    assert ("the archive has a pax extended header of 262144 bytes; at most 16384 bytes are "
            "allowed") in error["message"]
    assert h.store.current_number() == current
