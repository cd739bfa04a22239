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

from branchline.acd import QueueEvent
from branchline.acd import QueueEventKind as K
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


AGENTS = ("1001", "1002", "1003")
# Each agent's day: logged in 09:00, ready; not ready 12:00-12:30 (lunch); logged out 17:00.
BREAK = (12 * 3600, 12 * 3600 + 1800)
SHRINKAGE = 1800 / (8 * 3600)


def queue_events(history: QueueHistory, zone, *, agents=AGENTS):
    """The ACD event log (QueueEvents, UTC epoch times) that makes ``history``'s figures:
    each interval's callers spread over it, waits shared evenly, talk = handle time. Every
    day with records also has the agents' logins, lunch break and logouts."""
    events = []
    for day, slots in history.days.items():
        midnight = dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone).timestamp()
        for agent in agents:
            for at, old, new in ((9 * 3600, "logged_out", "not_ready"),
                                 (9 * 3600, "not_ready", "ready"),
                                 (BREAK[0], "ready", "not_ready"),
                                 (BREAK[1], "not_ready", "ready"),
                                 (17 * 3600, "ready", "logged_out")):
                events.append(QueueEvent(midnight + at, K.AGENTSTATE, agent_id=agent,
                                         old_state=old, new_state=new))
        for slot, f in enumerate(slots):
            if not f.offered:
                continue
            wait = f.waited_s / f.offered
            talk = f.handle_s / f.answered if f.answered else 0.0
            for i in range(f.offered):
                call = f"{history.queue}-{day:%m%d}-{slot:02d}-{i:03d}"
                t = midnight + slot * 900 + (i + 0.5) * 900 / f.offered
                events.append(QueueEvent(t, K.ENTERQUEUE, call, history.queue,
                                         priority_class="normal"))
                if i < f.answered:
                    events += [QueueEvent(t + wait, K.CONNECT, call, history.queue, agents[0],
                                          "normal", wait_s=wait),
                               QueueEvent(t + wait + talk, K.COMPLETECALLER, call,
                                          history.queue, agents[0], "normal", wait_s=wait,
                                          talk_s=talk)]
                else:
                    events.append(QueueEvent(t + wait, K.ABANDON, call, history.queue,
                                             priority_class="normal", wait_s=wait))
    return sorted(events, key=lambda e: e.time)
