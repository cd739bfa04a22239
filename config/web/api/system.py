"""The appliance itself: board and ports, self-test, logs, backup and restore, the audit log.

    GET  /api/system            viewer+  firmware version, board, ports and line state
    POST /api/system/selftest   admin    every port's receive chain (DTMF, busy tone)
    GET  /api/system/logs       admin    the last lines of the log, as a text download
    GET  /api/system/backup     admin    every config version, the drafts, recorded prompts
    POST /api/system/restore    admin    a backup (multipart field ``file``): checked whole,
                                         then its current version published as a new version
    GET  /api/audit             admin    who changed what, when (``?since=`` epoch seconds)

The archive is read and its document checked in the worker process (``config.web.worker``:
the archive is untrusted and parsing it must never hold up the media loop); the publish, the
prompts' install and the audit happen here, from the data the worker hands back.
Restore never rewrites history: the archive's version in force is published as the next
version with the note "restored from backup ...", after ``backup.read_backup`` (size, names,
links, sha256 of every file) and ``check_document`` passed; if anything is wrong, nothing
changes and the error says what. Drafts in the archive are listed, not restored (they are
someone's unfinished work; restoring them could overwrite newer work). Recorded prompts are
all decoded before the publish and installed after it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import PlainTextResponse, Response

from branchline.config.document.loading import check_document
from branchline.config.store.versioned import ConfigConflict, ConfigRefused
from branchline.config.web.auth import AdminUser, AnyUser
from branchline.config.web.backup import MAX_ARCHIVE, BackupInvalid, make_backup, read_backup
from branchline.config.web.errors import api_error, issues_from_report

__all__ = ["ArchiveChecked", "check_archive", "router"]

router = APIRouter(tags=["system"])


@router.get("/api/system", summary="Firmware version, board, ports and line state")
def system(request: Request, user: AnyUser) -> dict:
    link = request.app.state.link
    return {"firmware_version": link.firmware_version(), "board": link.board_status()}


@router.post("/api/system/selftest", summary="Run the self-test of every port")
def selftest(request: Request, user: AdminUser) -> dict:
    link = request.app.state.link
    result = link.selftest()
    failed = [p["name"] for p in result.get("ports", []) if not p.get("ok")]
    link.audit(user.name, "self-test: " + ("passed" if result.get("ok") else
                                           f"FAILED on {', '.join(failed)}"), "")
    return result


@router.get("/api/system/logs", summary="The last lines of the appliance log",
            response_class=PlainTextResponse)
def logs(request: Request, user: AdminUser,
         lines: Annotated[int, Query(ge=1, le=5000)] = 1000) -> Response:
    text = request.app.state.link.log_tail(lines)
    return Response(text, media_type="text/plain; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="branchline.log"'})


@router.get("/api/system/backup", summary="Download a backup of the whole configuration",
            response_class=Response,
            responses={200: {"content": {"application/gzip": {}}}})
def backup(request: Request, user: AdminUser) -> Response:
    link = request.app.state.link
    now = dt.datetime.now(dt.UTC)
    data = make_backup(request.app.state.store, link.recorded_prompt_files(),
                       firmware=link.firmware_version(), now=now)
    link.audit(user.name, "backup downloaded", f"{len(data)} bytes")
    name = f"branchline-backup-{now.strftime('%Y%m%dT%H%M%SZ')}.tar.gz"
    return Response(data, media_type="application/gzip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@dataclass(frozen=True, slots=True)
class ArchiveChecked:
    """What the restore needs of an archive that ``check_archive`` found sound."""

    created: str
    firmware: str
    current: int
    text: str  # the archive's version in force
    versions: list[int]
    drafts: list[str]
    prompts: Mapping[str, bytes]
    issues: list[dict] | None  # the document's issues when it does not validate


def check_archive(data: bytes) -> ArchiveChecked:
    """Read the archive and check its document: the worker process's part of a restore."""
    archive = read_backup(data)
    text = archive.versions[archive.current]
    document, report = check_document(text)
    return ArchiveChecked(created=archive.created, firmware=archive.firmware,
                          current=archive.current, text=text,
                          versions=sorted(archive.versions), drafts=sorted(archive.drafts),
                          prompts=archive.prompts,
                          issues=None if document is not None else issues_from_report(report))


@router.post("/api/system/restore", summary="Restore a backup (published as a new version)")
def restore(request: Request,
            file: Annotated[UploadFile, File(description="the .tar.gz backup")],
            user: AdminUser) -> dict:
    data = file.file.read(MAX_ARCHIVE + 1)
    try:
        archive = request.app.state.worker.run("restore", check_archive, data)
    except BackupInvalid as exc:
        raise api_error(422, "backup_invalid", f"{exc}; the current configuration "
                        "stays") from None
    text = archive.text
    if archive.issues is not None:
        raise api_error(422, "validation_failed",
                        f"backup: version {archive.current} of the archive does not validate "
                        "with this release; the current configuration stays",
                        issues=archive.issues)
    link, store = request.app.state.link, request.app.state.store
    # Every recording is decoded before anything changes; they are installed after the
    # publish, so a refused publish leaves the prompts as they were too.
    link.restore_prompt_files(archive.prompts, user.name, check_only=True)
    base = store.current_number()
    note = (f"restored from backup of {archive.created or 'unknown date'} "
            f"(its version {archive.current})")
    try:
        published = store.publish(text, who=user.name, note=note, base=base)
    except ConfigRefused as exc:
        raise api_error(422, "validation_failed", str(exc),
                        issues=issues_from_report(exc.report)) from None
    except ConfigConflict as exc:
        raise api_error(409, "conflict", f"{exc}; try the restore again") from None
    prompts = link.restore_prompt_files(archive.prompts, user.name)
    link.audit(user.name, f"restore: backup version {archive.current} published as version "
               f"{published.info.number}", store.diff(base, published.info.number)
               if base is not None else "")
    return {
        "published": published.info.number, "from_version": archive.current,
        "previous": base, "note": note, "created": archive.created,
        "firmware": archive.firmware, "versions_in_archive": archive.versions,
        "drafts_not_restored": archive.drafts, "prompts_restored": prompts,
        "warnings": [w.message if hasattr(w, "message") else str(w)
                     for w in published.warnings],
    }


@router.get("/api/audit", summary="The audit log: who changed what, when")
def audit(request: Request, user: AdminUser,
          since: Annotated[float, Query(ge=0, le=4_102_444_800)] = 0.0) -> list[dict]:
    return request.app.state.link.audit_entries(since)
