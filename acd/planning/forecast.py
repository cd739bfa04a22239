"""Forecast calls, handle time and patience per queue per 15-minute interval, and its error.

The method, for a day D of a queue (a planner can redo it by hand):

* **Which days it learns from.** An ordinary weekday: the same weekday in the most recent
  ``len(WEIGHTS)`` weeks of history that were ordinary themselves (a holiday or a make-up
  working day that fell on that weekday is skipped), at most ``LOOKBACK_WEEKS`` back. A make-up
  working day (调休): the last ``WORKDAY_SAMPLES`` ordinary working days (Mon-Fri), because it
  is a working day whatever its weekday. A holiday: the branch is closed, nothing is forecast.
* **Calls** per interval: the weighted average of those days, ``WEIGHTS`` from the most recent
  (an ordinary weekday), equal weights (a make-up day), times the trend ``g ** L``: ``g`` is the
  weekly growth, ``(Σ calls in the last 14 days / Σ calls on the days 14 days before each)^½``
  over ordinary days whose partner is ordinary too (1 when fewer than ``MIN_TREND_PAIRS``
  pairs; held to ``TREND_LIMITS``); ``L`` is the weighted average age in weeks of the days
  averaged, counted from D.
* **Handle time** per interval: Σ (talk + wrap-up) / conversations over the same days; when
  fewer than ``MIN_HANDLED`` conversations fall in the interval, over the whole of those days;
  with none at all, the queue's configured ``expected_handle_s``.
* **Patience** (one figure per queue): with exponential patience the likelihood's maximum is
  Σ time waited by everyone / number who hung up while waiting. Over the last
  ``PATIENCE_DAYS`` days, with one pseudo-caller who waited ``prior_patience_s`` and hung up,
  so that a queue with few abandons gets a sensible figure instead of infinity.

``evaluate`` holds the last ``holdout_days`` of history out, forecasts each of them from what
came before (as a planner would on the cut-off day) and compares with what happened, beside
the naive forecast: the last observed same weekday before the cut-off, interval by interval.
MAPE (mean |F − A| / A over intervals with calls), WAPE (Σ|F − A| / ΣA) and bias
(Σ(F − A) / ΣA), overall and per interval of the day.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from branchline.acd.planning.calendar import HOLIDAY, WORKDAY, Calendar
from branchline.acd.planning.history import SLOTS, QueueHistory

__all__ = ["Accuracy", "DayForecast", "SlotAccuracy", "evaluate", "forecast_day",
           "weekly_trend"]

WEIGHTS = (4, 3, 2, 1)
LOOKBACK_WEEKS = 8
WORKDAY_SAMPLES = 5
TREND_DAYS = 14
MIN_TREND_PAIRS = 5
TREND_LIMITS = (0.8, 1.25)
MIN_HANDLED = 20
PATIENCE_DAYS = 28


@dataclass(frozen=True, slots=True)
class DayForecast:
    queue: str
    day: dt.date
    kind: str  # calendar.day_kind
    calls: tuple[float, ...]  # per interval from midnight
    aht_s: tuple[float, ...]
    patience_s: float
    basis: tuple[dt.date, ...]  # the days it averaged
    trend: float  # weekly growth factor used


def weekly_trend(history: QueueHistory, calendar: Calendar) -> float:
    if not history.days:
        return 1.0
    last = max(history.days)
    recent = prior = 0.0
    pairs = 0
    for offset in range(TREND_DAYS):
        day = last - dt.timedelta(days=offset)
        partner = day - dt.timedelta(days=TREND_DAYS)
        if day in history.days and partner in history.days and calendar.ordinary(day) and \
                calendar.ordinary(partner):
            recent += sum(f.offered for f in history.days[day])
            prior += sum(f.offered for f in history.days[partner])
            pairs += 1
    if pairs < MIN_TREND_PAIRS or recent == 0 or prior == 0:
        return 1.0
    low, high = TREND_LIMITS
    return min(high, max(low, math.sqrt(recent / prior)))


def _basis(history: QueueHistory, calendar: Calendar, day: dt.date) -> list[tuple[dt.date, int]]:
    """(day, weight) pairs the forecast of ``day`` averages."""
    kind = calendar.day_kind(day)
    past = [d for d in sorted(history.days, reverse=True) if d < day]
    if kind == HOLIDAY:
        return []
    if kind == WORKDAY:
        return [(d, 1) for d in [d for d in past if calendar.working_weekday(d)][
            :WORKDAY_SAMPLES]]
    same = [d for d in past if d.weekday() == day.weekday() and calendar.ordinary(d)
            and (day - d).days <= 7 * LOOKBACK_WEEKS]
    return list(zip(same, WEIGHTS, strict=False))


def _patience(history: QueueHistory, day: dt.date, prior_patience_s: float) -> float:
    since = day - dt.timedelta(days=PATIENCE_DAYS)
    waited, gave_up = prior_patience_s, 1
    for d, slots in history.days.items():
        if since <= d < day:
            waited += sum(f.waited_s for f in slots)
            gave_up += sum(f.abandoned for f in slots)
    return waited / gave_up


def forecast_day(history: QueueHistory, calendar: Calendar, day: dt.date, *,
                 default_aht_s: float, prior_patience_s: float,
                 trend: float | None = None) -> DayForecast:
    """The forecast of ``day`` from ``history`` (days before ``day`` only)."""
    kind = calendar.day_kind(day)
    basis = _basis(history, calendar, day)
    patience = _patience(history, day, prior_patience_s)
    if not basis:
        return DayForecast(history.queue, day, kind, (0.0,) * SLOTS, (default_aht_s,) * SLOTS,
                           patience, (), 1.0)
    growth = weekly_trend(history.before(day), calendar) if trend is None else trend
    total = sum(w for _, w in basis)
    age = sum(w * (day - d).days / 7 for d, w in basis) / total
    factor = growth ** age
    calls = [0.0] * SLOTS
    handled = [0] * SLOTS
    handle_s = [0.0] * SLOTS
    for d, w in basis:
        for slot, f in enumerate(history.days[d]):
            calls[slot] += w * f.offered
            handled[slot] += f.handled
            handle_s[slot] += f.handle_s
    all_handled, all_handle_s = sum(handled), sum(handle_s)
    day_aht = all_handle_s / all_handled if all_handled else default_aht_s
    aht = tuple(handle_s[s] / handled[s] if handled[s] >= MIN_HANDLED else day_aht
                for s in range(SLOTS))
    return DayForecast(history.queue, day, kind, tuple(c / total * factor for c in calls), aht,
                       patience, tuple(d for d, _ in basis), growth)


@dataclass(frozen=True, slots=True)
class SlotAccuracy:
    slot: int
    actual: float  # mean calls over the held-out days
    mape: float | None
    bias: float | None
    naive_mape: float | None
    naive_bias: float | None


@dataclass(frozen=True, slots=True)
class Accuracy:
    queue: str
    days: tuple[dt.date, ...]  # the held-out days scored
    mape: float | None
    wape: float | None
    bias: float | None
    naive_mape: float | None
    naive_wape: float | None
    naive_bias: float | None
    slots: tuple[SlotAccuracy, ...]  # intervals of the day with calls in the held-out days


def _scores(pairs: list[tuple[float, float]]) -> tuple[float | None, float | None, float | None]:
    """(MAPE, WAPE, bias) of (forecast, actual) pairs."""
    actual = sum(a for _, a in pairs)
    with_calls = [abs(f - a) / a for f, a in pairs if a > 0]
    mape = sum(with_calls) / len(with_calls) if with_calls else None
    if not actual:
        return mape, None, None
    return (mape, sum(abs(f - a) for f, a in pairs) / actual,
            sum(f - a for f, a in pairs) / actual)


def evaluate(history: QueueHistory, calendar: Calendar, *, holdout_days: int = 14,
             default_aht_s: float = 180.0, prior_patience_s: float = 60.0) -> Accuracy:
    """The forecast's error on the last ``holdout_days`` of history, beside the naive one's."""
    if holdout_days < 1:
        raise ValueError(f"evaluate: holdout_days {holdout_days} must be at least 1")
    if not history.days:
        return Accuracy(history.queue, (), None, None, None, None, None, None, ())
    cutoff = max(history.days) - dt.timedelta(days=holdout_days - 1)
    known = history.before(cutoff)
    trend = weekly_trend(known, calendar)
    ours: list[list[tuple[float, float]]] = [[] for _ in range(SLOTS)]
    naive: list[list[tuple[float, float]]] = [[] for _ in range(SLOTS)]
    scored = []
    for day in sorted(d for d in history.days if d >= cutoff):
        if calendar.day_kind(day) == HOLIDAY:
            continue
        made = forecast_day(known, calendar, day, default_aht_s=default_aht_s,
                            prior_patience_s=prior_patience_s, trend=trend)
        last = [d for d in known.days if d.weekday() == day.weekday()]
        if not made.basis or not last:
            continue
        scored.append(day)
        old = known.offered(max(last))
        for slot, (f, a) in enumerate(zip(made.calls, history.offered(day), strict=True)):
            ours[slot].append((f, a))
            naive[slot].append((old[slot], a))
    flat = [p for slot in ours for p in slot]
    flat_naive = [p for slot in naive for p in slot]
    mape, wape, bias = _scores(flat)
    n_mape, n_wape, n_bias = _scores(flat_naive)
    slots = []
    for slot in range(SLOTS):
        if not any(a for _, a in ours[slot]):
            continue
        s_mape, _, s_bias = _scores(ours[slot])
        ns_mape, _, ns_bias = _scores(naive[slot])
        slots.append(SlotAccuracy(slot, sum(a for _, a in ours[slot]) / len(ours[slot]),
                                  s_mape, s_bias, ns_mape, ns_bias))
    return Accuracy(history.queue, tuple(scored), mape, wape, bias, n_mape, n_wape, n_bias,
                    tuple(slots))
