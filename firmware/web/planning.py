"""Workforce planning for the web service: the Planning page's figures, roster edits, checks.

``WebPlanning(data, document, prompts_root, today, audit, worker)``; ``document()`` gives the
configuration in force, ``today()`` the branch's local date, ``audit(who, what, diff)``
stores an audit entry. Everything that reads the records or computes runs in a worker process
(``config.web.worker``), never on the web's or the media loop's threads:

* ``view(day, queue)``: the day's plan per 15-minute interval (firmware/planning/plan.py) for
  one queue or all of them: forecast, agents on the phones by Erlang C and Erlang A, on shift
  needed after shrinkage, scheduled by the roster in force, the gap and its ``status``
  (``short``: fewer than needed; ``over``: more than ``spare(needed)`` beyond; ``fine``
  between). With it the day's shifts, the last check of this roster version on this day (if
  one was run), and for a day that has begun what happened (per interval, every queue) and
  the agents' adherence with the largest deviations.
* ``save_day(day, shifts, base, note, who)``: the day's shifts replace that day's in the
  roster in force, published as a new version (``base`` is the version the page showed: a
  stale one is refused); problems come back as issues with the day's row (``shifts.<row>``),
  and nothing is published. Audited.
* ``check(day, who)``: the roster in force tested on the day in event mode
  (firmware/planning/check.py) in its own worker (``check_worker``: one check at a time,
  limits sized for a 300-seat day); the result is kept in ``DataDir.plan_check_result`` for
  the page and returned. The check's scratch directory gets the appliance's prompts (copied
  once), so it never synthesises them itself. Audited.

Errors are ``config.web.link`` errors: ``Refused`` (a bad day, queue or shift; no roster),
``NotFound``, the worker's own.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import yaml

from branchline.acd.planning import slot_label
from branchline.acd.planning.adherence import adherence, worst
from branchline.config.data_dir import DataDir
from branchline.config.store.errors import ConfigConflict, ConfigRefused
from branchline.config.store.files import write_atomic
from branchline.config.web.link import Refused
from branchline.config.web.worker import Worker
from branchline.firmware.planning.check import check_roster_day, what_happened
from branchline.firmware.planning.history import read_history
from branchline.firmware.planning.plan import make_plan
from branchline.firmware.planning.roster import (
    check_roster,
    check_roster_data,
    open_roster_store,
    roster_text,
    scheduled,
    scheduled_seconds,
)
from branchline.hw import load_scenario

__all__ = ["CHECK_CPU_S", "CHECK_WALL_S", "MAX_SHIFTS", "WebPlanning", "check_day",
           "gap_status", "plan_view", "save_roster_day", "spare"]

# Our choices: a check of a 300-seat day takes well under a minute of CPU (docs/BENCHMARKS.md);
# these leave room for a loaded small board without letting a runaway check live long.
CHECK_CPU_S = 180
CHECK_WALL_S = 300.0
MAX_SHIFTS = 1000  # shifts one day may hold (a 300-seat centre has about 300)
WORST = 10  # the largest adherence deviations listed
MAX_DAYS_AWAY = 366


def spare(needed: int) -> int:
    """Agents beyond those needed that still count as fine (our choice: one, or a tenth)."""
    return max(1, math.ceil(needed / 10))


def gap_status(gap: int, needed: int) -> str:
    return "short" if gap < 0 else "over" if gap > spare(needed) else "fine"


def _day(text: str, today: dt.date) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise Refused(f"day {text!r}: write it as YYYY-MM-DD, e.g. 2026-11-24",
                      code="bad_day") from None
    if abs((day - today).days) > MAX_DAYS_AWAY:
        raise Refused(f"day {day}: plan a day within {MAX_DAYS_AWAY} days of today ({today})",
                      code="bad_day")
    return day


class WebPlanning:
    """See the module docstring."""

    def __init__(self, data: DataDir, document: Callable[[], object], prompts_root: Path,
                 today: Callable[[], dt.date], audit: Callable[[str, str, str], None],
                 worker: Worker):
        self.data = data
        self.document = document
        self.prompts_root = Path(prompts_root)
        self.today = today
        self.audit = audit
        self.worker = worker
        self.check_worker = Worker(wall_s=CHECK_WALL_S, cpu_s=CHECK_CPU_S, jobs=1)

    def close(self) -> None:
        self.check_worker.close()

    def view(self, day: str, queue: str | None) -> dict:
        document = self.document()
        names = [q.name for q in document.acd.queues]
        if queue is not None and queue not in names:
            raise Refused(f"queue {queue!r} is not configured; the queues are "
                          f"{', '.join(names)}", code="unknown_queue")
        today = self.today()
        return self.worker.run("planning", plan_view, self.data.root, document,
                               _day(day, today), queue, today)

    def save_day(self, day: str, shifts: list[dict], base: int | None, note: str,
                 who: str) -> dict:
        if len(shifts) > MAX_SHIFTS:
            raise Refused(f"{len(shifts)} shifts on one day; at most {MAX_SHIFTS}",
                          code="too_many_shifts")
        saved = self.worker.run("roster", save_roster_day, self.data.root, self.document(),
                                _day(day, self.today()), shifts, base, note, who)
        self.audit(who, f"roster v{saved['version']}: {day} saved, {len(shifts)} shifts",
                   saved["diff"])
        return {"version": saved["version"], "day": day, "shifts": len(shifts)}

    def check(self, day: str, who: str) -> dict:
        result = self.check_worker.run("roster check", check_day, self.data.root,
                                       self.document(), _day(day, self.today()),
                                       self.prompts_root)
        self.audit(who, f"roster v{result['roster']}: checked on {day}",
                   f"{len(result['rows'])} intervals simulated in event mode")
        return result


# --- run by the worker process ----------------------------------------------------------------

def _pct(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _roster_in_force(data: DataDir, document):
    """(version number, roster) in force, or (None, None) before the first publish."""
    current = open_roster_store(data, document).current()
    if current is None:
        return None, None
    return current.info.number, check_roster(current.text, {a.id for a in document.acd.agents})[0]


def plan_view(root: Path, document, day: dt.date, queue: str | None, today: dt.date) -> dict:
    data = DataDir(root)
    plan = make_plan(data, document, day)
    version, roster = _roster_in_force(data, document)
    queues = [q for q in plan.queues if queue is None or q.queue == queue]
    members = None
    if queue is not None:
        members = {a.id for a in document.acd.agents if any(m.queue == queue for m in a.queues)}
    on = scheduled(roster, day, members) if roster is not None else (0,) * len(
        plan.queues[0].staffing)
    rows = []
    for slot in range(len(on)):
        calls = sum(q.forecast.calls[slot] for q in queues)
        if calls <= 0 and not on[slot]:
            continue
        needed = sum(q.staffing[slot].on_shift for q in queues)
        gap = on[slot] - needed
        rows.append({"slot": slot, "label": slot_label(slot), "calls": round(calls, 2),
                     "erlang_c": sum(q.staffing[slot].erlang_c for q in queues),
                     "erlang_a": sum(q.staffing[slot].erlang_a for q in queues),
                     "needed": needed, "scheduled": on[slot], "gap": gap,
                     "status": gap_status(gap, needed)})
    shifts = [] if roster is None else [
        {"agent": s.agent, "start": s.start, "end": s.end,
         "breaks": [{"start": b.start, "end": b.end} for b in s.breaks]}
        for s in roster.shifts if s.day == day]
    result = {"day": day.isoformat(), "kind": plan.kind, "shrinkage": _pct(plan.shrinkage),
              "history_days": plan.history_days, "roster": version, "shifts": shifts,
              "queues": [{"queue": q.queue, "target_pct": q.target_pct, "target_s": q.target_s,
                          "patience_s": round(q.forecast.patience_s, 1),
                          "wape": _pct(q.accuracy.wape), "naive_wape": _pct(q.accuracy.naive_wape)}
                         for q in queues],
              "rows": rows, "check": None, "happened": None, "adherence": None,
              "queue_names": [q.name for q in document.acd.queues],
              "agents": [{"id": a.id, "name": a.name} for a in document.acd.agents]}
    if version is not None:
        stored = data.plan_check_result(day.isoformat(), version)
        if stored.exists():
            result["check"] = json.loads(stored.read_text())
    if day <= today:
        result["happened"] = {str(slot): {"offered": h.offered,
                                          "service_level": _pct(h.service_level),
                                          "abandon_rate": _pct(h.abandon_rate)}
                              for slot, h in what_happened(data, document, day).items()}
        if roster is not None and shifts:
            result["adherence"] = _adherence(data, document, roster, day)
    return result


def _adherence(data: DataDir, document, roster, day: dt.date) -> dict:
    history = read_history(data, document, day, day + dt.timedelta(days=1))
    actual = {(agent, slot): states for (d, slot, agent), states in history.agent_states.items()
              if d == day}
    rows = adherence(scheduled_seconds(roster, day), actual)
    agents = []
    for agent in sorted({r.agent for r in rows}):
        mine = [r for r in rows if r.agent == agent]
        agents.append({"agent": agent,
                       "adherence": _pct(sum(r.in_adherence_s for r in mine)
                                         / sum(r.scheduled_s for r in mine)),
                       "intervals": [{"slot": r.slot, "label": slot_label(r.slot),
                                      "adherence": _pct(r.adherence)} for r in mine]})
    return {"agents": agents,
            "worst": [{"agent": r.agent, "slot": r.slot, "label": slot_label(r.slot),
                       "scheduled_phones_s": round(r.scheduled_phones_s),
                       "scheduled_break_s": round(r.scheduled_break_s),
                       "phones_s": round(r.phones_s), "not_ready_s": round(r.not_ready_s),
                       "deviation_s": round(r.deviation_s)} for r in worst(rows, WORST)]}


def _issue(issue) -> dict:
    found = {"path": issue.path, "message": issue.message, "fix": issue.fix,
             "severity": "error"}
    if issue.key:
        found.update(key=issue.key, fix_key=issue.fix_key, params=dict(issue.params))
    return found


def save_roster_day(root: Path, document, day: dt.date, shifts: list[dict], base: int | None,
                    note: str, who: str) -> dict:
    """Publish the roster in force with ``day``'s shifts replaced by ``shifts``."""
    data = DataDir(root)
    agents = {a.id for a in document.acd.agents}
    # Checked alone first, so a problem's path is the row on the page (shifts.<row>).
    _, report = check_roster_data({"shifts": [{**s, "day": day} for s in shifts]}, agents)
    if report.issues:
        raise RosterRefused(f"the shifts of {day} were not saved: {len(report.issues)} "
                            "problem(s); the roster in force stays",
                            [_issue(i) for i in report.issues])
    store = open_roster_store(data, document)
    current = store.current()
    kept = []
    if current is not None:
        kept = [s for s in _shifts(current.text) if str(s.get("day")) != day.isoformat()]
    text = roster_text(kept + [{**s, "day": day} for s in shifts])
    try:
        published = store.publish(text, who=who, note=note or f"shifts of {day}", base=base)
    except ConfigConflict as exc:
        raise Refused(f"the roster changed since this page was loaded (now v"
                      f"{store.current_number()}); reload the page and make the change again",
                      code="conflict") from exc
    except ConfigRefused as exc:  # another day's shift no longer fits the configuration
        raise Refused(str(exc), code="roster_refused") from exc
    before = [] if current is None else [
        s for s in _shifts(current.text) if str(s.get("day")) == day.isoformat()]
    return {"version": published.info.number,
            "diff": f"{day}: {len(before)} shifts before, {len(shifts)} after"}


