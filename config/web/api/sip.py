"""SIP: the trunks' registrations, the phones' bindings, and the SIP passwords.

    GET  /api/sip                              supervisor: trunks (state, reason, registrar,
                                               expiry, next attempt) and phones (address,
                                               user agent, last seen); whether each account
                                               has a password, never the password
    POST /api/sip/phones/{station}/password    admin: generate the phone account's password
                                               (a new one resets it): answered this once only
    PUT  /api/sip/trunks/{name}/password       admin: set the trunk's password (refused when
                                               weak or another account's); never answered back

Both changes are audited by the link without the secret. Without a ``sip`` section in the
configuration in force, GET answers ``{"enabled": false}`` and the changes 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from branchline.config.web.auth import AdminUser, SupervisorUser

__all__ = ["router"]

router = APIRouter(tags=["sip"])


class Binding(BaseModel):
    address: str
    transport: str
    user_agent: str
    last_seen: float | None
    expires: float | None


class Trunk(BaseModel):
    name: str
    registers: bool
    address: str | None
    state: str = Field(description="idle, registering, registered, refreshing, retrying, "
                                   "failed, unregistering; none for a trunk that does not "
                                   "register")
    reason: str
    registrar: str | None
    expires: float | None
    next_attempt: float | None
    password_set: bool


class Phone(BaseModel):
    station: str
    extension: str
    password_set: bool
    bindings: list[Binding]


class SipOut(BaseModel):
    enabled: bool
    trunks: list[Trunk] = []
    phones: list[Phone] = []


class Generated(BaseModel):
    account: str
    password: str = Field(description="shown this once; enter it on the phone")


class TrunkPassword(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(min_length=1, max_length=256)


class PasswordSet(BaseModel):
    account: str


@router.get("/api/sip", summary="SIP trunks' registrations and phones' bindings")
def sip_status(request: Request, user: SupervisorUser) -> SipOut:
    status = request.app.state.link.sip_status()
    if status is None:
        return SipOut(enabled=False)
    return SipOut(enabled=True, **status)


@router.post("/api/sip/phones/{station}/password", status_code=201,
             summary="Generate a phone account's SIP password (shown once)")
def generate_phone_password(station: str, request: Request, user: AdminUser) -> Generated:
    account = f"phone:{station}"
    password = request.app.state.link.sip_password(account, None, user.name)
    return Generated(account=account, password=password)


@router.put("/api/sip/trunks/{name}/password",
            summary="Set a trunk's SIP password (never shown back)")
def set_trunk_password(name: str, body: TrunkPassword, request: Request,
                       user: AdminUser) -> PasswordSet:
    account = f"trunk:{name}"
    request.app.state.link.sip_password(account, body.password, user.name)
    return PasswordSet(account=account)
