"""The centre's API: KPIs per branch, region, quarter hour; a branch's queues and agents.

    GET /api/branches                       viewer: branches, regions, shipping marks and lag
    GET /api/kpis/branches?since&until&region[&format=csv]   supervisor: worst first, with
                                            call quality (average MOS, share below 3.6)
    GET /api/kpis/regions?since&until[&format=csv]           supervisor
    GET /api/kpis/intervals?day&branch&region[&format=csv]   supervisor: quarter hours
    GET /api/branches/{id}/queues|agents?since&until[&format=csv]  supervisor
    GET /api/funnel?since&until&branch&region[&format=csv]  supervisor: the menu funnel
    GET /api/templates                      supervisor: templates, each branch's result
                                            (applied or refused, why) and local overrides
    DELETE /api/templates/{name}/branches/{id}  admin: unassign (the branch keeps the parts)

Dates are YYYY-MM-DD in the centre's time zone; without them the period is today.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from branchline.central import reports
from branchline.central.db import connect
from branchline.central.errors import CentralError, CentralInputError
from branchline.central.funnel import funnel_csv, menu_funnel
from branchline.central.templates import template_overview, unassign_template
from branchline.config.web.auth import AdminUser, AnyUser, SupervisorUser
from branchline.config.web.errors import api_error

__all__ = ["period", "router", "templates_of"]

router = APIRouter(tags=["centre"])
Format = Literal["json", "csv"]


def _conn(request: Request):
    try:
        return connect(request.app.state.dsn, doing="reading the reports")
    except CentralError as exc:
        raise api_error(503, "centre_unavailable", str(exc)) from exc


def today(conn) -> dt.date:
    zone = conn.execute("SELECT value FROM central_settings WHERE key = 'time_zone'"
                        ).fetchone()[0]
    return dt.datetime.now(ZoneInfo(zone)).date()


def period(conn, since: str | None, until: str | None) -> tuple[dt.date, dt.date]:
    try:
        first = dt.date.fromisoformat(since) if since else None
        last = dt.date.fromisoformat(until) if until else None
    except ValueError:
        raise api_error(422, "bad_date", f"dates are YYYY-MM-DD; got since={since!r}, "
                        f"until={until!r}") from None
    now = today(conn)
    return first or last or now, last or first or now


def _answer(rows, fmt: Format | Literal["raw"], name: str):
    if fmt == "raw":
        return rows
    if fmt == "csv":
        return Response(reports.to_csv(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return {"rows": [asdict(r) for r in rows]}


def _report(request, fn, fmt, name):
    with _conn(request) as conn:
        try:
            return _answer(fn(conn), fmt, name)
        except CentralInputError as exc:
            raise api_error(422, "bad_period", str(exc)) from exc
        except CentralError as exc:
            raise api_error(503, "centre_unavailable", str(exc)) from exc


@router.get("/api/branches", summary="Branches, their regions and how far their records are")
def branches(request: Request, user: AnyUser):
    with _conn(request) as conn:
        rows = conn.execute("""
            SELECT b.id, b.name, b.region, max(m.shipped_at),
                   extract(epoch FROM now() - min(m.oldest_unshipped_at))
              FROM branches b LEFT JOIN ship_marks m ON m.branch = b.id
             GROUP BY b.id ORDER BY b.region, b.id""").fetchall()
    return {"branches": [
        {"id": r[0], "name": r[1], "region": r[2],
         "last_shipped": r[3].isoformat() if r[3] else None,
         "lag_s": float(r[4]) if r[4] is not None else 0.0} for r in rows]}


@router.get("/api/kpis/branches", summary="Every branch's KPIs, worst service level first")
def branch_kpis(request: Request, user: SupervisorUser, since: str | None = None,
                until: str | None = None, region: str | None = None, format: Format = "json"):
    # An empty region (the page's form sends one) is every region.
    return _report(request, lambda c: reports.branch_kpis(c, *period(c, since, until),
                                                          region=region or None),
                   format, "branches")


@router.get("/api/kpis/regions", summary="Every region's KPIs, worst first")
def region_kpis(request: Request, user: SupervisorUser, since: str | None = None,
                until: str | None = None, format: Format = "json"):
    return _report(request, lambda c: reports.region_kpis(c, *period(c, since, until)),
                   format, "regions")


@router.get("/api/kpis/intervals", summary="A day's quarter hours, for a branch, region or all")
def interval_kpis(request: Request, user: SupervisorUser, day: str | None = None,
                  branch: str | None = None, region: str | None = None,
                  format: Format = "json"):
    return _report(request, lambda c: reports.interval_kpis(
        c, period(c, day, day)[0], branch=branch, region=region), format, "intervals")


@router.get("/api/branches/{branch}/queues", summary="One branch's queues over a period")
def branch_queues(request: Request, user: SupervisorUser, branch: str,
                  since: str | None = None, until: str | None = None, format: Format = "json"):
    return _report(request, lambda c: reports.branch_queues(c, branch, *period(c, since, until)),
                   format, f"{branch}-queues")


@router.get("/api/branches/{branch}/agents", summary="One branch's agents over a period")
def branch_agents(request: Request, user: SupervisorUser, branch: str,
                  since: str | None = None, until: str | None = None, format: Format = "json"):
    return _report(request, lambda c: reports.branch_agents(c, branch, *period(c, since, until)),
                   format, f"{branch}-agents")


@router.get("/api/funnel", summary="The menu funnel: every node's visits and exits, for a "
                                   "branch, a region or all branches")
def funnel(request: Request, user: SupervisorUser, since: str | None = None,
           until: str | None = None, branch: str | None = None, region: str | None = None,
           format: Format = "json"):
    def nodes(c):
        return menu_funnel(c, *period(c, since, until), branch=branch or None,
                           region=region or None)

    if format == "csv":
        name = branch or region or "fleet"
        return _report(request, lambda c: Response(
            funnel_csv(nodes(c)), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}-funnel.csv"'}),
            "raw", "")
    return _report(request, lambda c: {"nodes": [asdict(n) for n in nodes(c)]}, "raw", "")


def templates_of(request: Request) -> list:
    with _conn(request) as conn:
        try:
            return template_overview(conn)
        except CentralError as exc:
            raise api_error(503, "centre_unavailable", str(exc)) from exc


@router.delete("/api/templates/{name}/branches/{branch}",
               summary="Take a template back from a branch (it keeps the parts as its own)")
def unassign(request: Request, user: AdminUser, name: str, branch: str):
    with _conn(request) as conn:
        try:
            removed = unassign_template(conn, name, [branch], who=user.name)
        except CentralInputError as exc:
            raise api_error(422, "bad_template", str(exc)) from exc
        except CentralError as exc:
            raise api_error(503, "centre_unavailable", str(exc)) from exc
    if not removed:
        raise api_error(404, "not_assigned", f"template {name} is not assigned to branch "
                        f"{branch}; GET /api/templates lists the assignments")
    return {"unassigned": removed}


@router.get("/api/templates", summary="Templates, and which branches applied, refused or "
                                      "override them")
def templates(request: Request, user: SupervisorUser):
    return {"templates": [
        {"name": t.name, "version": t.version, "parts": list(t.parts), "note": t.note,
         "who": t.who, "at": t.at.isoformat(),
         "branches": [{"branch": b.branch, "version": b.version, "outcome": b.outcome,
                       "reason": b.reason, "overrides": list(b.overrides),
                       "at": b.at.isoformat() if b.at else None} for b in t.branches]}
        for t in templates_of(request)]}
