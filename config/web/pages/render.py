"""The admin pages: server-rendered HTML (jinja2) over the same objects the API uses.

Every page is a GET that reads the store (the user's draft, the versions) and the appliance
link, and renders a template from ``templates/`` in the user's language (``i18n``). Pages
change nothing: their forms are sent by ``static/app.js`` to the JSON API (with the CSRF
header), which enforces the roles; the pages only leave out what a role may not use. A page
for a role above the user's answers 403 with a page that says who may use it; no session
redirects to ``/login?next=...``.

Pages: /login, /setup, / (overview), /flows, /flows/{flow} (diagram, node form, routes to a
person, issues), /tryit, /versions, /queues, /agents, /wallboard, /reports, /prompts, /users,
/system, /integrations (CTI tokens), /agent (the agent desktop, role agent only); /planning
is pages/planning.py. The page
modules ``page_flow``, ``page_queues`` and ``page_live`` work out what the
pages show.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from branchline.acd import Strategy
from branchline.config.document.loading import check_document
from branchline.config.web.auth import Role, User, csrf_token, optional_user
from branchline.config.web.diagram.svg import flow_svg
from branchline.config.web.i18n import DEFAULT_LANGUAGE, messages_for_script, translator
from branchline.config.web.pages.flow import (
    SKELETONS,
    DraftView,
    issues_by_node,
    node_fields,
    node_names,
    raw_node,
)
from branchline.config.web.pages.live import (
    AGENT_STATES,
    agent_rows,
    diff_lines,
    kpi_view,
    live_summary,
    queue_cards,
)
from branchline.config.web.pages.queues import agent_forms, queue_forms
from branchline.config.web.signin import signin_router

__all__ = ["NAV", "router"]

router = APIRouter(include_in_schema=False)

_ENV = Environment(loader=FileSystemLoader(Path(__file__).parents[1] / "templates"),
                   autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True)

# (page, address, message key, least role): the menu, in the order an admin works.
NAV: tuple[tuple[str, str, str, Role], ...] = (
    ("overview", "/", "nav.overview", Role.viewer),
    ("flows", "/flows", "nav.flows", Role.viewer),
    ("tryit", "/tryit", "nav.tryit", Role.admin),
    ("versions", "/versions", "nav.versions", Role.viewer),
    ("queues", "/queues", "nav.queues", Role.viewer),
    ("agents", "/agents", "nav.agents", Role.supervisor),
    ("wallboard", "/wallboard", "nav.wallboard", Role.supervisor),
    ("reports", "/reports", "nav.reports", Role.supervisor),
    ("planning", "/planning", "nav.planning", Role.supervisor),
    ("prompts", "/prompts", "nav.prompts", Role.viewer),
    ("users", "/users", "nav.users", Role.admin),
    ("integrations", "/integrations", "nav.integrations", Role.admin),
    ("sip", "/sip", "nav.sip", Role.supervisor),
    ("system", "/system", "nav.system", Role.viewer),
)
# The node fields the form has a label for (others show their own name).
KNOWN_FIELDS = frozenset({
    "options", "prompt", "short_prompt", "items", "invalid_prompt", "no_input_prompt",
    "confirm_prompt", "confirm_options_prompt", "next", "on_ok", "on_refused", "on_error",
    "on_timeout", "default", "open", "closed", "holiday", "after_call", "on_overflow",
    "on_callback", "on_closed", "on_failure", "escalate_to", "timeout", "first_digit_timeout",
    "inter_digit_timeout", "min_length", "max_length", "max_seconds", "priority", "queue",
    "endpoint", "set", "var", "flow", "reason", "target", "terminator", "mask", "barge_in",
    "confirm", "sensitive", "language_skill", "beep", "budgets", "cases", "hours", "holidays",
    "workdays", "body", "results", "validate", "skills", "data",
})
KINDS = frozenset({
    "menu", "collect", "play", "host", "switch", "schedule", "language", "queue", "message",
    "survey", "transfer", "hangup", "subflow",
})


PORT_STATES = frozenset({"idle", "ringing", "busy"})  # what a trunk's line is doing


# --- rendering -------------------------------------------------------------------------------

def _language(request: Request, user: User | None) -> str:
    if user is not None:
        return user.language
    asked = request.query_params.get("lang")
    if asked in ("zh", "en"):
        return asked
    accept = request.headers.get("accept-language", "").lower()
    return "en" if accept.startswith("en") else DEFAULT_LANGUAGE


def _site(request: Request) -> tuple[str, str]:
    """The site's name and time zone from the version in force."""
    current = request.app.state.store.current()
    return _site_of(current.text) if current is not None else _UNKNOWN_SITE


