"""The menus seen from the callers' side (supervisor and above); docs/ivr-insight.md.

    GET /api/reports/menus?flow=&version=&start=&end=&window=&repeat=&mode=
        funnel per node and edge, containment, top reasons for a person, repeat calls
    GET /api/reports/menus.csv?flow=&version=&start=&end=&mode=   the funnel as CSV
    GET /api/reports/menus/compare?flow=&before=&after=&start=&end=&mode=
        two versions' per-node rates over the hours of the week both took calls in

``version`` defaults to the one in force; ``start``/``end`` (UTC epoch seconds) to the last
seven days up to the appliance's clock; ``window`` (containment) to an hour and ``repeat``
to 30 minutes, in seconds; ``mode`` (``older`` or ``standard``) keeps the calls of one
caller mode (older: the older callers' mode was on at some moment of the call), all calls
without it. A flow is chosen by name; its calls are those that came in on its lines (the
document's ``lines`` of that version).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response

from branchline.config.document.yaml_text import YamlProblem, parse_yaml
from branchline.config.store.errors import NoSuchVersion
from branchline.config.web.api.reports import Epoch, _download, _stamp
from branchline.config.web.auth import SupervisorUser
from branchline.config.web.link import NotFound, Refused

__all__ = ["CALLER_MODES", "DEFAULT_REPEAT_S", "DEFAULT_SPAN_S", "DEFAULT_WINDOW_S",
           "flow_in_version", "router"]

router = APIRouter(tags=["reports"])

DEFAULT_SPAN_S = 7 * 86400.0
DEFAULT_WINDOW_S = 3600.0
DEFAULT_REPEAT_S = 1800.0
CALLER_MODES = ("standard", "older")  # as the link's reports take them (``mode``)
Version = Annotated[int | None, Query(ge=1, description="a published version; default: "
                                                       "the one in force")]
Seconds = Annotated[float, Query(gt=0, le=7 * 86400, description="seconds")]
Mode = Annotated[str | None, Query(description="older or standard: one caller mode's calls; "
                                               "default: every call")]


def flow_in_version(request: Request, flow: str, version: int | None
                    ) -> tuple[int, list[str], Mapping[str, Any]]:
    """(version, the flow's dialled numbers, the flow as written) in a published version."""
    store = request.app.state.store
    try:
        chosen = store.get(version) if version is not None else store.current()
    except NoSuchVersion as exc:
        raise NotFound(f"version {version} is not published; see /api/versions",
                       code="no_version") from exc
    if chosen is None:
        raise NotFound("no version is published yet: publish one first", code="no_version")
    try:
        data = parse_yaml(chosen.text).data
    except YamlProblem as exc:
        raise Refused(f"version {chosen.info.number} cannot be read: {exc.message}") from exc
    flows = data.get("flows") if isinstance(data.get("flows"), Mapping) else {}
    if flow not in flows:
        raise NotFound(f"flow {flow!r} is not in version {chosen.info.number}; its flows: "
                       f"{', '.join(sorted(flows)) or 'none'}", code="no_flow")
    lines = data.get("lines") if isinstance(data.get("lines"), Mapping) else {}
    dialled = sorted(str(line["number"]) for line in lines.values()
                     if isinstance(line, Mapping) and line.get("flow") == flow
                     and "number" in line)
    return chosen.info.number, dialled, flows[flow]


def _range(request: Request, start: float | None, end: float | None) -> tuple[float, float]:
    if end is None:
        end = request.app.state.link.snapshot()["time"]
    if start is None:
        start = end - DEFAULT_SPAN_S
    return start, end


@router.get("/api/reports/menus",
            summary="Funnel per node, containment, reasons, repeats "
                    "(all callers or one mode: `mode=older`/`standard`)")
def menus(request: Request, user: SupervisorUser, flow: str, version: Version = None,
          start: Epoch = None, end: Epoch = None, window: Seconds = DEFAULT_WINDOW_S,
          repeat: Seconds = DEFAULT_REPEAT_S, mode: Mode = None) -> dict:
    number, dialled, _ = flow_in_version(request, flow, version)
    start, end = _range(request, start, end)
    return {"flow": flow, "dialled": dialled,
            **request.app.state.link.menus(number, dialled, start, end, window, repeat, mode)}


@router.get("/api/reports/menus.csv", summary="The funnel per node as CSV",
            response_class=PlainTextResponse, responses={200: {"content": {"text/csv": {}}}})
def menus_csv(request: Request, user: SupervisorUser, flow: str, version: Version = None,
              start: Epoch = None, end: Epoch = None, mode: Mode = None) -> Response:
    number, dialled, _ = flow_in_version(request, flow, version)
    start, end = _range(request, start, end)
    text = request.app.state.link.menus_csv(number, dialled, start, end, mode)
    which = f"-{mode}" if mode else ""
    return _download(text, "text/csv; charset=utf-8",
                     f"branchline-funnel-{flow}-v{number}{which}-{_stamp(start)}-"
                     f"{_stamp(end)}.csv")


@router.get("/api/reports/menus/compare", summary="Two versions' rates per node")
def compare(request: Request, user: SupervisorUser, flow: str, before: int, after: int,
            start: Epoch = None, end: Epoch = None, mode: Mode = None) -> dict:
    first = flow_in_version(request, flow, before)
    second = flow_in_version(request, flow, after)
    start, end = _range(request, start, end)
    return {"flow": flow, **request.app.state.link.compare_menus(
        first[:2], second[:2], start, end, mode)}
