"""Published versions: history, one version, differences, publish, rollback.

    GET  /api/versions                  viewer+  [{number, who, when, note, parent, current}]
    GET  /api/versions/diff?a=&b=       viewer+  a, b: a version number or "draft" (yours)
    GET  /api/versions/{n}              viewer+  the version with its text
    POST /api/versions                  admin    {note, base, revision}: publish your draft
    POST /api/versions/{n}/rollback     admin    {note}: version n again, as a new version

Publishing checks the draft first: with any error it is refused with 422
"validation_failed" and every issue (path, message, fix, line); the version in force stays.
If another admin published after your draft's base, 409 says who published what and when.
The diff is the unified diff of the YAML text plus a per-section summary of what changed
(the fields' dotted paths), computed in the worker process (``config.web.worker``). Every
publish and rollback is audited with its diff.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from branchline.config.document.yaml_text import YamlProblem, parse_yaml
from branchline.config.store.versioned import ConfigStore, Published, VersionInfo
from branchline.config.web.auth import AdminUser, AnyUser
from branchline.config.web.draft.view import IssueOut, store_errors
from branchline.config.web.errors import api_error, issue_dict

__all__ = ["changed_sections", "compare", "router"]

router = APIRouter(tags=["versions"])

MAX_PATHS = 50  # per section in a diff summary; the unified diff has everything


class VersionOut(BaseModel):
    number: int
    who: str
    when: str
    note: str
    parent: int | None
    current: bool


class VersionText(VersionOut):
    text: str
    sha256: str


class SectionChange(BaseModel):
    section: str
    change: str = Field(description="added, removed or changed")
    paths: list[str] = Field(description="the fields that differ (at most 50)")


class DiffOut(BaseModel):
    a: str
    b: str
    text: str = Field(description="unified diff of the YAML text")
    sections: list[SectionChange] | None = Field(
        description="what changed per section; null when either side is not readable YAML")


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=500, description="why: shown in the history")
    base: int | None
    revision: int = Field(ge=1, description="the draft revision being published")


class RollbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=500)


class PublishedOut(BaseModel):
    version: VersionOut
    warnings: list[IssueOut]


Side = Annotated[str, Query(pattern=r"^(\d{1,9}|draft)$",
                            description="a version number, or \"draft\" for your draft")]


def _store(request: Request) -> ConfigStore:
    return request.app.state.store


def _out(info: VersionInfo, current: int | None) -> VersionOut:
    return VersionOut(number=info.number, who=info.who, when=info.at, note=info.note,
                      parent=info.parent, current=info.number == current)


@router.get("/api/versions", summary="Every published version, newest first")
def history(request: Request, user: AnyUser) -> list[VersionOut]:
    store = _store(request)
    with store_errors():
        current = store.current_number()
        return [_out(info, current) for info in reversed(store.history())]


@router.get("/api/versions/diff", summary="What changed between two versions, or your draft")
def diff(request: Request, user: AnyUser, a: Side, b: Side) -> DiffOut:
    store = _store(request)
    with store_errors():
        texts = [_text(store, user.name, side) for side in (a, b)]
    names = [f"draft of {user.name}" if side == "draft" else f"version {side}" for side in (a, b)]
    text, sections = request.app.state.worker.run("diff", compare, *texts, *names)
    return DiffOut(a=a, b=b, text=text, sections=sections)


def compare(before: str, after: str, before_name: str, after_name: str
            ) -> tuple[str, list[SectionChange] | None]:
    """The unified diff and ``changed_sections``: run by the worker process (difflib and two
    YAML parses of a large document would hold the media loop's GIL for seconds)."""
    text = "".join(difflib.unified_diff(before.splitlines(keepends=True),
                                        after.splitlines(keepends=True), before_name,
                                        after_name))
    return text, changed_sections(before, after)


def _text(store: ConfigStore, user: str, side: str) -> str:
    return store.draft(user).text if side == "draft" else store.get(int(side)).text


@router.get("/api/versions/{number}", summary="One published version with its text")
def version(number: int, request: Request, user: AnyUser) -> VersionText:
    store = _store(request)
    with store_errors():
        got = store.get(number)
        current = store.current_number()
    return VersionText(**_out(got.info, current).model_dump(), text=got.text,
                       sha256=got.info.sha256)


@router.post("/api/versions", status_code=201, summary="Publish your draft")
def publish(body: PublishIn, request: Request, user: AdminUser) -> PublishedOut:
    store = _store(request)
    with store_errors():
        draft = store.draft(user.name)
        if draft.revision == 0:
            raise api_error(409, "no_draft", "you have no saved draft to publish; edit the "
                            "configuration and save it first")
        if (draft.base, draft.revision) != (body.base, body.revision):
            raise api_error(409, "conflict",
                            f"your draft is now at revision {draft.revision} on version "
                            f"{draft.base} (saved {draft.saved_at}), not revision "
                            f"{body.revision} on version {body.base} as this publish says; "
                            "reload it, check it, and publish again")
        published = store.publish_draft(user.name, note=body.note, revision=body.revision)
    return _published(request, published, user.name, f"published version "
                      f"{published.info.number}: {body.note}")


@router.post("/api/versions/{number}/rollback", status_code=201,
             summary="Put an earlier version back in force (as a new version)")
def rollback(number: int, body: RollbackIn, request: Request, user: AdminUser) -> PublishedOut:
    store = _store(request)
    with store_errors():
        store.get(number)
        if number == store.current_number():
            raise api_error(409, "already_current",
                            f"version {number} is already the one in force; nothing to roll "
                            "back")
        published = store.rollback(number, who=user.name, note=body.note)
    return _published(request, published, user.name,
                      f"rolled back to version {number} as version {published.info.number}"
                      + (f": {body.note}" if body.note else ""))


def _published(request: Request, published: Published, who: str, what: str) -> PublishedOut:
    store = _store(request)
    info = published.info
    with store_errors():
        changes = store.diff(info.parent, info.number) if info.parent else \
            store.get(info.number).text
    request.app.state.link.audit(who, what, changes)
    return PublishedOut(version=_out(info, store.current_number()),
                        warnings=[issue_dict(w, "warning") for w in published.warnings])


def changed_sections(before: str, after: str) -> list[SectionChange] | None:
    """Per top-level section: added, removed, or changed with the differing fields' paths."""
    try:
        a, b = parse_yaml(before).data if before.strip() else {}, parse_yaml(after).data
    except YamlProblem:
        return None
    out = []
    for section in list(a) + [s for s in b if s not in a]:
        if section not in b:
            out.append(SectionChange(section=section, change="removed", paths=[section]))
        elif section not in a:
            out.append(SectionChange(section=section, change="added", paths=[section]))
        elif a[section] != b[section]:
            paths: list[str] = []
            _differ(a[section], b[section], section, paths)
            out.append(SectionChange(section=section, change="changed", paths=paths))
    return out


def _differ(a: Any, b: Any, path: str, out: list[str]) -> None:
    if len(out) >= MAX_PATHS or a == b:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            _differ(a.get(key, _ABSENT), b.get(key, _ABSENT), f"{path}.{key}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _differ(x, y, f"{path}.{i}", out)
    else:
        out.append(path)


_ABSENT = object()  # a key on one side only