_UNKNOWN_SITE = ("Branchline", "Asia/Shanghai")


def _site_today(request: Request) -> tuple[ZoneInfo, dt.date]:
    """The site's time zone and its date now, by the appliance's clock (virtual in a test)."""
    zone = ZoneInfo(_site(request)[1])
    now = request.app.state.link.snapshot().get("time")
    return zone, (dt.datetime.fromtimestamp(now, zone) if now else dt.datetime.now(zone)).date()


@functools.lru_cache(maxsize=4)
def _site_of(text: str) -> tuple[str, str]:
    # Checking a whole document takes a while; every page asks, the text rarely changes.
    document = check_document(text)[0]
    return _UNKNOWN_SITE if document is None else (document.site.name, document.site.timezone)


def _render(request: Request, template: str, *, user: User | None, page: str,
            status: int = 200, **context: Any) -> HTMLResponse:
    lang = _language(request, user)
    nav = [{"page": p, "href": href, "label": label} for p, href, label, role in NAV
           if user is not None and user.role.allows(role)]
    html = _ENV.get_template(template).render(
        t=translator(lang), lang=lang, csrf=csrf_token(request), user=user, nav=nav, page=page,
        site_name=_site(request)[0], script_messages=messages_for_script(lang), **context)
    return HTMLResponse(html, status_code=status,
                        headers={"Cache-Control": "no-store",
                                 "Content-Security-Policy": _CSP})


# Our own scripts only: no inline script runs (the JSON data blocks are not scripts), no
# other origin is contacted, the page may not be framed.
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'")


def _gate(request: Request, role: Role) -> User | Response:
    """The logged-in user if they may see a page for ``role``; else the answer to send."""
    user = optional_user(request)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    if user.role is Role.agent and role is not Role.agent:
        return RedirectResponse("/agent", status_code=303)  # an agent's one page
    if not user.role.allows(role):
        t = translator(user.language)
        return _render(request, "message.html", user=user, page="forbidden", status=403,
                       heading=t("forbidden.title"),
                       text=t("forbidden.text", role=t(f"role.{role.value}")))
    return user


def _not_found(request: Request, user: User, what: str) -> HTMLResponse:
    t = translator(user.language)
    return _render(request, "message.html", user=user, page="missing", status=404,
                   heading=t("missing.title"), text=t("missing.text", what=what))


# --- sign-in (/login, /setup: config/web/signin.py, shared with the centre) -------------------

router.include_router(signin_router(_render, _language))


# --- overview --------------------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request) -> Response:
    user = _gate(request, Role.viewer)
    if not isinstance(user, User):
        return user
    store = request.app.state.store
    draft = DraftView.of(store, user.name) if user.role is Role.admin else None
    return _render(request, "overview.html", user=user, page="overview",
                   version=store.current_number(), draft=draft,
                   live=live_summary(request.app.state.link.snapshot()))


# --- flows -----------------------------------------------------------------------------------

@router.get("/flows", response_class=HTMLResponse)
def flows_page(request: Request) -> Response:
    user = _gate(request, Role.viewer)
    if not isinstance(user, User):
        return user
    draft = DraftView.of(request.app.state.store, user.name)
    lines = (draft.data or {}).get("lines") or {}
    rows = []
    for name, raw in draft.flows().items():
        found = draft.section_issues(f"flows.{name}")
        routes = [r for r in draft.routes.get(name, ()) if r.menu is None]
        rows.append({
            "name": name,
            "lines": [port for port, line in lines.items()
                      if isinstance(line, dict) and line.get("flow") == name],
            "nodes": len(raw.get("nodes") or {}),
            "errors": sum(1 for i in found if i["severity"] == "error"),
            "warnings": sum(1 for i in found if i["severity"] != "error"),
            "quickest": {"keys": " ".join(routes[0].keys) or "—",
                         "seconds": f"{routes[0].seconds:.1f}"} if routes else None})
    return _render(request, "flows.html", user=user, page="flows", draft=draft, flows=rows)


