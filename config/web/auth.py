"""Who is asking, and may they: sessions, roles and CSRF for the web API.

Roles are ordered ``admin > supervisor > viewer > agent``: admin may do everything, supervisor
works the floor (agents, wallboard, reports), viewer reads, agent (an ACD agent's own login,
the least role) uses the agent desktop and nothing else. An endpoint states its minimum role
with a dependency, and that dependency is the only place the rule lives: ``route_roles(app)``
reads it back from the routes for the tests, ``roles_markdown(app)`` for docs/web.md::

    @router.get("/api/users")
    def users(user: AdminUser): ...       # = Annotated[User, Depends(require(Role.admin))]

    current_user(request)   -> User (any role, agent included), else 401 "not_logged_in"
    optional_user(request)  -> User | None, for pages that redirect to /login
    require(role)           -> a dependency returning the User, 401 without a session,
                               403 "forbidden" below ``role``

Sessions: the ``bl_session`` cookie (HttpOnly, SameSite=Strict, Secure under TLS) holds a
random token; ``accounts`` keeps only its hash.

CSRF: every POST/PUT/PATCH/DELETE under ``/api`` must carry the header ``X-CSRF-Token``,
else 403 "csrf_failed" before the endpoint runs. With a session cookie the token is bound to
the session: ``session_csrf(key, session)``, an HMAC of the session token with the server's
secret (``Accounts.csrf_key``, kept in accounts.db, never logged or shown), so a cookie an
attacker plants cannot be paired with a token they know. Before there is a session (login,
setup) it is the double-submit ``bl_csrf`` cookie (SameSite=Strict), set on any response to a
request that lacks it. Pages embed ``csrf_token(request)`` in ``<meta name="csrf-token">``;
login and setup answer the new session's token. A change a browser marks as coming from
another site (``Sec-Fetch-Site`` cross-site or same-site, or an ``Origin`` other than the
host asked) is refused outright; a client that sends neither header (curl, scripts) passes
on the token alone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request, routing
from fastapi.routing import APIRoute
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from branchline.config.web.errors import api_error

__all__ = [
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "AdminUser",
    "AgentUser",
    "AnyUser",
    "CsrfMiddleware",
    "Role",
    "RouteRole",
    "SessionUser",
    "SupervisorUser",
    "User",
    "csrf_token",
    "current_user",
    "optional_user",
    "require",
    "roles_markdown",
    "route_roles",
    "session_csrf",
]

SESSION_COOKIE = "bl_session"
CSRF_COOKIE = "bl_csrf"
CSRF_HEADER = "X-CSRF-Token"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Role(StrEnum):
    admin = "admin"
    supervisor = "supervisor"
    viewer = "viewer"
    agent = "agent"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what ``needed`` may."""
        return self.rank >= needed.rank


_RANK = {Role.agent: 0, Role.viewer: 1, Role.supervisor: 2, Role.admin: 3}


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    language: Literal["zh", "en"]


