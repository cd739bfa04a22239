"""The menus report page (/reports/menus, supervisor): the funnel drawn on the flow diagram
and as a table, containment, reasons for a person, repeat calls, and a second version side
by side; for every caller or one caller mode (``mode``: older, standard), with the
containment and repeat windows in minutes (``window``, ``repeat``). It reads through
the same link calls as ``/api/reports/menus``; docs/ivr-insight.md.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from branchline.config.document.yaml_text import parse_yaml
from branchline.config.web.api.menus import (
    CALLER_MODES,
    DEFAULT_REPEAT_S,
    DEFAULT_WINDOW_S,
    flow_in_version,
)
from branchline.config.web.auth import Role, User
from branchline.config.web.diagram.svg import flow_svg
from branchline.config.web.diagram.traffic import Traffic
from branchline.config.web.i18n import translator
from branchline.config.web.link import LinkError
from branchline.config.web.pages.render import _gate, _render, _site_today

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
WEEK_MIN = 7 * 24 * 60  # the longest containment or repeat window, in minutes


def _day(text: str | None, fallback: dt.date) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else fallback
    except ValueError:
        return None


@router.get("/reports/menus", response_class=HTMLResponse)
def menus_page(request: Request, flow: str | None = None, version: int | None = None,
               since: str | None = None, until: str | None = None,
               compare: int | None = None, mode: str | None = None,
               window: int | None = None, repeat: int | None = None) -> Response:
    user = _gate(request, Role.supervisor)
    if not isinstance(user, User):
        return user
    t = translator(user.language)
    zone, today = _site_today(request)
    first, last = _day(since, today - dt.timedelta(days=6)), _day(until, today)
    problems = [t("menus.bad_day", day=text) for text, day in ((since, first), (until, last))
                if day is None]
    first, last = first or today - dt.timedelta(days=6), last or today
    if mode is not None and mode not in CALLER_MODES:
        problems.append(t("menus.bad_mode", mode=mode))
    mode = mode if mode in CALLER_MODES else None
    minutes = {}
    for name, given, default in (("window", window, DEFAULT_WINDOW_S),
                                 ("repeat", repeat, DEFAULT_REPEAT_S)):
        if given is not None and not 1 <= given <= WEEK_MIN:
            problems.append(t("menus.bad_minutes", minutes=given, most=WEEK_MIN))
            given = None
        minutes[name] = given if given is not None else int(default // 60)
    start = dt.datetime.combine(first, dt.time(0), zone).timestamp()
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), zone).timestamp()
    context = {"flows": [], "flow": flow, "version": version, "since": first.isoformat(),
               "until": last.isoformat(), "compare": compare, "report": None, "svg": "",
               "comparison": None, "csv": "", "mode": mode, "modes": CALLER_MODES,
               "window_min": minutes["window"], "repeat_min": minutes["repeat"],
               "week_min": WEEK_MIN}
    try:
        current = request.app.state.store.current()
        if current is not None:
            context["flows"] = sorted(_flow_names(request, current.info.number))
            flow = flow or (context["flows"][0] if context["flows"] else None)
            context["flow"] = flow
        if flow is not None:
            number, dialled, raw = flow_in_version(request, flow, version)
            context["version"] = number
            report = request.app.state.link.menus(number, dialled, start, end,
                                                  minutes["window"] * 60.0,
                                                  minutes["repeat"] * 60.0, mode)
            context["report"] = report
            context["svg"] = flow_svg(raw, t, traffic=Traffic(report["funnel"], t))
            context["csv"] = "/api/reports/menus.csv?" + urlencode(
                {"flow": flow, "version": number, "start": start, "end": end,
                 **({"mode": mode} if mode else {})})
            if compare is not None:
                other = flow_in_version(request, flow, compare)
                context["comparison"] = request.app.state.link.compare_menus(
                    other[:2], (number, dialled), start, end, mode)
    except LinkError as exc:
        problems.append(str(exc))
    return _render(request, "menus_report.html", user=user, page="reports",
                   problems=problems, **context)


def _flow_names(request: Request, number: int) -> list[str]:
    data = parse_yaml(request.app.state.store.get(number).text).data
    flows = data.get("flows")
    return list(flows) if isinstance(flows, dict) else []
