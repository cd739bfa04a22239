"""The sign-in and first-run pages, one router shared by the branch's page and the centre's.

    router.include_router(signin_router(render, language))

``render(request, template, *, user, page, status=200, **context)`` draws a template in the
including app's look (its menu, its words), ``language(request, user)`` picks the language
for a visitor who has not signed in. Both pages only show forms: ``static/app.js`` sends them
to ``/api/session`` and ``/api/setup`` (config/web/api/session.py), which check everything.

    GET /login?next=/path   signed in already: to ``next`` (a path of this site, else ``/``);
                            no account yet: says how the first run works; else the form
    GET /setup?token=...    the first admin's form, until an account exists
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from branchline.config.web.auth import User, optional_user
from branchline.config.web.i18n import translator

__all__ = ["signin_router"]

Render = Callable[..., HTMLResponse]
Language = Callable[[Request, User | None], str]


def _local(next_path: str) -> str:
    """``next_path`` if it stays on this site, else ``/`` (no open redirect)."""
    return next_path if next_path.startswith("/") and not next_path.startswith("//") else "/"


def signin_router(render: Render, language: Language) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/") -> Response:
        safe_next = _local(next)
        if optional_user(request) is not None:
            return RedirectResponse(safe_next, status_code=303)
        if not request.app.state.accounts.has_users():
            t = translator(language(request, None))
            return render(request, "message.html", user=None, page="login",
                          heading=t("setup.title"), text=t("login.first_run"))
        return render(request, "login.html", user=None, page="login", next=safe_next)

    @router.get("/setup", response_class=HTMLResponse)
    def setup_page(request: Request, token: str = "") -> Response:
        if request.app.state.accounts.has_users():
            t = translator(language(request, None))
            return render(request, "message.html", user=None, page="setup",
                          heading=t("setup.title"), text=t("setup.done_already"))
        return render(request, "setup.html", user=None, page="setup", token=token)

    return router
