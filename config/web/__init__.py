"""The web configuration service: a FastAPI app over the config store and the running appliance.

    app = create_app(store, link, data_dir=Path("var"))   # link: config.web.link.ApplianceLink

The app serves the JSON API under ``/api`` (described at ``/api/openapi.json``), the pages
and ``/static``. docs/web.md is the admin's guide: first-run setup, roles, security.

What ``create_app`` sets up, and where each piece lives:

- ``app.state.store`` (the ConfigStore), ``app.state.link`` (the appliance),
  ``app.state.worker`` (``worker.Worker``: heavy work in a child process with limits), and
  ``app.state.accounts`` (``accounts.Accounts`` on the data directory's ``web/accounts.db``);
- the first-run setup token when no user exists: announced with ``announce`` and logged;
- the routers: ``api_session``, ``api_users``, ``api_config``, ``api_versions`` (this
  package's core), ``api_live``, ``api_agents_live``, ``api_reports``, ``api_system``,
  ``api_prompts`` (live data through the link), ``api_tryit``, ``api_agent_desk`` (the agent
  desktop), ``api_integrations`` and ``api_cti`` (the CTI stream; ``app.state.integrations``
  on ``web/integrations.db``) and ``pages``;
- the guards, outermost first: the body size limit (413 before a body over ``body_limit``
  is read), CSRF (``auth.CsrfMiddleware``), and the error handlers (``errors``) that give every
  error one JSON shape and turn anything unexpected into a logged 500 with an error id.

The interactive Swagger page is off: it loads its script from a CDN and the appliance is
offline. The OpenAPI description is served at ``/api/openapi.json`` (every error response
declared as ``ErrorBody`` JSON), and ``/api/docs`` is a plain HTML table of it.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from html import escape
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from branchline.config.data_dir import DataDir
from branchline.config.document.yaml_text import YamlProblem, parse_yaml
from branchline.config.store.errors import ConfigStoreError
from branchline.config.web.accounts import Accounts, AccountsUnavailable
from branchline.config.web.api import (
    agent_desk as api_agent_desk,
)
from branchline.config.web.api import (
    agents_live as api_agents_live,
)
from branchline.config.web.api import (
    config as api_config,
)
from branchline.config.web.api import (
    cti as api_cti,
)
from branchline.config.web.api import (
    integrations as api_integrations,
)
from branchline.config.web.api import (
    live as api_live,
)
from branchline.config.web.api import (
    menus as api_menus,
)
from branchline.config.web.api import (
    monitor as api_monitor,
)
from branchline.config.web.api import (
    planning as api_planning,
)
from branchline.config.web.api import (
    prompts as api_prompts,
)
from branchline.config.web.api import (
    reports as api_reports,
)
from branchline.config.web.api import (
    session as api_session,
)
from branchline.config.web.api import (
    sip as api_sip,
)
from branchline.config.web.api import (
    system as api_system,
)
from branchline.config.web.api import (
    tryit as api_tryit,
)
from branchline.config.web.api import (
    users as api_users,
)
from branchline.config.web.api import (
    versions as api_versions,
)
from branchline.config.web.auth import CsrfMiddleware, Role, require, route_roles
from branchline.config.web.backup import MAX_ARCHIVE
from branchline.config.web.errors import ERROR_RESPONSES, api_error, install_error_handlers
from branchline.config.web.integrations import Integrations
from branchline.config.web.link import MAX_PROMPT_UPLOAD
from branchline.config.web.pages import menus as pages_menus
from branchline.config.web.pages import planning as pages_planning
from branchline.config.web.pages import render as pages
from branchline.config.web.pages import sip as pages_sip
from branchline.config.web.worker import Worker

if TYPE_CHECKING:
    from branchline.config.store.versioned import ConfigStore
    from branchline.config.web.link import ApplianceLink

__all__ = ["BODY_LIMITS", "DEFAULT_BODY_LIMIT", "body_limit", "create_app"]

log = logging.getLogger("branchline.web")

# Our choices. JSON bodies (a whole document is ~60 KB) get 1 MiB; the two uploads get what
# their endpoint allows plus room for the multipart framing, and only from an admin.
DEFAULT_BODY_LIMIT = 1024 * 1024
BODY_LIMITS: tuple[tuple[str, re.Pattern[str], int], ...] = (
    ("PUT", re.compile(r"/api/prompts/[^/]+/[^/]+"), MAX_PROMPT_UPLOAD + 64 * 1024),
    ("POST", re.compile(r"/api/system/restore"), MAX_ARCHIVE + 64 * 1024),
)


def body_limit(method: str, path: str) -> int:
    """The largest request body accepted by ``method`` on ``path``, in bytes."""
    return next((limit for verb, pattern, limit in BODY_LIMITS
                 if verb == method and pattern.fullmatch(path)), DEFAULT_BODY_LIMIT)


def create_app(store: ConfigStore, link: ApplianceLink, *, data_dir: DataDir | Path,
               announce: Callable[[str], None] = print, secure_cookies: bool = False,
               base_url: str | None = None,
               clock: Callable[[], float] = time.time,
               worker: Worker | None = None) -> FastAPI:
    """The web app. ``base_url`` ("http://10.1.2.3:8080") makes the first-run link complete;
    ``clock`` (epoch seconds) is what sessions and lockouts are timed by; ``worker`` runs the
    heavy work (restores, big diffs) outside this process (a ``Worker()`` if not given)."""
    app = FastAPI(title="Branchline", version=_version(),
                  description="The Branchline appliance's configuration and live API. "
                              "Every error is {\"error\": {code, message, issues?}}.",
                  openapi_url="/api/openapi.json", docs_url=None, redoc_url=None)
    app.state.store = store
    app.state.link = link
    app.state.worker = worker or Worker()
    app.state.accounts = Accounts(DataDir.of(data_dir).accounts_db, clock=clock)
    app.state.secure_cookies = secure_cookies
    app.state.accounts.site_words = lambda: _site_words(store)
    app.state.integrations = Integrations(DataDir.of(data_dir).integrations_db, clock=clock)
    install_error_handlers(app)
    app.add_exception_handler(AccountsUnavailable, _accounts_unavailable)
    for module in (api_session, api_users, api_config, api_versions, api_live,
                   api_agents_live, api_reports, api_system, api_prompts, api_tryit,
                   api_agent_desk, api_integrations, api_cti, api_menus, api_monitor):
        app.include_router(module.router, responses=ERROR_RESPONSES)
    app.include_router(api_sip.router, responses=ERROR_RESPONSES)
    app.include_router(api_planning.router, responses=ERROR_RESPONSES)
    app.include_router(pages_menus.router)
    app.include_router(pages_sip.router)
    app.include_router(pages_planning.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static",
                                     check_dir=False), name="static")
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    app.add_api_route("/api/docs", _api_docs, methods=["GET"], response_class=HTMLResponse,
                      include_in_schema=False, summary="The API described for people, offline")
    app.add_middleware(CsrfMiddleware, secure=secure_cookies)
    app.add_middleware(BodyLimitMiddleware)
    _announce_setup(app.state.accounts, announce, base_url)
    if app.state.integrations.webhooks():
        api_integrations.sync_webhooks(app)
    return app


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """FastAPI documents extra responses in the endpoint's own media type (a CSV download's
    401 would read as text/csv); every error is JSON of ``ErrorBody``, so say so."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version,
                                 description=app.description, routes=app.routes)
            error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
            for item in schema.get("paths", {}).values():
                for operation in item.values():
                    for status, response in operation.get("responses", {}).items():
                        if status.isdigit() and int(status) >= 400:
                            response["content"] = error
            app.openapi_schema = schema
        return app.openapi_schema

    return build


