"""Supervising a call from the wallboard (supervisor role): listen in the browser, and
whisper, barge or take over from the supervisor's own phone.

    WS   /api/calls/{call_id}/listen    the call's voices (below)
    POST /api/calls/{call_id}/monitor   {"action": whisper | barge | take_over | leave}: done
                                        from the supervisor's station before the answer (200)

``/api/calls/{call_id}/listen`` (WebSocket). The session cookie says who is asking; below
the supervisor role the handshake is refused (close 4403), so is a page of another site (its
Origin must be this host: a WebSocket is not covered by the CSRF token). A supervisor may
listen only to the agents and queues the document's ``call_control.supervisors`` gives them;
an admin to any call (else the socket opens and closes at once with 4409 and the reason,
which a browser could not read from a refused handshake). Once open, the server sends a
binary message every 100 ms: the call's voices since the last one, little-endian int16 mono
at 8 kHz (what a listening supervisor hears in the mix). When the call ends it closes with
1000 "call over". Each listen is audited with its duration when it ends. The wallboard plays
it with the Web Audio API (static/wallboard.js).

``monitor`` acts as the keypad codes do at the station ``call_control.supervisors`` gives the
user (firmware/web/call_monitor.py): the phone must be off hook (dial tone) or already
monitoring the call; refusals are 422 with what would be right, and every session is audited
with its duration.
"""

from __future__ import annotations

import asyncio
from typing import Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from branchline.config.web.auth import SESSION_COOKIE, Role, SupervisorUser
from branchline.config.web.link import LinkError

__all__ = ["router"]

router = APIRouter(tags=["call control"])

CLOSE_FORBIDDEN = 4403
CLOSE_REFUSED = 4409
_EVERY_S = 0.1


def _refusal(websocket: WebSocket) -> str | None:
    origin = websocket.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != websocket.headers.get("host"):
        return "a page of another site may not listen to calls"
    return None


@router.websocket("/api/calls/{call_id}/listen")
async def listen(websocket: WebSocket, call_id: str) -> None:
    app = websocket.app
    token = websocket.cookies.get(SESSION_COOKIE)
    user = app.state.accounts.session_user(token) if token else None
    refusal = _refusal(websocket)
    if refusal is None and (user is None or not user.role.allows(Role.supervisor)):
        refusal = "listening to calls needs the supervisor role or above; log in as one"
    if refusal is not None:
        await websocket.close(CLOSE_FORBIDDEN, refusal)
        return
    link = app.state.link
    try:
        tap = await run_in_threadpool(link.listen, call_id, user.name,
                                      user.role is Role.admin)
    except LinkError as exc:
        # Accepted first: a browser sees a handshake refused before acceptance as 1006 with
        # no reason, and this user may know why. A close reason is at most 123 bytes
        # (RFC 6455 §5.5).
        await websocket.accept()
        await websocket.close(CLOSE_REFUSED, str(exc).encode()[:123].decode(errors="ignore"))
        return
    await websocket.accept()
    gone = asyncio.ensure_future(websocket.receive())  # the browser's close (it sends nothing)
    try:
        while not tap.ended:
            data = tap.take()
            if data:
                await websocket.send_bytes(data)
            await asyncio.wait([gone], timeout=_EVERY_S)
            if gone.done():
                return
        await websocket.close(1000, "call over")
    except (WebSocketDisconnect, RuntimeError):
        pass  # the browser went away while we sent
    finally:
        gone.cancel()
        # Not awaited: when the server drops the socket it cancels this task, and the tap
        # must still end and its audit entry (one small commit) still be written.
        link.end_listen(tap)


class MonitorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["whisper", "barge", "take_over", "leave"]


class MonitorDone(BaseModel):
    call_id: str
    action: str
    station: str


@router.post("/api/calls/{call_id}/monitor",
             summary="Whisper, barge, take over or leave a call from your own phone")
def monitor(call_id: str, body: MonitorIn, request: Request,
            user: SupervisorUser) -> MonitorDone:
    done = request.app.state.link.monitor(call_id, body.action, user.name,
                                          user.role is Role.admin)
    return MonitorDone(**done)
