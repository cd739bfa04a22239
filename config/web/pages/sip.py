"""The SIP page (/sip, supervisor; changes admin): each trunk's registration (state, reason,
registrar, expiry, next attempt) and each phone account's registrations (address, user agent,
last seen), read through ``ApplianceLink.sip_status``. Admins generate or reset a phone's
password (shown once, by ``static/sip.js`` from the API's answer) and set a trunk's; the page
never holds a password.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from branchline.config.web.auth import Role, User
from branchline.config.web.pages.render import _gate, _render, _site

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/sip", response_class=HTMLResponse)
def sip_page(request: Request) -> Response:
    user = _gate(request, Role.supervisor)
    if not isinstance(user, User):
        return user
    zone = ZoneInfo(_site(request)[1])

    def when(epoch):
        if epoch is None:
            return ""
        return dt.datetime.fromtimestamp(epoch, zone).strftime("%Y-%m-%d %H:%M:%S")

    status = request.app.state.link.sip_status()
    trunks = phones = []
    if status is not None:
        trunks = [{**t, "expires": when(t["expires"]), "next_attempt": when(t["next_attempt"])}
                  for t in status["trunks"]]
        phones = [{**p, "bindings": [{**b, "last_seen": when(b["last_seen"]),
                                      "expires": when(b["expires"])} for b in p["bindings"]]}
                  for p in status["phones"]]
    return _render(request, "sip.html", user=user, page="sip", enabled=status is not None,
                   trunks=trunks, phones=phones, admin=user.role == Role.admin)
