"""The roster: shifts and breaks per agent per day, kept versioned on the appliance.

A roster is YAML, one entry per agent and day::

    shifts:
      - {agent: "1001", day: 2026-10-19, start: "09:00", end: "17:00",
         breaks: [{start: "12:00", end: "12:30"}]}

It lives in ``DataDir.rosters`` in the same versioned store as the configuration
(config/store/versioned.py: every published version kept, publish and rollback one step
each, a stale base refused), opened by ``open_roster_store(data, document)``. Validation
knows the document's agents: an entry naming an agent the configuration lacks, a break outside
its shift or two shifts of one agent overlapping on a day are errors with the path, what is
wrong and what would be right; nothing is published then.

``scheduled(roster, day)`` counts, per 15-minute interval, the agents on shift and not on a
scheduled break for at least half of it; ``scheduled_seconds(roster, day)`` gives each agent's
seconds on the phones and on a break per interval (for adherence, acd/planning/adherence.py).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from branchline.acd.planning import INTERVAL_S, SLOTS
from branchline.config.data_dir import DataDir
from branchline.config.store.versioned import ConfigStore

__all__ = ["Roster", "RosterIssue", "RosterReport", "Shift", "check_roster", "check_roster_data",
           "open_roster_store", "roster_text", "scheduled", "scheduled_seconds"]

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def _seconds(text: str) -> int:
    return int(text[:2]) * 3600 + int(text[3:]) * 60


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Break(_Model):
    start: str
    end: str

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time(cls, value: str) -> str:
        if not isinstance(value, str) or not _HHMM.match(value):
            raise PydanticCustomError("roster_time", "{value} is not a time of day",
                                      {"value": value})
        return value


class Shift(Break):
    agent: str
    day: dt.date
    breaks: tuple[Break, ...] = ()


class Roster(_Model):
    shifts: tuple[Shift, ...] = Field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class RosterIssue:
    """One problem: where, what is wrong, what would be right; ``key``/``fix_key`` name the
    page's messages for them (config/web/i18n/planning.py) with ``params`` filled in."""

    path: str
    message: str
    fix: str
    key: str | None = None
    fix_key: str | None = None
    params: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}; {self.fix}"


