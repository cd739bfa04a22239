"""CTI integrations, issued and revoked by an admin; every change audited (never a secret).

    GET    /api/integrations          admin: [{name, scopes, webhook_url, created, ...}]
    POST   /api/integrations          admin: {name, scopes, webhook_url?} -> 201 with the
                                      token (and the webhook secret): shown this once only
    DELETE /api/integrations/{name}   admin: revoke (the name stays, for the audit)

After every change the webhooks the link delivers to are set again (``sync_webhooks``), so a
new integration's webhook gets the next event and a revoked one gets none.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field

from branchline.config.web.auth import AdminUser
from branchline.config.web.errors import api_error
from branchline.config.web.integrations import (
    IntegrationExists,
    IntegrationInvalid,
    Integrations,
    NoSuchIntegration,
)

__all__ = ["router", "sync_webhooks"]

router = APIRouter(tags=["integrations"])


class NewIntegration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=40)
    scopes: list[str] = Field(max_length=50,
                              description="all, agent:<id> or queue:<name>, one or more")
    webhook_url: str | None = Field(None, max_length=500)


class IntegrationOut(BaseModel):
    name: str
    scopes: list[str]
    webhook_url: str | None
    created: float
    created_by: str
    revoked: float | None


class IssuedOut(IntegrationOut):
    token: str = Field(description="shown once; send it as 'Authorization: Bearer <token>'")
    webhook_secret: str | None = Field(description="shown once; the HMAC-SHA256 key of the "
                                                   "webhooks' signatures, hex")


def _integrations(request: Request) -> Integrations:
    return request.app.state.integrations


def sync_webhooks(app: FastAPI) -> None:
    app.state.link.cti_webhooks([
        {"name": i.name, "url": i.webhook_url, "secret": secret, "scopes": list(i.scopes)}
        for i, secret in app.state.integrations.webhooks()])


@router.get("/api/integrations", summary="CTI integrations (tokens never shown again)")
def list_integrations(request: Request, who: AdminUser) -> list[IntegrationOut]:
    return [IntegrationOut(**i.public()) for i in _integrations(request).all()]


@router.post("/api/integrations", status_code=201,
             summary="Issue a CTI integration's token (and webhook secret)")
def issue(body: NewIntegration, request: Request, who: AdminUser) -> IssuedOut:
    try:
        issued = _integrations(request).issue(body.name, body.scopes,
                                              webhook_url=body.webhook_url, who=who.name)
    except IntegrationInvalid as exc:
        raise api_error(422, "invalid", str(exc), issues=[{
            "path": f"body.{exc.field}", "message": str(exc).split(";")[0],
            "fix": str(exc).split("; ", 1)[-1], "severity": "error", "line": None}]) from None
    except IntegrationExists as exc:
        raise api_error(409, "integration_exists", str(exc)) from None
    request.app.state.link.audit(
        who.name, f"CTI integration {body.name!r} issued: scopes "
        f"{', '.join(issued.integration.scopes)}"
        + (f", webhook {body.webhook_url}" if body.webhook_url else ""), "")
    sync_webhooks(request.app)
    return IssuedOut(**issued.integration.public(), token=issued.token,
                     webhook_secret=issued.webhook_secret)


@router.delete("/api/integrations/{name}", status_code=204,
               summary="Revoke a CTI integration's token (its streams close)")
def revoke(name: str, request: Request, who: AdminUser) -> None:
    try:
        _integrations(request).revoke(name, who=who.name)
    except NoSuchIntegration as exc:
        raise api_error(404, "no_such_integration", str(exc)) from None
    request.app.state.link.audit(who.name, f"CTI integration {name!r} revoked", "")
    sync_webhooks(request.app)
