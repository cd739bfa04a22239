"""The agent desktop's API: an agent's own state, screen pop and disposition (role ``agent``).

    GET  /api/agent/desk          the desk: state, station, the call with its pop, the choices
    GET  /api/agent/desk/stream   text/event-stream: one ``desk`` event per change
    POST /api/agent/login         {"station": name | null}: log in at a station (202)
    POST /api/agent/state         {"action": ready | not_ready | end_wrapup | logout,
                                   "reason"}: the same transitions as the keypad codes (202)
    POST /api/agent/disposition   {"call_id", "code", "notes"}: stored with the call (201)
    POST /api/agent/call          {"action", "target"}: hold, retrieve, consult, cancel,
                                  complete, conference, transfer_agent / _queue / _outside
                                  on the agent's call, as the keypad's codes do (202)

The user name of an ``agent`` user is the agent id, so an agent acts for itself only. State
changes are applied by the media loop at its next tick; the desk (and its stream) shows the
ACD's state however it changed: this page, the phone's keypad, a supervisor, the ACD itself.
Everything the desk shows lives in the appliance, not the page: a reload mid-call shows the
same call, pop and phase. Refusals are the link's (``config.web.link``): 404 for an agent
no longer configured, 422 with the fix for an action the state does not allow, a station in
use, a code not configured or notes holding a card number, a call-control step the call's
state does not allow or a colleague who is not ready. The desk shows the call's control
state (held, consulting, conference) however it was reached: this page or the phone.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from branchline.config.web.auth import AgentUser

__all__ = ["router"]

router = APIRouter(tags=["agent desktop"])

POLL_S = 0.1
KEEPALIVE_S = 15.0
RETRY_MS = 2000


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(_Body):
    station: str | None = Field(None, max_length=64,
                                description="a station port's name; null: the configured one")


class StateIn(_Body):
    action: Literal["ready", "not_ready", "end_wrapup", "logout"]
    reason: str | None = Field(None, max_length=40)


class DispositionIn(_Body):
    call_id: str = Field(max_length=64)
    code: str = Field(max_length=32)
    notes: str = Field("", max_length=2000)


class CallIn(_Body):
    action: Literal["hold", "retrieve", "consult", "cancel", "complete", "conference",
                    "transfer_agent", "transfer_queue", "transfer_outside"]
    target: str | None = Field(None, max_length=64, description="an agent id (consult, "
                               "transfer_agent), a queue's name (transfer_queue), a digit of "
                               "call_control.outside (transfer_outside)")


class Accepted(BaseModel):
    agent: str
    status: str = Field(description="'queued': the media loop applies it at its next tick; "
                                    "'stored': committed")


@router.get("/api/agent/desk", summary="The agent's desk: state, station, the call's pop")
def desk(request: Request, user: AgentUser) -> dict:
    return request.app.state.link.agent_desk(user.name)


@router.post("/api/agent/login", status_code=202, summary="Log in at a station")
def login(body: LoginIn, request: Request, user: AgentUser) -> Accepted:
    request.app.state.link.agent_login(user.name, body.station, user.name)
    return Accepted(agent=user.name, status="queued")


@router.post("/api/agent/state", status_code=202,
             summary="Ready, not ready, end wrap-up, log out (as the keypad codes)")
def state(body: StateIn, request: Request, user: AgentUser) -> Accepted:
    request.app.state.link.agent_command(user.name, body.action, body.reason, user.name)
    return Accepted(agent=user.name, status="queued")


@router.post("/api/agent/disposition", status_code=201,
             summary="The call's wrap-up code and notes, stored with its record")
def disposition(body: DispositionIn, request: Request, user: AgentUser) -> Accepted:
    request.app.state.link.disposition(user.name, body.call_id, body.code, body.notes,
                                       user.name)
    return Accepted(agent=user.name, status="stored")


@router.post("/api/agent/call", status_code=202,
             summary="Hold, retrieve, consult, conference, complete, transfer the call")
def call_control(body: CallIn, request: Request, user: AgentUser) -> Accepted:
    request.app.state.link.call_control(user.name, body.action, body.target, user.name)
    return Accepted(agent=user.name, status="queued")


@router.get("/api/agent/desk/stream", summary="The agent's desk as server-sent events",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "one `desk` event per change"}})
async def desk_stream(request: Request, user: AgentUser,
                      events: Annotated[int | None, Query(ge=1, le=100_000,
                                                          description="end after N events")]
                      = None) -> StreamingResponse:
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(_stream(request.app.state.link, user.name, events),
                             media_type="text/event-stream", headers=headers)


async def _stream(link, agent_id: str, limit: int | None) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n\n"
    sent, last, quiet = 0, None, 0.0
    while True:
        now = link.agent_desk(agent_id)
        if now != last:
            last, quiet = now, 0.0
            data = json.dumps(now, ensure_ascii=False, separators=(",", ":"))
            yield f"event: desk\ndata: {data}\n\n"
            sent += 1
            if limit is not None and sent >= limit:
                return
        elif quiet >= KEEPALIVE_S:
            quiet = 0.0
            yield ": keep-alive\n\n"
        await asyncio.sleep(POLL_S)
        quiet += POLL_S
