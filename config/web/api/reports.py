"""Call-centre reports from the records database (supervisor and above).

    GET /api/reports/kpis?start=&end=&interval=      KPIs per queue, per agent, per interval
    GET /api/reports/export.csv?kind=&start=&end=    calls | intervals | agents, as CSV
    GET /api/reports/queue_log?start=&end=           the ACD log in Asterisk's queue_log format

``start`` and ``end`` are UTC epoch seconds, [start, end); without them the last 24 hours up
to the appliance's clock. ``interval`` is 900, 1800, 3600 or 86400 seconds (none: no
per-interval rows). The KPIs are those of docs/kpis.md, computed by ``branchline.acd.kpis``
from the stored ACD events, so they equal what the live engine counted. A bad range says
what would be right (422).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response

from branchline.config.web.auth import SupervisorUser

__all__ = ["DEFAULT_SPAN_S", "router"]

router = APIRouter(tags=["reports"])

DEFAULT_SPAN_S = 86400.0
Epoch = Annotated[float | None, Query(ge=0, le=4_102_444_800, description="UTC epoch seconds")]
Interval = Annotated[int | None, Query(ge=1, le=86400,
                                       description="900, 1800, 3600 or 86400 seconds")]


def _range(request: Request, start: float | None, end: float | None) -> tuple[float, float]:
    if end is None:
        end = request.app.state.link.snapshot()["time"]
    if start is None:
        start = end - DEFAULT_SPAN_S
    return start, end


def _stamp(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y%m%dT%H%MZ")


def _download(text: str, media_type: str, filename: str) -> Response:
    return Response(text, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/api/reports/kpis", summary="KPIs per queue, agent and interval")
def kpis(request: Request, user: SupervisorUser, start: Epoch = None, end: Epoch = None,
         interval: Interval = None) -> dict:
    start, end = _range(request, start, end)
    return request.app.state.link.kpis(start, end, interval)


@router.get("/api/reports/export.csv", summary="Calls, intervals or agents as CSV",
            response_class=PlainTextResponse,
            responses={200: {"content": {"text/csv": {}}}})
def export_csv(request: Request, user: SupervisorUser,
               kind: Literal["calls", "intervals", "agents"] = "calls",
               start: Epoch = None, end: Epoch = None) -> Response:
    start, end = _range(request, start, end)
    text = request.app.state.link.export_csv(kind, start, end)
    return _download(text, "text/csv; charset=utf-8",
                     f"branchline-{kind}-{_stamp(start)}-{_stamp(end)}.csv")


@router.get("/api/reports/queue_log", summary="The ACD log in Asterisk's queue_log format",
            response_class=PlainTextResponse)
def queue_log(request: Request, user: SupervisorUser, start: Epoch = None,
              end: Epoch = None) -> Response:
    start, end = _range(request, start, end)
    text = request.app.state.link.queue_log(start, end)
    return _download(text, "text/plain; charset=utf-8",
                     f"queue_log-{_stamp(start)}-{_stamp(end)}")
