"""Test a roster before the day: a scenario from the forecast and the roster, through simulate.

``roster_scenario(plan, roster, template, document)`` builds the day's scenario: callers
arrive per hour as the forecast (all queues) says, each one goes to a person (the template's
``agent`` goal, after its language prelude), VIP callers in the share the forecast gives the
``vip`` queue; talk time lognormal (σ 0.5) with the forecast's mean handle time; queue patience
exponential with the forecast's patience; an agent per rostered shift of the day, at their own
station, with their configured languages, shift and breaks. The template (the shipped branch
day) gives the rest: lines, keypad, listening, the accounts.

``check_roster_day(data, document, plan, roster, template)`` runs it with ``simulate`` in
event mode (``media="events"``: keys, prompts and hang-ups as events, a day in seconds) in its
own data directory (``DataDir.plan_check``: the appliance's records are never touched; each
check starts there from an empty records database) and returns a ``CheckRow`` per interval
with calls: forecast, agents on the phones by Erlang C and by Erlang A, on shift needed,
scheduled, gap, Erlang C and A's service level and Erlang A's abandon rate for the scheduled
agents (less shrinkage), and the simulated service level and abandon rate.

``what_happened(data, document, day)`` reads the day's own records: per interval, calls
offered, service level and abandon rate as the KPIs count them (docs/kpis.md), to set beside
the check's rows after the day.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from branchline.acd.planning import INTERVAL_S, predict
from branchline.config.data_dir import DataDir
from branchline.firmware.planning.history import read_history
from branchline.firmware.planning.plan import Plan
from branchline.firmware.planning.roster import Roster, scheduled
from branchline.hw.sim.scenario import Scenario

__all__ = ["CheckRow", "Happened", "check_roster_day", "roster_scenario", "what_happened"]

LANGUAGES = {"zh": "mandarin", "yue": "cantonese", "en": "english"}
TALK_SIGMA = 0.5


@dataclass(frozen=True, slots=True)
class CheckRow:
    slot: int
    calls: float
    erlang_c: int  # on the phones, Erlang C
    erlang_a: int  # on the phones, Erlang A
    needed: int  # on shift, Erlang A and shrinkage
    scheduled: int
    gap: int  # scheduled - needed
    sl_c: float | None
    sl_a: float | None
    abandon_a: float | None
    sl_sim: float | None
    abandon_sim: float | None


@dataclass(frozen=True, slots=True)
class Happened:
    """One interval of a day as its records tell it (every queue)."""

    slot: int
    offered: int
    service_level: float | None
    abandon_rate: float | None


def roster_scenario(plan: Plan, roster: Roster, template: Scenario, document) -> Scenario:
    spec = template.model_dump(mode="json")
    calls = [sum(q.forecast.calls[s] for q in plan.queues) for s in range(len(
        plan.queues[0].forecast.calls))]
    per_hour = {h: round(sum(calls[h * 4:h * 4 + 4]), 3) for h in range(24)
                if sum(calls[h * 4:h * 4 + 4]) > 0}
    total = sum(calls) or 1.0
    aht = sum(q.forecast.calls[s] * q.forecast.aht_s[s] for q in plan.queues
              for s in range(len(calls))) / total
    patience = sum(sum(q.forecast.calls) * q.forecast.patience_s for q in plan.queues) / total
    vip = sum(sum(q.forecast.calls) for q in plan.queues if q.queue == "vip") / total
    shifts = [s for s in roster.shifts if s.day == plan.day]
    skills = {a.id: tuple(LANGUAGES.get(k, k) for k in a.skills) for a in document.acd.agents}
    hours = sorted(per_hour)
    spec["name"] = f"plan check {plan.day}"
    spec["day"] = {"start": f"{hours[0]:02d}:00", "end": f"{hours[-1] + 1:02d}:00"}
    spec["arrivals"] = {"per_hour": per_hour}
    spec["board"]["stations"] = max(1, len(shifts))
    callers = spec["callers"]
    callers["goals"] = {"agent": {**callers["goals"]["agent"], "share": 1.0}}
    callers["vip"]["share"] = vip if callers["vip"]["numbers"] else 0.0
    callers["queue_patience"] = {"kind": "exponential", "mean": patience}
    agents = spec["agents"]
    agents["handle_time"] = {"kind": "lognormal", "sigma": TALK_SIGMA,
                             "median": aht * math.exp(-TALK_SIGMA ** 2 / 2)}
    agents["roster"] = [
        {"id": s.agent, "station": i, "skills": list(skills.get(s.agent, ())),
         "shift": {"start": s.start, "end": s.end,
                   "breaks": [{"start": b.start, "end": b.end} for b in s.breaks]}}
        for i, s in enumerate(shifts)]
    return Scenario.model_validate(spec)


def check_roster_day(data: DataDir, document, plan: Plan, roster: Roster, template: Scenario,
                     *, hours: float | None = None, seed: int | None = None,
                     media: str = "events") -> list[CheckRow]:
    # Imported here: the cli package imports `plan`, whose command imports this module.
    from branchline.firmware.cli.simulate import simulate

    scenario = roster_scenario(plan, roster, template, document)
    check = DataDir(data.plan_check)
    # A check's KPIs come from its own run only: the last check's records go first.
    for old in check.root.glob(check.records_db.name + "*"):
        old.unlink()
    result = simulate(scenario, check, hours=hours, seed=seed, media=media)
    first = scenario.day.start // INTERVAL_S
    simulated = {}
    for (start, _queue), kpis in result.kpis.queue_intervals.items():
        slot = first + int(start // INTERVAL_S)
        met, handled, gone = simulated.get(slot, (0, 0, 0))
        simulated[slot] = (met + kpis.answered_in_sl,
                           handled + kpis.answered + kpis.abandoned + kpis.timed_out,
                           gone + kpis.abandoned)
    on = scheduled(roster, plan.day)
    ran_to = scenario.day.end if hours is None else scenario.day.start + hours * 3600
    rows = []
    for slot in range(first, math.ceil(ran_to / INTERVAL_S)):
        calls = sum(q.forecast.calls[slot] for q in plan.queues)
        if calls <= 0:
            continue
        needed = sum(q.staffing[slot].on_shift for q in plan.queues)
        phones_c = sum(q.staffing[slot].erlang_c for q in plan.queues)
        phones_a = sum(q.staffing[slot].erlang_a for q in plan.queues)
        aht = sum(q.forecast.calls[slot] * q.forecast.aht_s[slot] for q in plan.queues) / calls
        patience = sum(q.forecast.calls[slot] * q.forecast.patience_s
                       for q in plan.queues) / calls
        target = plan.queues[0].target_s
        phones = math.floor(on[slot] * (1 - plan.shrinkage))
        erl = predict(calls, aht, patience, phones, target)
        met, handled, gone = simulated.get(slot, (0, 0, 0))
        rows.append(CheckRow(slot, calls, phones_c, phones_a, needed, on[slot], on[slot] - needed,
                             erl.service_level_c, erl.service_level_a, erl.abandon_a,
                             met / handled if handled else None,
                             gone / handled if handled else None))
    return rows


def what_happened(data: DataDir, document, day: dt.date) -> dict[int, Happened]:
    """The day's intervals with calls, from the appliance's records (every queue together)."""
    history = read_history(data, document, day, day + dt.timedelta(days=1))
    happened = {}
    for queue in history.queues.values():
        for slot, f in enumerate(queue.days.get(day, ())):
            if f.offered:
                offered, met, judged, gone = happened.get(slot, (0, 0, 0, 0))
                happened[slot] = (offered + f.offered, met + f.answered_in_sl,
                                  judged + f.answered + f.long_abandoned + f.timed_out,
                                  gone + f.long_abandoned)
    return {slot: Happened(slot, offered, met / judged if judged else None,
                           gone / judged if judged else None)
            for slot, (offered, met, judged, gone) in sorted(happened.items())}
