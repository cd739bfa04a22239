"""First-run setup, login, logout and the user's own session settings.

    GET    /api/setup             anyone: {"needed": bool}, is there still no user?
    POST   /api/setup             anyone with the one-time token: create the first admin, log in
    GET    /api/session           logged in: {user, role, language, csrf}
    POST   /api/session           anyone: log in with name and password
    DELETE /api/session           anyone: log out (no session is fine)
    PUT    /api/session/language  logged in: the language of the pages for this user
    PUT    /api/session/password  logged in: change one's own password (the current one
                                  first; counts toward the login limits); other sessions end

A failed login is 401 "login_failed" and never says whether the name exists; a locked name
or address is 429 "locked_out" with the time left (and ``Retry-After``); the lockout is
audited once, when it starts (limits in ``accounts``).
"""

from __future__ import annotations

import logging
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from branchline.config.web.accounts import (
    AccountInvalid,
    Accounts,
    LockedOut,
    LoginFailed,
    SetupRefused,
)
from branchline.config.web.auth import (
    SESSION_COOKIE,
    SessionUser,
    User,
    csrf_token,
    session_csrf,
)
from branchline.config.web.errors import api_error

__all__ = ["Login", "SessionOut", "Setup", "router", "set_session_cookie"]

router = APIRouter(tags=["session"])
log = logging.getLogger("branchline.web")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Setup(_Body):
    token: str = Field(max_length=200)
    name: str = Field(max_length=200)
    password: str = Field(max_length=1000)
    language: Literal["zh", "en"] = "zh"


class Login(_Body):
    name: str = Field(max_length=200)
    password: str = Field(max_length=1000)


class LanguageIn(_Body):
    language: Literal["zh", "en"]


class PasswordIn(_Body):
    current: str = Field(max_length=1000)
    new: str = Field(max_length=1000)


class SetupNeeded(BaseModel):
    needed: bool


class SessionOut(BaseModel):
    user: str
    role: str
    language: str
    csrf: str


def _accounts(request: Request) -> Accounts:
    return request.app.state.accounts


def _out(request: Request, user: User, session: str | None = None) -> SessionOut:
    """``session``: a session opened by this request, whose CSRF token the client needs."""
    csrf = session_csrf(_accounts(request).csrf_key, session) if session else \
        csrf_token(request)
    return SessionOut(user=user.name, role=user.role.value, language=user.language, csrf=csrf)


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Secure under TLS, for the browser
    session (the server ends it on its own timers)."""
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.app.state.secure_cookies, path="/")


def invalid(exc: AccountInvalid) -> Exception:
    return api_error(422, "invalid", str(exc), issues=[{
        "path": f"body.{exc.field}", "message": str(exc).split(";")[0],
        "fix": str(exc).split("; ", 1)[-1], "severity": "error", "line": None}])


@router.get("/api/setup", summary="Whether first-run setup is still needed")
def setup_needed(request: Request) -> SetupNeeded:
    return SetupNeeded(needed=not _accounts(request).has_users())


@router.post("/api/setup", summary="Create the first admin with the one-time setup token")
def setup(body: Setup, request: Request, response: Response) -> SessionOut:
    accounts = _accounts(request)
    try:
        user = accounts.setup(body.token, body.name, body.password, body.language)
    except SetupRefused as exc:
        raise api_error(403, "setup_refused", str(exc)) from None
    except AccountInvalid as exc:
        raise invalid(exc) from None
    request.app.state.link.audit(user.name, "first-run setup: created the first admin "
                                 f"{user.name!r}", "")
    token = accounts.open_session(user.name)
    set_session_cookie(request, response, token)
    return _out(request, user, token)


@router.get("/api/session", summary="Who is logged in, and the CSRF token")
def session(request: Request, user: SessionUser) -> SessionOut:
    return _out(request, user)


@router.post("/api/session", summary="Log in")
def login(body: Login, request: Request, response: Response) -> SessionOut:
    address = request.client.host if request.client else "unknown"
    try:
        user, token = _accounts(request).login(body.name, body.password, address=address)
    except LoginFailed as exc:
        raise api_error(401, "login_failed", str(exc)) from None
    except LockedOut as exc:
        if exc.started:
            log.warning("web: login locked for %r from %s", body.name, address)
            request.app.state.link.audit(body.name, f"login locked from {address}: {exc}", "")
        raise api_error(429, "locked_out", str(exc),
                        headers={"Retry-After": str(max(1, round(exc.retry_after)))}) from None
    set_session_cookie(request, response, token)
    return _out(request, user, token)


@router.delete("/api/session", status_code=204, summary="Log out")
def logout(request: Request, response: Response) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        _accounts(request).logout(token)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=request.app.state.secure_cookies)


@router.put("/api/session/language", summary="The page language of the logged-in user")
def set_language(body: LanguageIn, request: Request,
                 user: SessionUser) -> SessionOut:
    updated = _accounts(request).update_user(user.name, language=body.language)
    return _out(request, updated)


@router.put("/api/session/password", summary="Change your own password")
def change_password(body: PasswordIn, request: Request, response: Response,
                    user: SessionUser) -> SessionOut:
    accounts = _accounts(request)
    address = request.client.host if request.client else "unknown"
    try:
        accounts.verify(user.name, body.current, address=address)
    except LoginFailed as exc:
        message = str(exc).replace("wrong user name or password", "the current password is "
                                   "wrong", 1)
        raise api_error(422, "invalid", message, issues=[{
            "path": "body.current", "message": "the current password is wrong",
            "fix": "type the password you logged in with", "severity": "error",
            "line": None}]) from None
    except LockedOut as exc:
        raise api_error(429, "locked_out", str(exc),
                        headers={"Retry-After": str(max(1, round(exc.retry_after)))}) from None
    try:
        accounts.update_user(user.name, password=body.new)
    except AccountInvalid as exc:
        raise invalid(AccountInvalid(str(exc), "new")) from None
    request.app.state.link.audit(user.name, "changed their own password", "")
    token = accounts.open_session(user.name)
    set_session_cookie(request, response, token)
    return _out(request, user, token)