@router.get("/flows/{flow}", response_class=HTMLResponse)
def flow_page(request: Request, flow: str, node: str | None = None) -> Response:
    user = _gate(request, Role.viewer)
    if not isinstance(user, User):
        return user
    t = translator(user.language)
    draft = DraftView.of(request.app.state.store, user.name)
    raw = draft.flows().get(flow)
    if raw is None:
        return _not_found(request, user, t("missing.flow", flow=flow))
    by_node, general = issues_by_node(draft.issues, flow)
    badges = {n: [(i["severity"], t.issue(i)[0]) for i in found] for n, found in by_node.items()}
    link = f"/flows/{quote(flow)}?node="
    subflows = [{"name": sub, "svg": flow_svg(raw, t, scope=sub, issues=badges, link=link,
                                              current=node)}
                for sub in (raw.get("subflows") or {})]
    flow_issues = [dict(i, href=f"{link}{n}#node-h") for n, found in by_node.items()
                   for i in found] + general
    context: dict[str, Any] = {
        "flow": flow, "draft": draft, "subflows": subflows, "node": None,
        "svg": flow_svg(raw, t, issues=badges, link=link, current=node),
        "routes": [{"menu": r.menu, "keys": " → ".join(r.keys) or "—", "seconds": r.seconds,
                    "path": " → ".join(r.nodes), "mode": r.mode}
                   for r in draft.routes.get(flow, ())],
        "flow_issues": flow_issues, "skeletons": SKELETONS,
        "operator_key": (raw.get("keys") or {}).get("operator", "0"),
        "can_edit": user.role is Role.admin,
    }
    found_node = raw_node(raw, node) if node else None
    if node and found_node is None:
        return _not_found(request, user, t("missing.node", node=node, flow=flow))
    if found_node is not None and node is not None:
        scope = node.split(":", 1)[0] if ":" in node else ""
        prompts = (draft.data or {}).get("prompts") or {}
        context.update(
            node={"name": node, "kind": str(found_node.get("kind")),
                  "kind_known": found_node.get("kind") in KINDS, "raw": found_node,
                  "fields": node_fields(found_node, flow, by_node.get(node, []))},
            targets=node_names(raw, scope), known_fields=KNOWN_FIELDS,
            prompt_names=sorted(prompts),
            prompt_texts={name: (texts.get(user.language) or texts.get("zh") or "")
                          for name, texts in prompts.items() if isinstance(texts, dict)},
            escalate_default=raw.get("escalate_to") or raw.get("operator") or "")
    return _render(request, "flow.html", user=user, page="flows", **context)


@router.get("/tryit", response_class=HTMLResponse)
def tryit_page(request: Request, flow: str | None = None) -> Response:
    user = _gate(request, Role.admin)
    if not isinstance(user, User):
        return user
    t = translator(user.language)
    draft = DraftView.of(request.app.state.store, user.name)
    flows = list(draft.flows())
    chosen = flow if flow in flows else (flows[0] if flows else None)
    svg = ""
    if chosen is not None:
        raw = draft.flows()[chosen]
        svg = flow_svg(raw, t, link=f"/flows/{quote(chosen)}?node=") + "".join(
            flow_svg(raw, t, scope=sub, link=f"/flows/{quote(chosen)}?node=")
            for sub in (raw.get("subflows") or {}))
    zone = ZoneInfo(_site(request)[1])
    return _render(request, "tryit.html", user=user, page="tryit", flows=flows, flow=chosen,
                   svg=svg, blocking=[i for i in draft.issues if i["severity"] == "error"],
                   at=dt.datetime.now(zone).strftime("%Y-%m-%dT%H:%M"))


# --- versions --------------------------------------------------------------------------------

