"""The CTI event stream for the bank's systems: a WebSocket per agent or per queue.

    GET /api/cti/v1/schema                        anyone: the events' JSON schema (version 1)
    WS  /api/cti/v1/stream?agent=1001[&after=N]   an integration's token with a scope for it
    WS  /api/cti/v1/stream?queue=general[&after=N]

The token goes in the ``Authorization: Bearer <token>`` header of the WebSocket handshake
(never in the URL, which proxies log). An unknown or revoked token, or one whose scopes do not
cover the agent or queue asked for, closes the socket with code 4401 or 4403 and a reason
that says what is wrong; every opening, refusal and closing is audited with the
integration's name. A revoked token's open streams close (4401) within a second.

Once open, the server sends text frames, one event each (``config.web.cti_events``), from the
oldest event it still holds after ``after`` (default: only new events). When events were
lost to the client (its ``after`` is older than what the appliance keeps, or another run's
stream), the first frame is ``{"v": 1, "type": "gap", "stream": ..., "last": N}``: fetch what
you need from the reports, then go on. ``stream=<id>&after=<seq>`` resumes: with the id of
this run's stream nothing is missed or repeated; with another run's, the gap frame comes and
this run's events follow from its first. What the client sends is ignored; the server's
WebSocket pings keep proxies from closing a quiet stream.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect

from branchline.config.web.cti_events import JSON_SCHEMA, VERSION
from branchline.config.web.integrations import covers

__all__ = ["router"]

router = APIRouter(tags=["cti"])

POLL_S = 0.1
RECHECK_S = 1.0  # how soon a revoked token's streams close
CLOSE_UNAUTHORISED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_BAD_REQUEST = 4400


@router.get("/api/cti/v1/schema", summary="The CTI events' JSON schema, version 1")
def schema() -> dict:
    return JSON_SCHEMA


@router.websocket("/api/cti/v1/stream")
async def stream(websocket: WebSocket,
                 agent: Annotated[str | None, Query(max_length=64)] = None,
                 queue: Annotated[str | None, Query(max_length=64)] = None,
                 after: Annotated[int | None, Query(ge=0)] = None,
                 stream_id: Annotated[str | None, Query(alias="stream", max_length=32)] = None,
                 ) -> None:
    app = websocket.app
    link, integrations = app.state.link, app.state.integrations
    token = _bearer(websocket.headers.get("authorization", ""))
    integration = integrations.check(token)
    address = websocket.client.host if websocket.client else "unknown"
    if integration is None:
        link.audit(f"cti:{address}", "CTI stream refused: unknown or revoked token", "")
        await _refuse(websocket, CLOSE_UNAUTHORISED, "unknown or revoked token; send "
                      "'Authorization: Bearer <token>' with a token an admin issued")
        return
    who = f"integration:{integration.name}"
    if (agent is None) == (queue is None):
        await _refuse(websocket, CLOSE_BAD_REQUEST, "ask for one stream: ?agent=<id> or "
                      "?queue=<name>")
        return
    scope = f"agent:{agent}" if agent is not None else f"queue:{queue}"
    if not covers(integration.scopes, agent, queue, {}):
        link.audit(who, f"CTI stream {scope} refused: not in the token's scopes", "")
        await _refuse(websocket, CLOSE_FORBIDDEN, f"this token's scopes "
                      f"({', '.join(integration.scopes)}) do not cover {scope}; ask an admin "
                      "for a token with that scope")
        return
    await websocket.accept()
    link.audit(who, f"CTI stream {scope} opened from {address}", "")
    sent, reason = 0, "client left"
    try:
        sent, reason = await _send_events(websocket, link, integrations, token, agent, queue,
                                          after, stream_id)
    except WebSocketDisconnect:
        pass
    finally:
        link.audit(who, f"CTI stream {scope} closed: {reason}", f"{sent} events sent")


async def _send_events(websocket, link, integrations, token, agent, queue, after,
                       stream_id) -> tuple[int, str]:
    other_run = stream_id is not None and stream_id != link.cti_events(0)["stream"]
    if other_run:
        after = 0  # the client's seq counts another run's events: send this run's from 1
    page = link.cti_events(after if after is not None else link.cti_events(0)["last"])
    position = after if after is not None else page["last"]
    if page["gap"] or other_run:
        await websocket.send_text(json.dumps({"v": VERSION, "type": "gap",
                                              "stream": page["stream"],
                                              "last": page["last"]}))
    sent, since_check = 0, 0.0
    while True:
        for event in page["events"]:
            position = event.seq
            if _wanted(event, agent, queue, link):
                await websocket.send_text(event.text)
                sent += 1
        try:  # waiting for the next poll, and for the client to leave
            message = await asyncio.wait_for(websocket.receive(), POLL_S)
            if message["type"] == "websocket.disconnect":
                return sent, "client left"
        except TimeoutError:
            pass
        since_check += POLL_S
        if since_check >= RECHECK_S:
            since_check = 0.0
            if integrations.check(token) is None:
                await websocket.close(CLOSE_UNAUTHORISED, "token revoked")
                return sent, "token revoked"
        page = link.cti_events(position)


def _wanted(event, agent: str | None, queue: str | None, link) -> bool:
    if agent is not None:
        return event.agent == agent
    return covers((f"queue:{queue}",), event.agent, event.queue, link.cti_agent_queues())


async def _refuse(websocket: WebSocket, code: int, reason: str) -> None:
    # Accepted, then closed: the client then reads the code and the reason.
    await websocket.accept()
    await websocket.close(code, reason)


def _bearer(header: str) -> str | None:
    kind, _, token = header.partition(" ")
    return token.strip() if kind.lower() == "bearer" else None
