"""The planning history from the records: queue figures per day and interval, agent states.

``read_history(data, document, since, until)`` reads the ACD event log of ``records.db``
between two local dates (``until`` excluded), folds it with the KPIs' own fold
(``kpis_from_log``: a call counts in the interval it entered the queue) and returns a
``PlanningHistory``: a ``QueueHistory`` per configured queue, every agent's seconds per state
per interval (for shrinkage and adherence), and the ``Calendar`` of the document's schedule
nodes. A local day with any event in the log counts as a day with records; queues without
calls that day get zeros, not a gap. 15-minute intervals in UTC are 15-minute intervals of
local time wherever the offset is whole quarter hours (China's is +8).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from branchline.acd import QueueKpis, kpis_from_log
from branchline.acd.planning import INTERVAL_S, Calendar, IntervalFigures, QueueHistory
from branchline.config.data_dir import DataDir
from branchline.firmware.records.cdr import queue_event
from branchline.firmware.records.database import Records

__all__ = ["PlanningHistory", "calendar_of", "figures_of", "local_slot", "read_history"]


@dataclass(frozen=True, slots=True)
class PlanningHistory:
    queues: dict[str, QueueHistory]
    # (local day, slot, agent) -> {state: seconds}
    agent_states: dict[tuple[dt.date, int, str], dict[str, float]]
    calendar: Calendar
    zone: ZoneInfo


def calendar_of(document) -> Calendar:
    """Holidays and make-up working days of every schedule node in the document's flows."""
    holidays: set[dt.date] = set()
    workdays: set[dt.date] = set()
    for flow in document.flows.values():
        for _, _, node in flow.all_nodes():
            if getattr(node, "kind", None) == "schedule":
                holidays.update(node.holidays)
                workdays.update(node.workdays)
    return Calendar(frozenset(holidays), frozenset(workdays))


def figures_of(kpis: QueueKpis) -> IntervalFigures:
    return IntervalFigures(
        offered=kpis.offered, answered=kpis.answered,
        abandoned=kpis.abandoned + kpis.short_abandoned,
        waited_s=kpis.wait_answered_s + kpis.wait_abandoned_s + kpis.wait_timed_out_s,
        handled=kpis.completed, handle_s=kpis.talk_s + kpis.wrap_s,
        answered_in_sl=kpis.answered_in_sl, long_abandoned=kpis.abandoned,
        timed_out=kpis.timed_out)


def local_slot(epoch: float, zone: ZoneInfo) -> tuple[dt.date, int]:
    moment = dt.datetime.fromtimestamp(epoch, zone)
    return moment.date(), (moment.hour * 3600 + moment.minute * 60) // INTERVAL_S


def _epoch(day: dt.date, zone: ZoneInfo) -> float:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone).timestamp()


def read_history(data: DataDir, document, since: dt.date, until: dt.date) -> PlanningHistory:
    zone = ZoneInfo(document.site.timezone)
    start, end = _epoch(since, zone), _epoch(until, zone)
    with Records(data.records_db) as records:
        events = [queue_event(row, 0.0) for row in records.iter_events(start, end)]
    queues = document.acd.queues
    days = sorted({local_slot(e.time, zone)[0] for e in events})
    report = kpis_from_log(events, queues, events[-1].time if events else start)
    per_queue: dict[str, list] = {q.name: [] for q in queues}
    for (interval, queue), kpis in report.queue_intervals.items():
        if queue in per_queue:
            per_queue[queue].append((*local_slot(interval, zone), figures_of(kpis)))
    agents = {(*local_slot(interval, zone), agent): dict(kpis.state_s)
              for (interval, agent), kpis in report.agent_intervals.items()}
    return PlanningHistory(
        {name: QueueHistory.from_intervals(name, items, days)
         for name, items in per_queue.items()},
        agents, calendar_of(document), zone)
