"""One shape for every error the web API returns, and the handlers that guarantee it.

Every 4xx/5xx JSON response of ``/api`` is::

    {"error": {"code": "validation_failed", "message": "what went wrong, said for a person",
               "issues": [{"path": "flows.bank.nodes.main.options.9", "message": "...",
                           "fix": "...", "severity": "error", "line": 12}]}}

``issues`` is present only when there are issues to show. The checker's issues also carry
``key``, ``fix_key`` and ``params`` (the message keys of the page's catalogue; the English
``message`` and ``fix`` stay for scripts and the CLI) and, in an error response, ``said``:
``{message, fix}`` in the language the request's ``Accept-Language`` asks for (the page's
scripts send the page's language), so the page can show them in Chinese. Endpoints raise
``api_error(status, code, message, issues=...)``; ``install_error_handlers(app)`` makes the
rest come out the same way:

    HTTPException (ours)          passed through as built (any detail {"error": ...} too)
    HTTPException (others')       wrapped: code "http_<status>" (a 404 for an unknown route too)
    RequestValidationError        422 "request_invalid", one issue per field, the path into the
                                  body/query as a dotted path ("body.password")
    link.NotFound / TooLarge / Refused / other LinkError
                                  404 / 413 / 422 / 503 with the link error's code and message
    any other exception           500 "internal_error" with an error id, logged with the
                                  traceback under that id; the client sees the id only

The 500 handler is the last line of defence: tests (schemathesis among them) prove that no
input reaches it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from branchline.config.web.i18n import issue_said
from branchline.config.web.link import LinkError, NotFound, Refused, TooLarge

__all__ = ["ERROR_RESPONSES", "ApiError", "ErrorBody", "api_error", "install_error_handlers",
           "issue_dict", "issues_from_report"]

log = logging.getLogger("branchline.web")


class IssueSaid(BaseModel):
    message: str
    fix: str


class IssueBody(BaseModel):
    path: str
    message: str
    fix: str
    severity: str
    line: int | None = None
    key: str | None = None
    fix_key: str | None = None
    params: dict[str, Any] | None = None
    said: IssueSaid | None = None


class ErrorDetail(BaseModel):
    code: str
    message: str
    issues: list[IssueBody] | None = None


class ErrorBody(BaseModel):
    """The error shape, for the OpenAPI description."""

    error: ErrorDetail


# Declared on every router the app includes, so the OpenAPI description (and schemathesis,
# which checks responses against it) knows every error status an endpoint can answer.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": what}
    for status, what in ((400, "bad request"), (401, "not logged in"),
                         (403, "forbidden (role, or CSRF token)"), (404, "not found"),
                         (409, "conflict (someone else changed it first)"),
                         (413, "body too large"), (422, "invalid (issues say where)"),
                         (429, "locked out (too many failed logins)"),
                         (500, "internal error (with an error id)"),
                         (503, "the configuration store or the appliance is unavailable"))
}


class ApiError(HTTPException):
    """An HTTPException whose ``detail`` already is the contract's ``{"error": ...}`` body."""


def api_error(status: int, code: str, message: str, *, issues: list[dict] | None = None,
              headers: Mapping[str, str] | None = None) -> HTTPException:
    """The exception to raise for an error response of the contract's shape."""
    body: dict[str, Any] = {"code": code, "message": message}
    if issues:
        body["issues"] = issues
    return ApiError(status_code=status, detail={"error": body},
                    headers=dict(headers) if headers else None)


def issue_dict(issue: Any, severity: str = "error") -> dict:
    """One document Issue (path, message, fix, line; its keys) as the contract's issue."""
    found = {"path": issue.path, "message": issue.message, "fix": issue.fix,
             "severity": severity, "line": issue.line}
    if issue.key:
        found.update(key=issue.key, fix_key=issue.fix_key, params=dict(issue.params))
    return found


