"""Workforce planning (supervisor and above); docs/planning.md.

    GET  /api/planning/{day}?queue=     the day per 15-minute interval: forecast, agents on the
                                        phones by Erlang C and A, on shift needed, scheduled,
                                        gap and status (short / fine / over); the day's shifts;
                                        the last roster check; what happened and adherence
                                        once the day has begun
    PUT  /api/planning/{day}/roster     the day's shifts (and breaks), saved as a new version
                                        of the rosters; ``base`` is the version the page showed
    POST /api/planning/{day}/check      the roster in force simulated on the day (event mode,
                                        a worker process): per interval the Erlang figures and
                                        the simulated service level and abandon rate

A day is ``YYYY-MM-DD``, local time, within a year of today. Bad shifts answer 422
``roster_invalid`` with an issue per problem whose path is the day's row
(``shifts.2.breaks.0``); a stale ``base`` answers 409. Saves and checks are audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from branchline.config.web.auth import SupervisorUser
from branchline.config.web.errors import api_error
from branchline.config.web.link import Refused

__all__ = ["Day", "RosterDay", "ShiftIn", "router"]

router = APIRouter(tags=["planning"])

Day = Annotated[str, Path(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD, local")]
Queue = Annotated[str | None, Query(max_length=64, description="one queue; default: all")]
Clock = Annotated[str, Field(max_length=8, description="HH:MM (24:00 ends a day)")]


class BreakIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: Clock
    end: Clock


class ShiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent: str = Field(min_length=1, max_length=64)
    start: Clock
    end: Clock
    breaks: list[BreakIn] = Field(default_factory=list, max_length=12)


class RosterDay(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base: int | None = Field(None, ge=1, description="the roster version edited (none: the "
                                                      "first roster)")
    note: str = Field("", max_length=200)
    shifts: list[ShiftIn] = Field(max_length=1000)


@router.get("/api/planning/{day}", summary="A day's forecast, staffing, roster and checks")
def planning(request: Request, user: SupervisorUser, day: Day, queue: Queue = None) -> dict:
    return request.app.state.link.planning(day, queue)


@router.put("/api/planning/{day}/roster", summary="Save a day's shifts as a new roster version")
def save_roster(request: Request, user: SupervisorUser, day: Day, body: RosterDay) -> dict:
    try:
        return request.app.state.link.save_roster_day(
            day, [s.model_dump() for s in body.shifts], body.base, body.note, user.name)
    except Refused as exc:
        if exc.code == "conflict":
            raise api_error(409, "conflict", str(exc)) from exc
        issues = getattr(exc, "issues", None)
        if issues:
            raise api_error(422, exc.code, str(exc), issues=issues) from exc
        raise


@router.post("/api/planning/{day}/check", summary="Simulate the roster on a day")
def check(request: Request, user: SupervisorUser, day: Day) -> dict:
    return request.app.state.link.check_roster(day, user.name)
