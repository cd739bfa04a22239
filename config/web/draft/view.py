"""A user's draft as the API shows it, and the store's errors as API errors.

``draft_out(store, user)`` is the body of every draft endpoint: the text, the version it
started from (``base``) and its ``revision`` (send both back with the next edit), the parsed
data (null when the text is not YAML), the checker's errors and warnings as the contract's
issues, each flow's quickest routes to a person (keys and worst-case seconds), and the other
users' drafts (so an admin sees who else is editing, and from which version).

``store_errors()`` is the one place ``ConfigStoreError``s become HTTP errors: conflict 409
(its message names who published what and when), refused 422 with every issue, no such
version or draft 404, a bad user name 422, a damaged or unavailable store 503.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel

from branchline.config.document.loading import check_document
from branchline.config.document.yaml_text import YamlProblem, parse_yaml
from branchline.config.store.versioned import (
    BadUserName,
    ConfigConflict,
    ConfigRefused,
    ConfigStore,
    ConfigStoreCorrupt,
    ConfigStoreUnavailable,
    Draft,
    NoSuchDraft,
    NoSuchVersion,
)
from branchline.config.web.errors import api_error, issue_dict, issues_from_report

__all__ = ["DraftInfo", "DraftOut", "IssueOut", "ReportOut", "RouteOut", "draft_out",
           "report_out", "store_errors"]


class IssueOut(BaseModel):
    """A checker issue: English ``message`` and ``fix``; ``key``, ``fix_key`` and ``params``
    name them in the page's catalogue (config/web/i18n/issues.py)."""

    path: str
    message: str
    fix: str
    severity: str
    line: int | None = None
    key: str | None = None
    fix_key: str | None = None
    params: dict[str, Any] | None = None


class ReportOut(BaseModel):
    errors: list[IssueOut]
    warnings: list[IssueOut]


class RouteOut(BaseModel):
    """One quickest way to a person: the keys, the worst-case seconds, the nodes passed."""

    menu: str | None
    keys: list[str]
    seconds: float
    nodes: list[str]
    description: str


class DraftInfo(BaseModel):
    user: str
    base: int | None
    revision: int
    saved_at: str | None


class DraftOut(BaseModel):
    user: str
    base: int | None
    revision: int
    saved_at: str | None
    current: int | None
    text: str
    document: dict[str, Any] | None
    report: ReportOut
    reach: dict[str, list[RouteOut]]
    others: list[DraftInfo]


def report_out(report: Any) -> ReportOut:
    return ReportOut(errors=[issue_dict(i, "error") for i in report.errors],
                     warnings=[issue_dict(i, "warning") for i in report.warnings])


def draft_out(store: ConfigStore, user: str, draft: Draft | None = None) -> DraftOut:
    draft = draft or store.draft(user)
    _, report = check_document(draft.text)
    try:
        data = jsonable_encoder(parse_yaml(draft.text).data)
    except YamlProblem:
        data = None
    reach = {flow: [RouteOut(menu=r.menu, keys=list(r.keys), seconds=r.seconds,
                             nodes=list(r.nodes), description=r.describe()) for r in routes]
             for flow, routes in report.routes.items()}
    others = [DraftInfo(user=d.user, base=d.base, revision=d.revision, saved_at=d.saved_at)
              for d in store.drafts() if d.user != user]
    return DraftOut(user=user, base=draft.base, revision=draft.revision,
                    saved_at=draft.saved_at, current=store.current_number(), text=draft.text,
                    document=data if isinstance(data, dict) else None,
                    report=report_out(report), reach=reach, others=others)


@contextmanager
def store_errors() -> Iterator[None]:
    try:
        yield
    except ConfigConflict as exc:
        raise api_error(409, "conflict", _plain(exc)) from None
    except ConfigRefused as exc:
        issues = issues_from_report(exc.report)
        count = len(exc.report.errors)
        raise api_error(422, "validation_failed",
                        f"not published: the document has {count} error(s); the version in "
                        "force stays. Fix each issue at its path and publish again",
                        issues=issues) from None
    except (NoSuchVersion, NoSuchDraft) as exc:
        raise api_error(404, "not_found", _plain(exc)) from None
    except BadUserName as exc:
        raise api_error(422, "bad_user_name", _plain(exc)) from None
    except (ConfigStoreCorrupt, ConfigStoreUnavailable) as exc:
        raise api_error(503, "store_unavailable", _plain(exc)) from None


def _plain(exc: Exception) -> str:
    return str(exc).removeprefix("config store: ")
