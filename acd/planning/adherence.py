"""Adherence: what each agent was scheduled to do per interval against what they did.

``adherence(schedule, actual)`` takes, per (agent, slot), the scheduled seconds of the
15-minute interval on the phones (on shift, not on a break) and on a break, and the agent's
state seconds from the ACD's log (``ready``, ``reserved``, ``talking``, ``wrap_up`` are on
the phones; ``not_ready`` is a break; the rest of the interval, logged out). Only the seconds
per state are kept per interval, not when in it they fell, so the time in adherence is

    min(scheduled on the phones, actually on the phones) + min(scheduled break, not ready)

and adherence = that / the scheduled seconds (an interval the agent was not scheduled in
does not count). An agent logged in outside their shift is not a deviation here (it costs
nothing a planner must fix). ``AdherenceRow`` per agent and interval, with what was
scheduled and what happened; ``worst(rows, n)`` the n largest deviations (seconds out of
adherence), largest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ON_PHONES", "AdherenceRow", "adherence", "worst"]

ON_PHONES = ("ready", "reserved", "talking", "wrap_up")


@dataclass(frozen=True, slots=True)
class AdherenceRow:
    agent: str
    slot: int
    scheduled_phones_s: float
    scheduled_break_s: float
    phones_s: float
    not_ready_s: float

    @property
    def in_adherence_s(self) -> float:
        return (min(self.scheduled_phones_s, self.phones_s)
                + min(self.scheduled_break_s, self.not_ready_s))

    @property
    def scheduled_s(self) -> float:
        return self.scheduled_phones_s + self.scheduled_break_s

    @property
    def adherence(self) -> float:
        return self.in_adherence_s / self.scheduled_s

    @property
    def deviation_s(self) -> float:
        return self.scheduled_s - self.in_adherence_s


def adherence(schedule: Mapping[tuple[str, int], tuple[float, float]],
              actual: Mapping[tuple[str, int], Mapping[str, float]]) -> list[AdherenceRow]:
    """Rows for every (agent, slot) with scheduled time, in agent then slot order.

    ``schedule[(agent, slot)]`` = (seconds on the phones, seconds on a break);
    ``actual[(agent, slot)]`` = {state: seconds} (missing: logged out throughout)."""
    rows = []
    for (agent, slot), (phones, breaks) in sorted(schedule.items()):
        if phones + breaks <= 0:
            continue
        states = actual.get((agent, slot), {})
        rows.append(AdherenceRow(agent, slot, phones, breaks,
                                 sum(states.get(s, 0.0) for s in ON_PHONES),
                                 states.get("not_ready", 0.0)))
    return rows


def worst(rows: list[AdherenceRow], n: int) -> list[AdherenceRow]:
    """The n rows furthest out of adherence (seconds), largest first; none in adherence."""
    out = [r for r in rows if r.deviation_s > 0]
    return sorted(out, key=lambda r: (-r.deviation_s, r.agent, r.slot))[:n]
