"""A day's plan from the records: forecast, agents needed, and the forecast's track record.

``make_plan(data, document, day)`` reads ``HISTORY_DAYS`` of history before ``day``
(``read_history``), forecasts each configured queue for ``day`` (acd/planning/forecast.py),
staffs every interval for the queue's default class target by Erlang C and Erlang A, grosses
Erlang A up by the shrinkage of the last ``SHRINKAGE_DAYS`` of agent states, and scores the
forecast on the last ``HOLDOUT_DAYS`` of history beside the naive one. The queue's configured
``expected_handle_s`` stands in for handle time where the records have none; the queue's
patience falls back to ``PRIOR_PATIENCE_S`` (our choice) where nobody abandoned yet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from branchline.acd.planning import (
    Accuracy,
    DayForecast,
    IntervalStaffing,
    evaluate,
    forecast_day,
    shrinkage,
    staff_day,
)
from branchline.config.data_dir import DataDir
from branchline.firmware.planning.history import PlanningHistory, read_history

__all__ = ["HISTORY_DAYS", "Plan", "QueuePlan", "make_plan"]

HISTORY_DAYS = 70
SHRINKAGE_DAYS = 28
HOLDOUT_DAYS = 14
PRIOR_PATIENCE_S = 60.0


@dataclass(frozen=True, slots=True)
class QueuePlan:
    queue: str
    target_pct: float
    target_s: float
    forecast: DayForecast
    staffing: tuple[IntervalStaffing, ...]
    accuracy: Accuracy


@dataclass(frozen=True, slots=True)
class Plan:
    day: dt.date
    kind: str
    shrinkage: float
    history_days: int  # days with records the plan learnt from
    queues: tuple[QueuePlan, ...]


def _target(queue) -> tuple[float, float]:
    cls = next(c for c in queue.classes if c.name == queue.default_class)
    return cls.service_level_pct, cls.service_level_s


def make_plan(data: DataDir, document, day: dt.date, *,
              history: PlanningHistory | None = None) -> Plan:
    if history is None:
        history = read_history(data, document, day - dt.timedelta(days=HISTORY_DAYS), day)
    recent = day - dt.timedelta(days=SHRINKAGE_DAYS)
    shrink = shrinkage(s for (d, _, _), s in history.agent_states.items() if recent <= d < day)
    plans = []
    for queue in document.acd.queues:
        past = history.queues[queue.name].before(day)
        pct, seconds = _target(queue)
        made = forecast_day(past, history.calendar, day, default_aht_s=queue.expected_handle_s,
                            prior_patience_s=PRIOR_PATIENCE_S)
        plans.append(QueuePlan(
            queue.name, pct, seconds, made, staff_day(made, min(pct, 99.9), seconds, shrink),
            evaluate(past, history.calendar, holdout_days=HOLDOUT_DAYS,
                     default_aht_s=queue.expected_handle_s, prior_patience_s=PRIOR_PATIENCE_S)))
    days = max((len(q.days) for q in history.queues.values()), default=0)
    return Plan(day, history.calendar.day_kind(day), shrink, days, tuple(plans))