def issues_from_report(report: Any) -> list[dict]:
    """A document report's errors then warnings, as issues."""
    return ([issue_dict(i, "error") for i in report.errors]
            + [issue_dict(i, "warning") for i in report.warnings])


_FIXES = {
    "missing": "add this field",
    "json_invalid": "send a valid JSON body",
    "model_attributes_type": "send a JSON object",
    "dict_type": "send a JSON object",
    "extra_forbidden": "remove this field",
    "string_type": "use a text string (in quotes)",
    "int_type": "use a whole number",
    "int_parsing": "use a whole number",
    "int_from_float": "use a whole number",
    "float_type": "use a number",
    "float_parsing": "use a number",
    "bool_type": "use true or false",
    "bool_parsing": "use true or false",
    "list_type": "use a JSON list",
}


def _validation_issues(errors: Iterable[Mapping[str, Any]]) -> list[dict]:
    issues = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        kind = str(error.get("type", ""))
        message = str(error.get("msg", "invalid value"))
        if kind == "json_invalid":
            detail = (error.get("ctx") or {}).get("error")
            where = f" at character {loc[1]}" if len(loc) > 1 else ""
            message = f"the body is not valid JSON{where}" + (f" ({detail})" if detail else "")
            loc = loc[:1]
        path = ".".join(str(part) for part in loc)
        fix = _FIXES.get(kind) or _expected(error)
        issues.append({"path": path, "message": message, "fix": fix, "severity": "error",
                       "line": None})
    return issues


def _expected(error: Mapping[str, Any]) -> str:
    ctx = error.get("ctx") or {}
    if "expected" in ctx:
        return f"use {ctx['expected']}"
    for key, what in (("min_length", "at least {} characters/items"),
                      ("max_length", "at most {} characters/items"),
                      ("ge", "a number ≥ {}"), ("gt", "a number > {}"),
                      ("le", "a number ≤ {}"), ("lt", "a number < {}")):
        if key in ctx:
            return "use " + what.format(ctx[key])
    return "see the API description at /api/openapi.json for what this field takes"


def _said(request: Request, body: dict) -> dict:
    """The body with each keyed issue also said in the request's language."""
    issues = body["error"].get("issues") if isinstance(body.get("error"), dict) else None
    if not issues:
        return body
    language = "zh" if request.headers.get("accept-language", "").lower().startswith("zh") \
        else "en"
    said = []
    for issue in issues:
        if issue.get("key"):
            message, fix = issue_said(issue, language)
            issue = {**issue, "said": {"message": message, "fix": fix}}
        said.append(issue)
    return {**body, "error": {**body["error"], "issues": said}}


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if isinstance(exc, ApiError) or (isinstance(exc.detail, dict) and "error" in exc.detail):
        body = _said(request, exc.detail)
    else:
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404 and message == "Not Found":
            message = f"there is no {request.url.path}; the API is described at " \
                      "/api/openapi.json"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        body = {"error": {"code": f"http_{exc.status_code}", "message": message}}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    issues = _validation_issues(exc.errors())
    first = issues[0] if issues else None
    message = "the request is not valid" + (
        f": {first['path']}: {first['message']}" if first else "")
    body = {"error": {"code": "request_invalid", "message": message, "issues": issues}}
    return JSONResponse(body, status_code=422)


async def _link_error(request: Request, exc: LinkError) -> JSONResponse:
    status = 404 if isinstance(exc, NotFound) else 413 if isinstance(exc, TooLarge) \
        else 422 if isinstance(exc, Refused) else 503
    return JSONResponse({"error": {"code": exc.code, "message": str(exc)}}, status_code=status)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    error_id = secrets.token_hex(6)
    log.error("web: error %s on %s %s", error_id, request.method, request.url.path,
              exc_info=exc)
    body = {"error": {"code": "internal_error",
                      "message": f"the appliance failed to handle this request (error id "
                                 f"{error_id}); the appliance log has the details under "
                                 "that id"}}
    return JSONResponse(body, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(LinkError, _link_error)
    app.add_exception_handler(Exception, _unexpected)
