"""The backup archive of an appliance's configuration: its format, writing it, checking it.

Pure: bytes in, bytes or values out; no file is written here and nothing is extracted to disk.

Format (``FORMAT`` 1): a gzip-compressed POSIX tar (``.tar.gz``) of regular files only::

    manifest.json                      {"format": 1, "created": ISO 8601 UTC, "firmware": ...,
                                        "current": 7, "files": {path: {"sha256", "size"}},
                                        "versions": {"7": {who, at, note, parent, sha256}},
                                        "drafts": {user: {base, revision, saved_at}}}
    config/current                     "000007\\n": the version in force
    config/versions/000001.yaml ...    every published version, as published
    config/drafts/<user>.yaml          every saved draft (work in progress)
    prompts/recorded/<lang>/<name>.wav|.flac   recordings (synthesised prompts are rebuilt
                                               from the document's texts, so they are left out)

User accounts and sessions are not in it (``accounts.db``): a restore must never bring back
an old password.

``read_backup(data)`` trusts nothing: the archive must be at most ``MAX_ARCHIVE`` bytes and
unpack to at most ``MAX_UNPACKED`` in at most ``MAX_MEMBERS`` members, with no pax or GNU
long-name header over ``MAX_HEADER``, all checked while the gzip stream is inflated block by
block (``targz.read_members``: the standard library's tarfile is not used to read, its pax
parser is quadratic); every member must be a
regular file or a directory (no links, devices or FIFOs) with a relative name free of ``..``,
backslashes and absolute paths, under one of the known folders; ``manifest.json`` must list
every file with its sha256 and size, and every listed file must be there and match; the
current pointer must name a version of the archive. A failure raises ``BackupInvalid`` naming
the member, what is wrong and what would be right. Checking the document itself is the
caller's next step (``check_document``), before anything is published.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import re
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from branchline.config.web.targz import ArchiveInvalid, ArchiveLimit, Limits, Member, read_members

__all__ = [
    "FORMAT",
    "MAX_ARCHIVE",
    "MAX_HEADER",
    "MAX_MEMBERS",
    "MAX_UNPACKED",
    "Backup",
    "BackupInvalid",
    "make_backup",
    "read_backup",
]

FORMAT = 1
# Our limits: a branch's configuration is well under 1 MB; recordings are at most 10 MB each.
MAX_ARCHIVE = 64 * 1024 * 1024
MAX_UNPACKED = 512 * 1024 * 1024
MAX_MEMBERS = 20_000
# A pax or GNU long-name header: ours are under 1 KB (a long prompt name at most).
MAX_HEADER = 16 * 1024
_VERSION = re.compile(r"config/versions/(\d{6})\.yaml")
_DRAFT = re.compile(r"config/drafts/([A-Za-z0-9_][A-Za-z0-9_.-]{0,63})\.yaml")
_PROMPT = re.compile(r"prompts/recorded/([a-z]{2,3})/([A-Za-z0-9_][A-Za-z0-9_.^-]*\.(wav|flac))")
_CURRENT = "config/current"
_MANIFEST = "manifest.json"


class BackupInvalid(ValueError):
    """The archive cannot be restored; the message says which member, what and the fix."""


@dataclass(frozen=True, slots=True)
class Backup:
    """What a checked archive holds."""

    created: str
    firmware: str
    current: int
    versions: Mapping[int, str]  # number -> YAML text
    version_info: Mapping[int, Mapping]  # number -> who, at, note, parent, sha256
    drafts: Mapping[str, str] = field(default_factory=dict)  # user -> YAML text
    prompts: Mapping[str, bytes] = field(default_factory=dict)  # "<lang>/<name>.wav" -> bytes


def make_backup(store, prompt_files: Mapping[str, bytes], *, firmware: str,
                now: dt.datetime | None = None) -> bytes:
    """The archive of ``store`` (a ``ConfigStore``) and the recorded prompts, as bytes."""
    files: dict[str, bytes] = {}
    infos = {}
    for info in store.history():
        files[f"config/versions/{info.number:06d}.yaml"] = store.get(info.number).text.encode()
        infos[str(info.number)] = {"who": info.who, "at": info.at, "note": info.note,
                                   "parent": info.parent, "sha256": info.sha256}
    current = store.current_number()
    if current is None:
        raise BackupInvalid("backup: the configuration store has no published version yet; "
                            "publish one first")
    files[_CURRENT] = f"{current:06d}\n".encode()
    drafts = {}
    for draft in store.drafts():
        files[f"config/drafts/{draft.user}.yaml"] = draft.text.encode()
        drafts[draft.user] = {"base": draft.base, "revision": draft.revision,
                              "saved_at": draft.saved_at}
    for key, data in sorted(prompt_files.items()):
        files[f"prompts/recorded/{key}"] = bytes(data)
    created = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    manifest = {
        "format": FORMAT, "created": created.isoformat(timespec="seconds"),
        "firmware": firmware, "current": current,
        "files": {path: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                  for path, data in sorted(files.items())},
        "versions": infos, "drafts": drafts,
    }
    stamp = created.timestamp()
    out = io.BytesIO()
    # mtime=0 in the gzip header and sorted members: the same store gives the same bytes.
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as packed, \
            tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, _MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode(), stamp)
        for path, data in sorted(files.items()):
            _add(tar, path, data, stamp)
    return out.getvalue()


def _add(tar: tarfile.TarFile, path: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(path)
    info.size, info.mtime, info.mode = len(data), int(mtime), 0o644
    tar.addfile(info, io.BytesIO(data))


def read_backup(data: bytes, *, max_archive: int = MAX_ARCHIVE,
                max_unpacked: int = MAX_UNPACKED) -> Backup:
    """Check an archive completely and return what it holds (module docstring)."""
    if len(data) > max_archive:
        raise BackupInvalid(f"backup: the archive is {len(data) / 1e6:.1f} MB; at most "
                            f"{max_archive / 1e6:.0f} MB. Is it a Branchline backup?")
    if data[:2] != b"\x1f\x8b":
        raise BackupInvalid("backup: not a gzip file (a Branchline backup is a .tar.gz "
                            "downloaded from System > Backup)")
    files = _members(data, max_unpacked)
    manifest = _manifest(files)
    listed = manifest["files"]
    for path in sorted(set(files) - {_MANIFEST}):
        if path not in listed:
            raise BackupInvalid(f"backup: {path} is in the archive but not in manifest.json; "
                                "the archive was altered, use an unaltered backup")
    for path, entry in sorted(listed.items()):
        if path not in files:
            raise BackupInvalid(f"backup: manifest.json lists {path} but the archive lacks it; "
                                "the archive is incomplete, use a whole backup")
        body = files[path]
        if (not isinstance(entry, dict) or entry.get("size") != len(body)
                or entry.get("sha256") != hashlib.sha256(body).hexdigest()):
            raise BackupInvalid(f"backup: {path} does not match the sha256 in manifest.json; "
                                "the file was altered or damaged, use an unaltered backup")
    return _contents(files, manifest)


def _members(data: bytes, max_unpacked: int) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    limits = Limits(members=MAX_MEMBERS, unpacked_bytes=max_unpacked, header_bytes=MAX_HEADER)
    try:
        for member in read_members(data, limits):
            name = _checked_name(member)
            if member.kind == "5":
                continue
            if name in files:
                raise BackupInvalid(f"backup: {name} appears twice; use an unaltered "
                                    "backup")
            files[name] = member.data
    except ArchiveLimit as exc:
        raise BackupInvalid(f"backup: the archive {exc}; a Branchline backup stays far "
                            "inside that. Is it one (System > Backup makes them)?") from None
    except ArchiveInvalid as exc:
        raise BackupInvalid(f"backup: the archive cannot be read ({exc}); download the "
                            "backup again") from None
    return files


def _checked_name(member: Member) -> str:
    name = member.name
    where = f"backup: member {name!r}"
    if member.kind not in ("0", "5"):
        kind = "a link" if member.kind in ("1", "2") else "a special file"
        raise BackupInvalid(f"{where} is {kind}; a backup holds regular files only")
    if "\\" in name or "\x00" in name:
        raise BackupInvalid(f"{where}: backslashes and NUL are not allowed in member names")
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/"):
        raise BackupInvalid(f"{where} is an absolute path; members are relative "
                            "(config/versions/000001.yaml)")
    if ".." in path.parts:
        raise BackupInvalid(f"{where} climbs out with '..'; members stay inside the archive")
    clean = path.as_posix()
    if member.kind == "5":
        return clean
    if clean not in (_MANIFEST, _CURRENT) and not (
            _VERSION.fullmatch(clean) or _DRAFT.fullmatch(clean) or _PROMPT.fullmatch(clean)):
        raise BackupInvalid(f"{where} is not a file a backup holds; expected manifest.json, "
                            "config/current, config/versions/NNNNNN.yaml, "
                            "config/drafts/<user>.yaml or prompts/recorded/<lang>/<name>.wav")
    return clean


def _manifest(files: Mapping[str, bytes]) -> dict:
    if _MANIFEST not in files:
        raise BackupInvalid("backup: manifest.json is missing; this is not a Branchline "
                            "backup (download one from System > Backup)")
    try:
        manifest = json.loads(files[_MANIFEST])
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupInvalid(f"backup: manifest.json is not JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise BackupInvalid(f"backup: manifest.json format {found!r}; this release restores "
                            f"format {FORMAT}")
    if not isinstance(manifest.get("files"), dict):
        raise BackupInvalid("backup: manifest.json has no 'files' table of sha256 per file")
    return manifest


def _contents(files: Mapping[str, bytes], manifest: dict) -> Backup:
    versions = {}
    for path, body in files.items():
        match = _VERSION.fullmatch(path)
        if match:
            versions[int(match.group(1))] = _text(path, body)
    pointer = _text(_CURRENT, files.get(_CURRENT, b""))
    if not re.fullmatch(r"\d{6}\n", pointer):
        raise BackupInvalid(f"backup: config/current holds {pointer[:20]!r}; expected a "
                            "six-digit version number and a newline")
    current = int(pointer)
    if current not in versions:
        raise BackupInvalid(f"backup: config/current names version {current}, which the "
                            "archive does not hold; use a whole backup")
    info = manifest.get("versions") if isinstance(manifest.get("versions"), dict) else {}
    drafts = {m.group(1): _text(p, b) for p, b in files.items() if (m := _DRAFT.fullmatch(p))}
    prompts = {p.removeprefix("prompts/recorded/"): b for p, b in files.items()
               if _PROMPT.fullmatch(p)}
    return Backup(created=str(manifest.get("created", "")),
                  firmware=str(manifest.get("firmware", "")), current=current,
                  versions=versions,
                  version_info={int(k): v for k, v in info.items()
                                if str(k).isdigit() and isinstance(v, dict)},
                  drafts=drafts, prompts=prompts)


def _text(path: str, body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise BackupInvalid(f"backup: {path} is not UTF-8 text") from None
