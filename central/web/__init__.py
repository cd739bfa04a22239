"""The centre's web service: the fleet's KPIs as a page and an API, with the branch page's
look, accounts, roles and CSRF (config/web: ``Accounts``, ``auth``, the session and users
routers, ``static/``, the base, login and setup templates).

    app = create_central_app(dsn, data=DataDir(root), announce=print)

Every report needs the supervisor role, as on a branch; the users page is the admin's. Each
request opens its own PostgreSQL connection as the centre's service role (the branches'
roles cannot read these tables). Changes (users, sessions) are audited in ``centre_audit``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

import branchline.config.web as branch_web
from branchline.central.db import connect
from branchline.config.data_dir import DataDir
from branchline.config.web.accounts import Accounts
from branchline.config.web.api import session as api_session
from branchline.config.web.api import users as api_users
from branchline.config.web.auth import CsrfMiddleware
from branchline.config.web.errors import install_error_handlers

__all__ = ["CentreAudit", "create_central_app"]


class CentreAudit:
    """What config/web's routers call ``link``: here only the audit log, in PostgreSQL."""

    def __init__(self, dsn: str):
        self.dsn = dsn

    def audit(self, who: str, what: str, diff: str) -> None:
        with connect(self.dsn, doing="writing the audit log") as conn:
            conn.execute("INSERT INTO centre_audit (who, what, diff) VALUES (%s, %s, %s)",
                         (who, what, diff))


def create_central_app(dsn: str, *, data: DataDir, announce: Callable[[str], None] = print,
                       secure_cookies: bool = False, base_url: str | None = None,
                       clock: Callable[[], float] = time.time) -> FastAPI:
    from branchline.central.web import api, pages

    app = FastAPI(title="Branchline centre", openapi_url="/api/openapi.json", docs_url=None,
                  redoc_url=None)
    app.state.dsn = dsn
    app.state.link = CentreAudit(dsn)
    app.state.accounts = Accounts(data.accounts_db, clock=clock)
    app.state.secure_cookies = secure_cookies
    install_error_handlers(app)
    for module in (api_session, api_users, api):
        app.include_router(module.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=Path(branch_web.__file__).parent / "static"),
              name="static")
    app.mount("/centre-static", StaticFiles(directory=Path(__file__).parent / "static"),
              name="centre-static")
    app.add_middleware(CsrfMiddleware, secure=secure_cookies)
    token = app.state.accounts.issue_setup_token()
    if token is not None:
        where = f"{base_url.rstrip('/')}" if base_url else ""
        announce(f"branchline central: first run: open {where}/setup?token={token} to create "
                 "the admin")
    return app