def optional_user(request: Request) -> User | None:
    """The logged-in user, or None (no cookie, unknown or expired session)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return request.app.state.accounts.session_user(token)


def current_user(request: Request) -> User:
    user = optional_user(request)
    if user is None:
        raise api_error(401, "not_logged_in",
                        "you are not logged in, or your session expired; log in at /login "
                        "(POST /api/session)")
    return user


current_user.minimum_role = Role.agent  # type: ignore[attr-defined]


def require(role: Role) -> Callable[[Request], User]:
    """A dependency that lets ``role`` and above through."""

    def dependency(request: Request) -> User:
        user = current_user(request)
        if not user.role.allows(role):
            raise api_error(403, "forbidden",
                            f"{user.name} is a {user.role.value}; this needs the "
                            f"{role.value} role or above (ask an admin)")
        return user

    dependency.minimum_role = role  # type: ignore[attr-defined]
    dependency.__name__ = f"require_{role.value}"
    return dependency


def agent_user(request: Request) -> User:
    """The agent desktop's dependency: an agent's own session (the user name is the agent id);
    other roles act for agents through ``/api/agents/{id}/state`` instead."""
    user = current_user(request)
    if user.role is not Role.agent:
        raise api_error(403, "forbidden",
                        f"{user.name} is a {user.role.value}; the agent desktop is for agents "
                        "(log in with the agent id); supervisors set an agent's state on the "
                        "Agents page")
    return user


agent_user.minimum_role = Role.agent  # type: ignore[attr-defined]

# Endpoint parameter types: ``def f(user: AdminUser)`` is ``Depends(require(Role.admin))``.
SessionUser = Annotated[User, Depends(current_user)]
AgentUser = Annotated[User, Depends(agent_user)]
AnyUser = Annotated[User, Depends(require(Role.viewer))]
SupervisorUser = Annotated[User, Depends(require(Role.supervisor))]
AdminUser = Annotated[User, Depends(require(Role.admin))]


def csrf_token(request: Request) -> str:
    """The CSRF token of this request: its session's, else the ``bl_csrf`` cookie's."""
    return request.scope["state"][CSRF_COOKIE]


def session_csrf(key: bytes, session: str) -> str:
    """The CSRF token bound to the session token ``session``."""
    digest = hmac.new(key, b"csrf\0" + session.encode("utf-8", "replace"), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class RouteRole:
    """One API operation and the least role that may call it (None: anyone, logged in or not)."""

    method: str
    path: str
    role: Role | None
    summary: str


def route_roles(app: FastAPI) -> list[RouteRole]:
    """Every operation under ``/api`` with its minimum role, read from its dependencies."""
    table = []
    for path, route in _api_routes(app):
        role = _minimum_role(route.dependant)
        summary = route.summary or (route.description or "").strip().split("\n")[0]
        for method in sorted(route.methods):
            table.append(RouteRole(method, path, role, summary))
    return sorted(table, key=lambda r: (r.path, r.method))


def _api_routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    # FastAPI 0.12x+ keeps included routers as such; iter_route_contexts flattens them.
    flatten = getattr(routing, "iter_route_contexts", None)
    for entry in (flatten(app.routes) if flatten else app.routes):
        route = getattr(entry, "original_route", entry)
        path = getattr(entry, "path", None) or getattr(route, "path", "")
        if isinstance(route, APIRoute) and path.startswith("/api/"):
            yield path, route


def roles_markdown(app: FastAPI) -> str:
    """The roles table of docs/web.md, generated from the routes (a test keeps it current)."""
    lines = ["| method | path | least role | what |", "|---|---|---|---|"]
    for r in route_roles(app):
        who = r.role.value if r.role else "anyone"
        lines.append(f"| {r.method} | `{r.path}` | {who} | {r.summary} |")
    return "\n".join(lines) + "\n"


def _minimum_role(dependant: Any) -> Role | None:
    found = [getattr(dependant.call, "minimum_role", None)]
    found += [_minimum_role(d) for d in dependant.dependencies]
    roles = [r for r in found if r is not None]
    return max(roles, key=lambda r: r.rank) if roles else None


class CsrfMiddleware:
    """Double-submit CSRF check on ``/api`` changes; hands out the cookie (pure ASGI, so
    streamed responses pass through untouched)."""

    def __init__(self, app: ASGIApp, *, secure: bool = False) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        cookie = _cookie(headers.get("cookie", ""), CSRF_COOKIE)
        fresh = not _well_formed(cookie)
        token = secrets.token_urlsafe(32) if fresh else cookie
        session = _cookie(headers.get("cookie", ""), SESSION_COOKIE)
        expected = None if fresh else cookie
        if session:
            expected = session_csrf(scope["app"].state.accounts.csrf_key, session)
        scope.setdefault("state", {})[CSRF_COOKIE] = expected or token
        refusal = _refusal(scope, headers, expected)
        set_cookie = _set_cookie(token, self.secure) if fresh else None

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and set_cookie:
                message = dict(message)
                message["headers"] = [*message.get("headers", []),
                                      (b"set-cookie", set_cookie.encode("latin-1"))]
            await send(message)

        if refusal is not None:
            await _json(send_with_cookie, 403, refusal)
            return
        await self.app(scope, receive, send_with_cookie)


def _refusal(scope: Scope, headers: dict[str, str], expected: str | None) -> dict | None:
    if scope["method"] not in _UNSAFE or not scope["path"].startswith("/api/"):
        return None
    origin = headers.get("origin")
    if headers.get("sec-fetch-site") in ("cross-site", "same-site") or (
            origin is not None and urlsplit(origin).netloc != headers.get("host")):
        return _csrf_error("the request came from another web site; changes are only "
                           "accepted from this appliance's own pages")
    sent = headers.get(CSRF_HEADER.lower())
    if expected is None:
        return _csrf_error(f"no {CSRF_COOKIE} cookie came with this change; load any page or "
                           f"GET /api/session first, then send the cookie's value in the "
                           f"{CSRF_HEADER} header")
    if not sent:
        return _csrf_error(f"the {CSRF_HEADER} header is missing; send the value of the "
                           f"{CSRF_COOKIE} cookie (or of <meta name=\"csrf-token\">) in it")
    if not hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode()):
        return _csrf_error(f"the {CSRF_HEADER} header does not match the {CSRF_COOKIE} "
                           "cookie or your session; reload the page to get the current token")
    return None


def _csrf_error(message: str) -> dict:
    return {"error": {"code": "csrf_failed", "message": message}}


def _well_formed(token: str | None) -> bool:
    return token is not None and 20 <= len(token) <= 100 and token.replace("-", "").replace(
        "_", "").isalnum() and token.isascii()


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in scope.get("headers", []):
        name = key.decode("latin-1").lower()
        text = value.decode("latin-1")
        out[name] = f"{out[name]}; {text}" if name == "cookie" and name in out else text
    return out


def _cookie(header: str, name: str) -> str | None:
    # Starlette's lenient parser, so this reads the cookie exactly as request.cookies does.
    return cookie_parser(header).get(name)


def _set_cookie(token: str, secure: bool) -> str:
    return f"{CSRF_COOKIE}={token}; Path=/; SameSite=Strict" + ("; Secure" if secure else "")


async def _json(send: Callable, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})
