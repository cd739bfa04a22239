"""Live state: the appliance's latest snapshot, once or as a stream of server-sent events.

    GET /api/live          viewer+: the snapshot (calls, queues, agents, board), JSON
    GET /api/live/stream   viewer+: text/event-stream, one ``snapshot`` event per new snapshot

The loop takes a snapshot once a second (``config.web.link``), so the stream carries one event
a second. Each event is::

    id: <seq>
    event: snapshot
    data: <the snapshot as one line of JSON>

A comment line (``: keep-alive``) goes out when no snapshot came for ``KEEPALIVE_S`` (proxies
and the browser's EventSource then keep the connection). ``?events=N`` ends the stream after
N events (for scripts and tests); without it the stream runs until the client leaves. The
browser's EventSource reconnects by itself after ``retry`` ms.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from branchline.config.web.auth import AnyUser

__all__ = ["KEEPALIVE_S", "POLL_S", "Snapshot", "router", "sse_event"]

router = APIRouter(tags=["live"])

POLL_S = 0.1  # how often a stream looks for a new snapshot (no thread is held while waiting)
KEEPALIVE_S = 15.0
RETRY_MS = 3000


class LiveCall(BaseModel):
    call_id: str
    port: str
    caller: str
    state: str = Field(description="ringing, ivr, queued, offered or talking")
    node: str
    queue: str | None
    class_: str | None = Field(alias="class")
    waiting_s: float
    agent: str | None


class Target(BaseModel):
    percent: float
    seconds: float


class LiveQueue(BaseModel):
    name: str
    waiting: dict[str, int]
    oldest_wait_s: float
    service_level_today: float | None
    target: dict[str, Target]
    answered_today: int
    abandoned_today: int


class LiveAgent(BaseModel):
    id: str
    name: str
    station: str
    state: str
    reason: str
    since_s: float
    calls_today: int


class LivePort(BaseModel):
    index: int
    name: str
    kind: str
    state: str
    detail: str = ""


class LiveBoardPorts(BaseModel):
    driver: str
    ports: list[LivePort]
    link: dict | None = Field(None, description="a serial board's link health (connected, "
                              "frames bad/lost/late, heartbeats missed, reconnects, resets, "
                              "ports out of service); null on the simulated board")


class Snapshot(BaseModel):
    seq: int
    time: float
    config_version: int
    calls: list[LiveCall]
    queues: list[LiveQueue]
    agents: list[LiveAgent]
    board: LiveBoardPorts


_last_event: tuple[object, str] = (None, "")


def sse_event(snapshot: dict) -> str:
    """The snapshot as one SSE event; encoded once however many clients stream it."""
    global _last_event
    cached, text = _last_event
    if cached is snapshot:
        return text
    data = json.dumps(snapshot, ensure_ascii=False, separators=(",", ":"))
    text = f"id: {snapshot['seq']}\nevent: snapshot\ndata: {data}\n\n"
    _last_event = (snapshot, text)  # one tuple swap: safe across threads
    return text


@router.get("/api/live", summary="The live snapshot: calls, queues, agents, ports",
            response_model=Snapshot, response_model_by_alias=True)
def live(request: Request, user: AnyUser) -> dict:
    return request.app.state.link.snapshot()


@router.get("/api/live/stream", summary="The live snapshot as server-sent events",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "one `snapshot` event per new snapshot"}})
async def live_stream(request: Request, user: AnyUser,
                      events: Annotated[int | None, Query(ge=1, le=100_000,
                                                          description="end after N events")]
                      = None) -> StreamingResponse:
    link = request.app.state.link
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(_stream(link, events), media_type="text/event-stream",
                             headers=headers)


async def _stream(link, limit: int | None) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n\n"
    sent, last, quiet = 0, None, 0.0
    while True:
        snapshot = link.snapshot()
        if snapshot["seq"] != last:
            last, quiet = snapshot["seq"], 0.0
            yield sse_event(snapshot)
            sent += 1
            if limit is not None and sent >= limit:
                return
        elif quiet >= KEEPALIVE_S:
            quiet = 0.0
            yield ": keep-alive\n\n"
        # Starlette cancels this generator when the client goes away.
        await asyncio.sleep(POLL_S)
        quiet += POLL_S
