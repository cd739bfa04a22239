"""The backup archive: what goes in, and everything a tampered archive is refused for."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import re
import tarfile

import pytest

from branchline.config.document.loading import check_document, default_document_text
from branchline.config.store.versioned import ConfigStore
from branchline.config.web.backup import BackupInvalid, make_backup, read_backup

NOW = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "  # the bytes only need to survive the round trip here


@pytest.fixture
def store(tmp_path):
    store = ConfigStore(tmp_path, check_document)
    store.initialise(default_document_text())
    text = store.current().text.replace("name:", "name:", 1)
    store.publish(text + "\n# second\n", who="ann", note="second", base=1)
    store.save_draft("bob", text + "\n# bob's idea\n", base=2, revision=0)
    return store


def _archive(store, prompts=None):
    return make_backup(store, prompts or {"zh/main.welcome.wav": WAV}, firmware="0.1.0",
                       now=NOW)


def test_round_trip_holds_every_version_draft_and_recording(store):
    backup = read_backup(_archive(store))
    assert backup.current == 2
    assert sorted(backup.versions) == [1, 2]
    assert backup.versions[2] == store.get(2).text
    assert backup.version_info[2]["who"] == "ann"
    assert backup.drafts["bob"].endswith("# bob's idea\n")
    assert backup.prompts == {"zh/main.welcome.wav": WAV}
    assert (backup.created, backup.firmware) == ("2026-11-23T09:30:00+00:00", "0.1.0")


def test_the_same_store_gives_the_same_bytes(store):
    assert _archive(store) == _archive(store)


def _members(data):
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isreg()}


def _pack(files, extra=()):
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as packed, \
            tarfile.open(fileobj=packed, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)
    return out.getvalue()


def _with_manifest(files):
    manifest = json.loads(files["manifest.json"])
    manifest["files"] = {p: {"sha256": hashlib.sha256(b).hexdigest(), "size": len(b)}
                         for p, b in files.items() if p != "manifest.json"}
    return {**files, "manifest.json": json.dumps(manifest).encode()}


def test_an_edited_version_is_refused(store):
    files = _members(_archive(store))
    files["config/versions/000002.yaml"] += b"\n# sneaky\n"
    with pytest.raises(BackupInvalid, match=re.escape("000002.yaml does not match the sha256 in "
                                                      "manifest.json; the file was altered")):
        read_backup(_pack(files))


def test_an_unlisted_file_is_refused(store):
    files = _members(_archive(store))
    files["config/drafts/eve.yaml"] = b"x: 1\n"
    unlisted = re.escape("eve.yaml is in the archive but not in manifest")
    with pytest.raises(BackupInvalid, match=unlisted):
        read_backup(_pack(files))


@pytest.mark.parametrize(("name", "expected"), [
    ("/etc/passwd", "is an absolute path"),
    ("../../etc/cron.d/x", "climbs out with '..'"),
    ("prompts/recorded/zh/../../../../x.wav", "climbs out with '..'"),
    ("config\\versions\\000001.yaml", "backslashes"),
    ("config/other.txt", "is not a file a backup holds"),
])
def test_member_names_that_could_escape_are_refused(store, name, expected):
    files = _with_manifest({**_members(_archive(store)), name: b"data"})
    with pytest.raises(BackupInvalid, match=expected):
        read_backup(_pack(files))


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE,
                                  tarfile.FIFOTYPE])
def test_links_and_special_files_are_refused(store, kind):
    link = tarfile.TarInfo("prompts/recorded/zh/evil.wav")
    link.type, link.linkname = kind, "/etc/shadow"
    with pytest.raises(BackupInvalid, match="regular files only"):
        read_backup(_pack(_members(_archive(store)), extra=[link]))


def test_size_limits(store):
    data = _archive(store)
    with pytest.raises(BackupInvalid, match="at most 0 MB"):
        read_backup(data, max_archive=100)
    with pytest.raises(BackupInvalid, match="unpacks to more than"):
        read_backup(data, max_unpacked=1000)


def test_not_an_archive_and_not_ours():
    with pytest.raises(BackupInvalid, match="not a gzip file"):
        read_backup(b"PK\x03\x04 a zip")
    with pytest.raises(BackupInvalid, match=re.escape("manifest.json is missing")):
        read_backup(_pack({"config/current": b"000001\n"}))
    with pytest.raises(BackupInvalid, match="cannot be read"):
        read_backup(b"\x1f\x8b" + b"\x00" * 40)


def test_current_pointer_must_name_a_version_in_the_archive(store):
    files = _members(_archive(store))
    files["config/current"] = b"000009\n"
    with pytest.raises(BackupInvalid, match="names version 9, which the archive does not"):
        read_backup(_pack(_with_manifest(files)))


def test_a_missing_listed_file_is_refused(store):
    files = _members(_archive(store))
    del files["config/versions/000001.yaml"]
    with pytest.raises(BackupInvalid, match=re.escape("lists config/versions/000001.yaml but the "
                                                      "archive lacks it")):
        read_backup(_pack(files))
