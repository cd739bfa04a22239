"""The web service's users (admin only); every change is audited (never the password).

    GET    /api/users           [{name, role, language}]
    POST   /api/users           {name, role, language, password} -> 201 the user
    PATCH  /api/users/{name}    {role?, language?, password?}   a new role or password logs
                                                                 the user out everywhere
    DELETE /api/users/{name}    204; never the last admin (409)

Passwords: at least 10 characters and not the user name (``accounts``); refused with 422
naming the field. An ``agent`` user is named by a configured ACD agent id (the agent desktop
acts for that agent) and may have a PIN (6 to 12 digits) instead of a password.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from branchline.config.web.accounts import (
    AccountInvalid,
    Accounts,
    LastAdmin,
    NoSuchUser,
    UserExists,
)
from branchline.config.web.api.session import invalid
from branchline.config.web.auth import AdminUser, Role, User
from branchline.config.web.errors import api_error

__all__ = ["NewUser", "UserChange", "UserOut", "router"]

router = APIRouter(tags=["users"])


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
    role: Role
    language: Literal["zh", "en"] = "zh"
    password: str = Field(max_length=1000)


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    language: Literal["zh", "en"] | None = None
    password: str | None = Field(default=None, max_length=1000)


class UserOut(BaseModel):
    name: str
    role: Role
    language: str


def _accounts(request: Request) -> Accounts:
    return request.app.state.accounts


def _out(user: User) -> UserOut:
    return UserOut(name=user.name, role=user.role, language=user.language)


@router.get("/api/users", summary="Every user of the web service")
def list_users(request: Request, who: AdminUser) -> list[UserOut]:
    return [_out(u) for u in _accounts(request).users()]


@router.post("/api/users", status_code=201, summary="Create a user")
def create_user(body: NewUser, request: Request, who: AdminUser) -> UserOut:
    if body.role is Role.agent:
        _configured_agent(request, body.name)
    try:
        user = _accounts(request).create_user(body.name, body.role, body.language,
                                              body.password)
    except AccountInvalid as exc:
        raise invalid(exc) from None
    except UserExists as exc:
        raise api_error(409, "user_exists", str(exc)) from None
    request.app.state.link.audit(who.name, f"created user {user.name!r} "
                                 f"({user.role.value}, {user.language})", "")
    return _out(user)


@router.patch("/api/users/{name}", summary="Change a user's role, language or password")
def change_user(name: str, body: UserChange, request: Request,
                who: AdminUser) -> UserOut:
    accounts = _accounts(request)
    try:
        before = accounts.user(name)
        if body.role is Role.agent and before.role is not Role.agent:
            _configured_agent(request, name)
        user = accounts.update_user(name, role=body.role, language=body.language,
                                    password=body.password)
    except NoSuchUser as exc:
        raise api_error(404, "no_such_user", f"{exc}; GET /api/users lists them") from None
    except AccountInvalid as exc:
        raise invalid(exc) from None
    except LastAdmin as exc:
        raise api_error(409, "last_admin", str(exc)) from None
    changes = [f"role {before.role.value} -> {user.role.value}"] if user.role != before.role \
        else []
    if user.language != before.language:
        changes.append(f"language {before.language} -> {user.language}")
    if body.password is not None:
        changes.append("password changed")
    request.app.state.link.audit(who.name, f"changed user {name!r}: "
                                 f"{', '.join(changes) or 'nothing'}", "")
    return _out(user)


@router.delete("/api/users/{name}", status_code=204, summary="Delete a user")
def delete_user(name: str, request: Request, who: AdminUser) -> None:
    try:
        _accounts(request).delete_user(name)
    except NoSuchUser as exc:
        raise api_error(404, "no_such_user", f"{exc}; GET /api/users lists them") from None
    except LastAdmin as exc:
        raise api_error(409, "last_admin", str(exc)) from None
    request.app.state.link.audit(who.name, f"deleted user {name!r}", "")


def _configured_agent(request: Request, name: str) -> None:
    agents = [a["id"] for a in request.app.state.link.snapshot()["agents"]]
    if name not in agents:
        raise invalid(AccountInvalid(
            f"an agent user is named by its agent id, and {name!r} is not a configured agent; "
            f"use one of: {', '.join(agents) or '(none configured: add agents first)'}",
            "name"))
