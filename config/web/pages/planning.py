"""The Planning page (/planning, supervisor and admin): a day per 15-minute interval (forecast,
agents needed by Erlang C and A, scheduled, the gap coloured short / fine / over), the day's
shifts in an editor (``static/planning.js`` saves them through ``PUT
/api/planning/{day}/roster`` and presses the check through ``POST .../check``), the last
check of the roster in force beside the Erlang figures and, once the day has begun, what
happened and each agent's adherence. Everything comes from one ``ApplianceLink.planning``
call, worked out in the worker process; docs/planning.md.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from branchline.config.web.auth import Role, User
from branchline.config.web.charts import line_chart
from branchline.config.web.i18n import Translator, translator
from branchline.config.web.link import LinkError
from branchline.config.web.pages.render import _gate, _render, _site_today

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _charts(view: dict, t: Translator) -> list:
    charts = []
    rows = view["rows"]
    if rows:
        charts.append(line_chart(
            [r["label"] for r in rows],
            {t("planning.series_needed"): [r["needed"] for r in rows],
             t("planning.series_scheduled"): [r["scheduled"] for r in rows],
             t("planning.series_a"): [r["erlang_a"] for r in rows]},
            title=t("planning.chart_staff"), unit=t("planning.agents")))
    check, happened = view["check"], view["happened"] or {}
    if check and check["rows"]:
        labels = [r["label"] for r in check["rows"]]
        real = [happened.get(str(r["slot"])) for r in check["rows"]]
        service = {t("planning.series_c"): [r["sl_c"] for r in check["rows"]],
                   t("planning.series_a"): [r["sl_a"] for r in check["rows"]],
                   t("planning.series_sim"): [r["sl_sim"] for r in check["rows"]]}
        abandon = {t("planning.series_a"): [r["abandon_a"] for r in check["rows"]],
                   t("planning.series_sim"): [r["abandon_sim"] for r in check["rows"]]}
        if happened:
            service[t("planning.series_real")] = [h and h["service_level"] for h in real]
            abandon[t("planning.series_real")] = [h and h["abandon_rate"] for h in real]
        charts.append(line_chart(labels, service, title=t("planning.chart_sl"), unit="%"))
        charts.append(line_chart(labels, abandon, title=t("planning.chart_ab"), unit="%"))
    elif happened:
        labels = [r["label"] for r in rows if str(r["slot"]) in happened]
        real = [happened[str(r["slot"])] for r in rows if str(r["slot"]) in happened]
        charts.append(line_chart(labels, {t("planning.series_real"): [
            h["service_level"] for h in real]}, title=t("planning.chart_sl"), unit="%"))
    return charts


@router.get("/planning", response_class=HTMLResponse)
def planning_page(request: Request, day: str | None = None,
                  queue: str | None = None) -> Response:
    user = _gate(request, Role.supervisor)
    if not isinstance(user, User):
        return user
    t = translator(user.language)
    today = _site_today(request)[1]
    day = day or (today + dt.timedelta(days=1)).isoformat()
    problems, view, charts = [], None, []
    try:
        view = request.app.state.link.planning(day, queue or None)
        charts = _charts(view, t)
    except LinkError as exc:
        problems.append(str(exc))
    return _render(request, "planning.html", user=user, page="planning", problems=problems,
                   day=day, queue=queue or "", view=view, charts=charts, percent=_percent)