@dataclass(frozen=True, slots=True)
class RosterReport:
    issues: list[RosterIssue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [str(i) for i in self.issues]


def _issue(path: str, message: str, fix: str, key: str, **params) -> RosterIssue:
    return RosterIssue(path, message, fix, f"roster.{key}", f"roster.{key}_fix", params)


def _problems(roster: Roster, agents: set[str]) -> list[RosterIssue]:
    found = []
    spans: dict[tuple[str, dt.date], list[tuple[int, int, int]]] = {}
    known = ", ".join(sorted(agents)) or "(none configured)"
    for i, s in enumerate(roster.shifts):
        where = f"shifts.{i}"
        start, end = _seconds(s.start), _seconds(s.end)
        if s.agent not in agents:
            found.append(_issue(f"{where}.agent", f"no agent {s.agent!r} in the configuration",
                                f"use one of {known}", "unknown_agent", agent=s.agent,
                                agents=known))
        if end <= start:
            found.append(_issue(where, f"the shift {s.start}-{s.end} ends before it starts",
                                "the end must be later than the start", "shift_backwards",
                                start=s.start, end=s.end))
        for j, b in enumerate(s.breaks):
            if not start <= _seconds(b.start) < _seconds(b.end) <= end:
                found.append(_issue(
                    f"{where}.breaks.{j}",
                    f"the break {b.start}-{b.end} is not inside the shift {s.start}-{s.end}",
                    "move it inside", "break_outside", start=b.start, end=b.end,
                    shift=f"{s.start}-{s.end}"))
        for other_start, other_end, k in spans.get((s.agent, s.day), []):
            if start < other_end and other_start < end:
                found.append(_issue(
                    where, f"agent {s.agent}'s shift {s.start}-{s.end} on {s.day} overlaps "
                    f"shifts.{k}", "one agent works one shift at a time", "overlap",
                    agent=s.agent, start=s.start, end=s.end, day=str(s.day), other=k))
        spans.setdefault((s.agent, s.day), []).append((start, end, i))
    return found


def _invalid(error: dict) -> RosterIssue:
    path = ".".join(str(p) for p in error["loc"]) or "(top)"
    if error["type"] == "roster_time":
        value = error["ctx"]["value"]
        return _issue(path, f"{value!r} is not a time of day",
                      f"write 'HH:MM' in quotes, e.g. '12:30' (got {value!r})", "bad_time",
                      value=repr(value))
    return RosterIssue(path, error["msg"], f"(got {error.get('input')!r})")


def check_roster(text: str, agents: set[str]) -> tuple[Roster | None, RosterReport]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return None, RosterReport([RosterIssue("(file)", f"not valid YAML: {exc}",
                                               "correct the YAML")])
    return check_roster_data(data or {}, agents)


def check_roster_data(data, agents: set[str]) -> tuple[Roster | None, RosterReport]:
    """As ``check_roster``, on the roster already parsed (a dict as the YAML gives it)."""
    try:
        roster = Roster.model_validate(data)
    except ValidationError as exc:
        return None, RosterReport([_invalid(e) for e in exc.errors()])
    problems = _problems(roster, agents)
    return (None if problems else roster), RosterReport(problems)


def roster_text(shifts: list[dict]) -> str:
    """Shifts (``agent``, ``day``, ``start``, ``end``, ``breaks``) as a roster's YAML, one
    line per shift as the module docstring writes it."""
    def q(value) -> str:
        return json.dumps(str(value), ensure_ascii=False)

    lines = ["shifts:"]
    for s in shifts:
        breaks = ", ".join(f"{{start: {q(b['start'])}, end: {q(b['end'])}}}"
                           for b in s.get("breaks") or ())
        lines.append(f"  - {{agent: {q(s['agent'])}, day: {s['day']}, start: {q(s['start'])}, "
                     f"end: {q(s['end'])}, breaks: [{breaks}]}}")
    return "\n".join(lines) + "\n"


def open_roster_store(data: DataDir, document) -> ConfigStore:
    agents = {a.id for a in document.acd.agents}
    return ConfigStore(data, lambda text: check_roster(text, agents), root=data.rosters)


def scheduled_seconds(roster: Roster, day: dt.date) -> dict[tuple[str, int], tuple[int, int]]:
    """Per (agent, slot) of `day`: seconds scheduled on the phones and on a break."""
    out = {}
    for s in roster.shifts:
        if s.day != day:
            continue
        start, end = _seconds(s.start), _seconds(s.end)
        breaks = [(_seconds(b.start), _seconds(b.end)) for b in s.breaks]
        for slot in range(start // INTERVAL_S, -(-end // INTERVAL_S)):
            a, b = slot * INTERVAL_S, (slot + 1) * INTERVAL_S
            shift = max(0, min(b, end) - max(a, start))
            pause = sum(max(0, min(b, be) - max(a, bs)) for bs, be in breaks)
            out[s.agent, slot] = (shift - pause, pause)
    return out


def scheduled(roster: Roster, day: dt.date, agents: set[str] | None = None
              ) -> tuple[int, ...]:
    """Agents on shift and off break at each interval's middle (only ``agents``, if given)."""
    counts = [0] * SLOTS
    for s in roster.shifts:
        if s.day != day or (agents is not None and s.agent not in agents):
            continue
        for slot in range(SLOTS):
            middle = slot * INTERVAL_S + INTERVAL_S // 2
            on = _seconds(s.start) <= middle < _seconds(s.end) and not any(
                _seconds(b.start) <= middle < _seconds(b.end) for b in s.breaks)
            counts[slot] += on
    return tuple(counts)
