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
import re
from dataclasses import dataclass, field

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from branchline.acd.planning import INTERVAL_S, SLOTS
from branchline.config.data_dir import DataDir
from branchline.config.store.versioned import ConfigStore

__all__ = ["Roster", "RosterReport", "Shift", "check_roster", "open_roster_store", "scheduled",
           "scheduled_seconds"]

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
            raise ValueError(f"{value!r} is not a time of day; write 'HH:MM' in quotes, "
                             "e.g. '12:30'")
        return value


class Shift(Break):
    agent: str
    day: dt.date
    breaks: tuple[Break, ...] = ()


class Roster(_Model):
    shifts: tuple[Shift, ...] = Field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class RosterReport:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _problems(roster: Roster, agents: set[str]) -> list[str]:
    found = []
    spans: dict[tuple[str, dt.date], list[tuple[int, int, int]]] = {}
    for i, s in enumerate(roster.shifts):
        where = f"shifts.{i}"
        start, end = _seconds(s.start), _seconds(s.end)
        if s.agent not in agents:
            found.append(f"{where}.agent: no agent {s.agent!r} in the configuration; use one "
                         f"of {', '.join(sorted(agents)) or '(none configured)'}")
        if end <= start:
            found.append(f"{where}: the shift {s.start}-{s.end} ends before it starts; the end "
                         "must be later than the start")
        for j, b in enumerate(s.breaks):
            if not start <= _seconds(b.start) < _seconds(b.end) <= end:
                found.append(f"{where}.breaks.{j}: the break {b.start}-{b.end} is not inside "
                             f"the shift {s.start}-{s.end}; move it inside")
        for other_start, other_end, k in spans.get((s.agent, s.day), []):
            if start < other_end and other_start < end:
                found.append(f"{where}: agent {s.agent}'s shift {s.start}-{s.end} on {s.day} "
                             f"overlaps shifts.{k}; one agent works one shift at a time")
        spans.setdefault((s.agent, s.day), []).append((start, end, i))
    return found


def check_roster(text: str, agents: set[str]) -> tuple[Roster | None, RosterReport]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return None, RosterReport([f"(file): not valid YAML: {exc}"])
    try:
        roster = Roster.model_validate(data or {})
    except ValidationError as exc:
        return None, RosterReport([
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: "
            f"{e['msg'].removeprefix('Value error, ')} (got {e.get('input')!r})"
            for e in exc.errors()])
    problems = _problems(roster, agents)
    return (None if problems else roster), RosterReport(problems)


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


def scheduled(roster: Roster, day: dt.date) -> tuple[int, ...]:
    counts = [0] * SLOTS
    for s in roster.shifts:
        if s.day != day:
            continue
        for slot in range(SLOTS):
            middle = slot * INTERVAL_S + INTERVAL_S // 2
            on = _seconds(s.start) <= middle < _seconds(s.end) and not any(
                _seconds(b.start) <= middle < _seconds(b.end) for b in s.breaks)
            counts[slot] += on
    return tuple(counts)
