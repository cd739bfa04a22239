"""The centre's pages: the fleet (regions, worst branches first) and one branch's drill-down.

Rendered with the branch page's templates and look (config/web/templates: ``base.html``,
``login.html``, ``setup.html``, ``message.html``; /static from config/web), plus our
own; /login and /setup are the branch page's own router (config/web/signin.py) in our look.
Like the branch's pages they change nothing but an admin's Unassign (static/templates.js
sends it to the API): forms are plain GETs of a period, CSV links go to the API, and the API
enforces the roles.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

import branchline.config.web as branch_web
from branchline.central import reports
from branchline.central.funnel import menu_funnel
from branchline.central.web.api import _conn, period, templates_of
from branchline.config.web.auth import Role, User, csrf_token, optional_user
from branchline.config.web.i18n import DEFAULT_LANGUAGE, messages_for_script, translator
from branchline.config.web.signin import signin_router

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_ENV = Environment(
    loader=ChoiceLoader([FileSystemLoader(Path(__file__).parent / "templates"),
                         FileSystemLoader(Path(branch_web.__file__).parent / "templates")]),
    autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
    trim_blocks=True, lstrip_blocks=True)
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'")
# The centre's own words; everything else comes from the branch page's catalogue.
_TEXT = {
    "en": {"app.name": "Branchline centre", "nav.fleet": "Branches", "fleet.regions": "Regions",
           "fleet.branches": "Branches, worst service level first", "fleet.since": "From",
           "fleet.until": "To", "fleet.show": "Show", "fleet.csv": "CSV",
           "branch.queues": "Queues", "branch.agents": "Agents",
           "branch.intervals": "Quarter hours of", "col.name": "Name", "col.region": "Region",
           "col.calls": "Calls", "col.offered": "Queued", "col.answered": "Answered",
           "col.sl": "Service level", "col.abandon": "Abandoned", "col.asa": "ASA",
           "col.aht": "AHT", "col.survey": "Survey", "nav.templates": "Templates",
           "tpl.none": "No template yet: 'branchline central template publish'.",
           "tpl.version": "version {version}, {who}: {note}", "col.branch": "Branch",
           "col.version": "Version", "col.outcome": "Result", "col.reason": "Why refused",
           "col.overrides": "Local overrides", "tpl.applied": "applied",
           "tpl.refused": "refused", "tpl.waiting": "not reported yet", "col.mos": "MOS",
           "col.poor": "MOS < 3.6", "branch.funnel": "Menu funnel", "col.node": "Node",
           "col.entered": "Visits", "col.hung_up": "Hung up there",
           "col.to_person": "Then to a person", "col.average": "Average time",
           "col.exits": "Left by", "tpl.unassign": "Unassign",
           "tpl.unassign_confirm": "Take {name} back from {branch}? The branch keeps its "
                                   "parts as its own.",
           "tpl.unassigned": "{name} unassigned from {branch}."},
    "zh": {"app.name": "Branchline 总行", "nav.fleet": "网点", "fleet.regions": "地区",
           "fleet.branches": "网点（服务水平最差的在前）", "fleet.since": "从", "fleet.until": "到",
           "fleet.show": "显示", "fleet.csv": "CSV", "branch.queues": "队列",
           "branch.agents": "坐席", "branch.intervals": "每 15 分钟：", "col.name": "名称",
           "col.region": "地区", "col.calls": "来电", "col.offered": "排队",
           "col.answered": "接听", "col.sl": "服务水平", "col.abandon": "放弃",
           "col.asa": "平均应答", "col.aht": "平均处理", "col.survey": "满意度",
           "nav.templates": "模板",
           "tpl.none": "尚无模板：请用 'branchline central template publish'。",
           "tpl.version": "第 {version} 版，{who}：{note}", "col.branch": "网点",
           "col.version": "版本", "col.outcome": "结果", "col.reason": "拒绝原因",
           "col.overrides": "本地覆盖", "tpl.applied": "已应用", "tpl.refused": "已拒绝",
           "tpl.waiting": "尚未回报", "col.mos": "MOS", "col.poor": "MOS 低于 3.6",
           "branch.funnel": "菜单漏斗", "col.node": "节点", "col.entered": "进入次数",
           "col.hung_up": "在此挂机", "col.to_person": "之后转人工", "col.average": "平均时长",
           "col.exits": "离开方式", "tpl.unassign": "取消分配",
           "tpl.unassign_confirm": "从 {branch} 取消分配 {name}？"
                                   "该网点保留这些部分作为自己的配置。",
           "tpl.unassigned": "已从 {branch} 取消分配 {name}。"},
}
_NAV = (("fleet", "/", "nav.fleet", Role.supervisor),
        ("templates", "/templates", "nav.templates", Role.supervisor),
        ("users", "/users", "nav.users", Role.admin))


def _language(request: Request, user: User | None) -> str:
    if user is not None:
        return user.language
    asked = request.query_params.get("lang")
    if asked in ("zh", "en"):
        return asked
    return "en" if request.headers.get("accept-language", "").startswith("en") \
        else DEFAULT_LANGUAGE


def _render(request: Request, template: str, *, user: User | None, page: str,
            status: int = 200, **context) -> HTMLResponse:
    lang = _language(request, user)
    branch_t = translator(lang)

    def t(key: str, /, **values) -> str:
        own = _TEXT[lang].get(key)
        return own.format(**values) if own is not None else branch_t(key, **values)

    nav = [{"page": p, "href": h, "label": label} for p, h, label, role in _NAV
           if user is not None and user.role.allows(role)]
    html = _ENV.get_template(template).render(
        t=t, lang=lang, csrf=csrf_token(request), user=user, nav=nav, page=page,
        site_name=t("app.name"), script_messages=messages_for_script(lang), **context)
    return HTMLResponse(html, status_code=status,
                        headers={"Cache-Control": "no-store", "Content-Security-Policy": _CSP})


def _gate(request: Request, role: Role) -> User | Response:
    user = optional_user(request)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    if not user.role.allows(role):
        t = translator(user.language)
        return _render(request, "message.html", user=user, page="forbidden", status=403,
                       heading=t("forbidden.title"),
                       text=t("forbidden.text", role=t(f"role.{role.value}")))
    return user


router.include_router(signin_router(_render, _language))


@router.get("/", response_class=HTMLResponse)
def fleet_page(request: Request, since: str | None = None, until: str | None = None,
               region: str | None = None) -> Response:
    user = _gate(request, Role.supervisor)
    if not isinstance(user, User):
        return user
    with _conn(request) as conn:
        first, last = period(conn, since, until)
        regions = reports.region_kpis(conn, first, last)
        branches = reports.branch_kpis(conn, first, last, region=region or None)
    return _render(request, "fleet.html", user=user, page="fleet", since=first, until=last,
                   region=region or "", regions=regions, branches=branches)


@router.get("/branches/{branch}", response_class=HTMLResponse)
def branch_page(request: Request, branch: str, since: str | None = None,
                until: str | None = None) -> Response:
    user = _gate(request, Role.supervisor)
    if not isinstance(user, User):
        return user
    with _conn(request) as conn:
        first, last = period(conn, since, until)
        queues = reports.branch_queues(conn, branch, first, last)
        agents = reports.branch_agents(conn, branch, first, last)
        intervals = reports.interval_kpis(conn, last, branch=branch)
        funnel = menu_funnel(conn, first, last, branch=branch)
    return _render(request, "branch.html", user=user, page="fleet", branch=branch,
                   since=first, until=last, queues=queues, agents=agents, intervals=intervals,
                   funnel=funnel)


@router.get("/templates", response_class=HTMLResponse)
def templates_page(request: Request) -> Response:
    user = _gate(request, Role.supervisor)
    if not isinstance(user, User):
        return user
    return _render(request, "templates.html", user=user, page="templates",
                   templates=templates_of(request), can_unassign=user.role.allows(Role.admin))