def _shifts(text: str) -> list[dict]:
    return (yaml.safe_load(text) or {}).get("shifts") or []


class RosterRefused(Refused):
    """The day's shifts have problems: ``issues`` in the API's issue shape."""

    code = "roster_invalid"

    def __init__(self, message: str, issues: list[dict]):
        super().__init__(message)
        self.issues = issues

    def __reduce__(self):  # back to the web process through the worker's pipe
        return (RosterRefused, (str(self), self.issues))


def check_day(root: Path, document, day: dt.date, prompts_root: Path) -> dict:
    """The roster in force checked on ``day``; kept for the page and returned."""
    data = DataDir(root)
    version, roster = _roster_in_force(data, document)
    if version is None:
        raise Refused("no roster is published yet; save the day's shifts first",
                      code="no_roster")
    if not any(s.day == day for s in roster.shifts):
        raise Refused(f"roster v{version} has no shift on {day}; add the day's shifts first",
                      code="no_shifts")
    check = DataDir(data.plan_check)
    if not check.prompts.exists() and Path(prompts_root).is_dir():
        shutil.copytree(prompts_root, check.prompts)
    plan = make_plan(data, document, day)
    template = load_scenario(resources.files("branchline.config") / "defaults" /
                             "scenario_day.yaml")
    rows = check_roster_day(data, document, plan, roster, template)
    result = {"day": day.isoformat(), "roster": version, "shrinkage": _pct(plan.shrinkage),
              "rows": [{"slot": r.slot, "label": slot_label(r.slot), "calls": round(r.calls, 2),
                        "erlang_c": r.erlang_c, "erlang_a": r.erlang_a, "needed": r.needed,
                        "scheduled": r.scheduled, "gap": r.gap,
                        "sl_c": _pct(r.sl_c), "sl_a": _pct(r.sl_a),
                        "abandon_a": _pct(r.abandon_a), "sl_sim": _pct(r.sl_sim),
                        "abandon_sim": _pct(r.abandon_sim)} for r in rows]}
    path = data.plan_check_result(day.isoformat(), version)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(result).encode())
    return result