def _api_docs(request: Request) -> HTMLResponse:
    """Every operation with its least role and its parameters, as one plain HTML page: the
    offline stand-in for Swagger's page."""
    roles = {(r.method, r.path): r.role for r in route_roles(request.app)}
    rows = []
    for path, item in request.app.openapi()["paths"].items():
        for method, operation in item.items():
            role = roles.get((method.upper(), path))
            params = ", ".join(p["name"] for p in operation.get("parameters", []))
            body = "JSON body" if "requestBody" in operation else ""
            rows.append("<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in (
                method.upper(), path, role.value if role else "anyone",
                operation.get("summary", ""), ", ".join(x for x in (params, body) if x)))
                + "</tr>")
    page = ("<!doctype html><html><head><meta charset=utf-8><title>Branchline API</title>"
            "</head><body><h1>Branchline API</h1><p>The machine-readable description is "
            "<a href=\"/api/openapi.json\">/api/openapi.json</a> (OpenAPI 3). Every error is "
            "<code>{\"error\": {code, message, issues?}}</code>; every change needs the "
            "<code>X-CSRF-Token</code> header.</p><table border=1 cellpadding=4>"
            "<tr><th>method</th><th>path</th><th>least role</th><th>what</th>"
            "<th>parameters</th></tr>" + "".join(rows) + "</table></body></html>")
    return HTMLResponse(page)