@router.get("/versions", response_class=HTMLResponse)
def versions_page(request: Request, a: str | None = None, b: str | None = None) -> Response:
    user = _gate(request, Role.viewer)
    if not isinstance(user, User):
        return user
    store = request.app.state.store
    draft = DraftView.of(store, user.name)
    zone = ZoneInfo(_site(request)[1])
    history = [{"number": v.number, "who": v.who, "note": v.note, "parent": v.parent,
                "at": _local(v.at, zone)}
               for v in sorted(store.history(), key=lambda v: v.number, reverse=True)]
    current = store.current_number()
    diff = None
    if a is not None and b is not None:
        diff = diff_lines(_diff(store, user.name, a, b))
    return _render(request, "versions.html", user=user, page="versions", draft=draft,
                   history=history, current=current, a=a or str(current), b=b or "draft",
                   diff=diff, draft_diff=diff_lines(_unified(
                       store.current().text, draft.text, f"version {current}", "draft")),
                   draft_errors=[i for i in draft.issues if i["severity"] == "error"],
                   can_publish=user.role is Role.admin)


def _local(stamp: str, zone: ZoneInfo) -> str:
    """A store timestamp (ISO 8601, UTC) as the branch's local time."""
    try:
        moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _diff(store: Any, user: str, a: str, b: str) -> str:
    try:
        old = store.get(int(a)).text
        new = store.draft(user).text if b == "draft" else store.get(int(b)).text
    except (ValueError, LookupError) as exc:
        return f"! {exc}"
    return _unified(old, new, f"version {a}", "draft" if b == "draft" else f"version {b}")


def _unified(old: str, new: str, old_name: str, new_name: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                        old_name, new_name))


# --- queues, agents, wallboard, reports -----------------------------------------------------

def _section_context(draft: DraftView, section: str, user: User) -> dict[str, Any]:
    return {"section": section, "section_value": (draft.data or {}).get(section),
            "section_issues": draft.section_issues(section),
            "can_edit": user.role is Role.admin}


@router.get("/queues", response_class=HTMLResponse)
def queues_page(request: Request) -> Response:
    user = _gate(request, Role.viewer)
    if not isinstance(user, User):
        return user
    draft = DraftView.of(request.app.state.store, user.name)
    acd = (draft.data or {}).get("acd") or {}
    agents = acd.get("agents") or []
    rows = []
    for q in acd.get("queues") or []:
        if not isinstance(q, dict):
            continue
        rows.append({"name": q.get("name", "?"), "strategy": q.get("strategy"),
                     "classes": ", ".join(c.get("name", "?") for c in q.get("classes") or []
                                          if isinstance(c, dict)) or q.get("default_class",
                                                                           "normal"),
                     "wrap_up_s": q.get("wrap_up_s"), "max_wait_s": q.get("max_wait_s"),
                     "agents": [str(a.get("name", a.get("id"))) for a in agents
                                if isinstance(a, dict) and any(
                                    isinstance(m, dict) and m.get("queue") == q.get("name")
                                    for m in a.get("queues") or [])]})
    return _render(request, "queues.html", user=user, page="queues", draft=draft, queues=rows,
                   forms=queue_forms(draft, translator(user.language)),
                   strategies={s.value for s in Strategy},
                   **_section_context(draft, "acd", user))


@router.get("/agents", response_class=HTMLResponse)
def agents_page(request: Request) -> Response:
    user = _gate(request, Role.supervisor)
    if not isinstance(user, User):
        return user
    t = translator(user.language)
    draft = DraftView.of(request.app.state.store, user.name) if user.role is Role.admin \
        else None
    document = check_document(request.app.state.store.current().text)[0]
    configured = list(document.acd.agents) if document is not None else []
    rows = agent_rows(request.app.state.link.snapshot(), configured, t)
    context = _section_context(draft, "acd", user) if draft is not None else {"can_edit": False}
    return _render(request, "agents.html", user=user, page="agents", agents=rows, draft=draft,
                   can_command=True, forms=agent_forms(draft, t) if draft else [], **context)


