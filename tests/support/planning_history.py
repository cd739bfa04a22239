"""Generated queue history with known seasonality, for the forecast and planning tests.

Calls per 15-minute interval are Poisson with the mean ``expected(day, slot)``: a base level,
times the weekday's level (Monday busiest, Saturday half, Sunday closed), times an intraday
profile (open 09:00-17:00, peaks at 10:00 and 14:00), times a weekly growth. Holidays are
closed; a make-up working day (调休) has an ordinary working day's level. Handle time is
lognormal around ``AHT_S``; a share ``ABANDON`` of callers hang up after waiting on average
``PATIENCE_S``.
"""

import datetime as dt
import math

import numpy as np

from branchline.acd.planning import SLOTS, Calendar, IntervalFigures, QueueHistory

WEEKDAY_LEVEL = (1.3, 1.0, 1.0, 1.0, 1.15, 0.5, 0.0)
WORKING_LEVEL = 1.0
AHT_S = 200.0
PATIENCE_S = 80.0
ABANDON = 0.08
GOLDEN_WEEK = Calendar(
    holidays=frozenset(dt.date(2026, 10, d) for d in (1, 2, 5, 6, 7)),
    workdays=frozenset({dt.date(2026, 10, 10)}),
)


def profile(slot: int) -> float:
    hour = slot / 4
    if not 9 <= hour < 17:
        return 0.0
    return 0.4 + math.exp(-((hour - 10.25) ** 2) / 1.5) + 0.8 * math.exp(-((hour - 14.25) ** 2))


def expected(day: dt.date, slot: int, calendar: Calendar, start: dt.date, base: float,
             growth: float) -> float:
    kind = calendar.day_kind(day)
    if kind == "holiday":
        return 0.0
    level = WORKING_LEVEL if kind == "workday" else WEEKDAY_LEVEL[day.weekday()]
    weeks = (day - start).days / 7
    return base * level * profile(slot) * (1 + growth) ** weeks


def generate(start: dt.date, days: int, calendar: Calendar, *, seed: int = 1,
             base: float = 30.0, growth: float = 0.02, queue: str = "general") -> QueueHistory:
    rng = np.random.default_rng(seed)
    table = {}
    for i in range(days):
        day = start + dt.timedelta(days=i)
        slots = []
        for slot in range(SLOTS):
            offered = int(rng.poisson(expected(day, slot, calendar, start, base, growth)))
            abandoned = int(rng.binomial(offered, ABANDON))
            answered = offered - abandoned
            handle = float(rng.lognormal(math.log(AHT_S) - 0.08, 0.4, answered).sum())
            # Exponential patience: Σ waited / abandons estimates the mean patience.
            waited = float(rng.exponential(PATIENCE_S * ABANDON, offered).sum())
            slots.append(IntervalFigures(offered, answered, abandoned, waited, answered,
                                         handle))
        table[day] = tuple(slots)
    return QueueHistory(queue, table)