async def _accounts_unavailable(request: Request, exc: AccountsUnavailable) -> JSONResponse:
    log.error("web: %s", exc)
    return JSONResponse({"error": {"code": "accounts_unavailable", "message": str(exc)}},
                        status_code=503)


def _announce_setup(accounts: Accounts, announce: Callable[[str], None],
                    base_url: str | None) -> None:
    token = accounts.issue_setup_token()
    if token is None:
        return
    where = f"{base_url.rstrip('/')}/setup?token={token}" if base_url else \
        f"/setup?token={token} on this appliance's web address"
    message = f"branchline: first run: open {where} to create the admin"
    log.warning("%s", message)
    announce(message)


def _site_words(store: ConfigStore) -> list[str]:
    """The site's names in the configuration in force, which no password may be built on."""
    try:
        site = (parse_yaml(store.current().text).data or {}).get("site")
    except (YamlProblem, ConfigStoreError):
        return []
    return [str(site["name"])] if isinstance(site, dict) and site.get("name") else []


def _version() -> str:
    try:
        return version("branchline")
    except PackageNotFoundError:
        return "0"


class BodyLimitMiddleware:
    """Refuses a request body over ``body_limit(method, path)`` with 413: at once when
    Content-Length says so, else as soon as the bytes received pass the limit (never buffering
    more). An upload's larger limit is only for an admin: without one the request is refused
    (401/403) before a byte of its body is read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["method"], scope["path"])
        if limit > DEFAULT_BODY_LIMIT:
            refusal = _not_admin(scope)
            if refusal is not None:
                await _send_json(send, refusal.status_code, refusal.detail)
                return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, scope["path"], limit)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise api_error(413, "too_large", _too_large_message(scope["path"], limit))
            return message

        await self.app(scope, counting_receive, send)


def _not_admin(scope: Scope) -> HTTPException | None:
    try:
        require(Role.admin)(Request(scope))
    except HTTPException as exc:
        return exc
    except AccountsUnavailable as exc:
        log.error("web: %s", exc)
        return api_error(503, "accounts_unavailable", str(exc))
    return None


def _too_large_message(path: str, limit: int) -> str:
    return (f"the body sent to {path} is larger than the {limit // 1024} KiB this endpoint "
            "accepts; send a smaller file or document")


async def _too_large(send: Send, path: str, limit: int) -> None:
    await _send_json(send, 413, {"error": {"code": "too_large",
                                           "message": _too_large_message(path, limit)}})


async def _send_json(send: Send, status: int, body: Any) -> None:
    # The body is never read: the connection closes rather than be kept for the next request.
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": data})