@router.get("/wallboard", response_class=HTMLResponse)
def wallboard_page(request: Request) -> Response:
    user = _gate(request, Role.supervisor)
    if not isinstance(user, User):
        return user
    t = translator(user.language)
    snapshot = request.app.state.link.snapshot()
    return _render(request, "wallboard.html", user=user, page="wallboard",
                   queues=queue_cards(snapshot), agents=agent_rows(snapshot, [], t),
                   state_names={s: t(f"state.{s}") for s in AGENT_STATES},
                   zone=_site(request)[1])


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, day: str | None = None, interval: str = "60") -> Response:
    user = _gate(request, Role.supervisor)
    if not isinstance(user, User):
        return user
    t = translator(user.language)
    zone, today = _site_today(request)
    minutes = int(interval) if interval in ("15", "30", "60") else 60
    try:
        chosen = dt.date.fromisoformat(day) if day else today
        problem = None
    except ValueError:
        chosen, problem = today, t("reports.bad_day", day=day)
    start = dt.datetime.combine(chosen, dt.time(0), zone).timestamp()
    end = start + 86400
    view = kpi_view(request.app.state.link.kpis(start, end, minutes * 60), t, zone)
    return _render(request, "reports.html", user=user, page="reports", day=chosen.isoformat(),
                   interval=minutes, start=int(start), end=int(end), problem=problem, **view)


# --- prompts, users, system ------------------------------------------------------------------

@router.get("/prompts", response_class=HTMLResponse)
def prompts_page(request: Request) -> Response:
    user = _gate(request, Role.viewer)
    if not isinstance(user, User):
        return user
    prompts = [{"name": p.get("name"), "language": p.get("language"),
                "text": p.get("text") or "", "source": p.get("source") or "",
                "duration": f"{p['duration_s']:.1f}" if p.get("duration_s") else "—"}
               for p in request.app.state.link.prompt_list() if "/" not in str(p.get("name"))]
    return _render(request, "prompts.html", user=user, page="prompts", prompts=prompts,
                   names=sorted({p["name"] for p in prompts}),
                   can_edit=user.role is Role.admin)


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request) -> Response:
    user = _gate(request, Role.admin)
    if not isinstance(user, User):
        return user
    return _render(request, "users.html", user=user, page="users",
                   users=request.app.state.accounts.users())


@router.get("/integrations", response_class=HTMLResponse)
def integrations_page(request: Request) -> Response:
    user = _gate(request, Role.admin)
    if not isinstance(user, User):
        return user
    return _render(request, "integrations.html", user=user, page="integrations",
                   integrations=[i.public() for i in request.app.state.integrations.all()],
                   zone=_site(request)[1])


@router.get("/agent", response_class=HTMLResponse)
def agent_page(request: Request) -> Response:
    """The agent desktop (docs/agent-desktop.md): drawn by static/agent.js from the desk."""
    user = _gate(request, Role.agent)
    if not isinstance(user, User):
        return user
    if user.role is not Role.agent:
        t = translator(user.language)
        return _render(request, "message.html", user=user, page="forbidden", status=403,
                       heading=t("forbidden.title"),
                       text=t("forbidden.text", role=t("role.agent")))
    return _render(request, "agent.html", user=user, page="agent",
                   desk=request.app.state.link.agent_desk(user.name), zone=_site(request)[1])


@router.get("/system", response_class=HTMLResponse)
def system_page(request: Request) -> Response:
    user = _gate(request, Role.viewer)
    if not isinstance(user, User):
        return user
    link = request.app.state.link
    board = link.board_status()
    document = check_document(request.app.state.store.current().text)[0]
    lines = document.lines if document is not None else {}
    ports = [{"name": p.get("name", "?"), "kind": p.get("kind", "?"),
              "state": p.get("state", "?"),
              "detail": p.get("detail") if p.get("kind") == "station" else "",
              "line": (f"{lines[p['name']].number} · {lines[p['name']].label}"
                       if p.get("name") in lines else "—")}
             for p in board.get("ports", [])]
    return _render(request, "system.html", user=user, page="system",
                   firmware=link.firmware_version(), board=board, ports=ports,
                   fleet=link.fleet_status(),
                   version=request.app.state.store.current_number(),
                   is_admin=user.role is Role.admin, port_states=PORT_STATES)
