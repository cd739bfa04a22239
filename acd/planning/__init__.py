"""Workforce planning, sans-I/O: forecast per 15-minute interval, staffing, their error.

    from branchline.acd.planning import Calendar, QueueHistory, forecast_day, staff_day
    fc = forecast_day(history, calendar, day, default_aht_s=180, prior_patience_s=60)
    rows = staff_day(fc, target_pct=80, target_s=20, shrink=shrinkage(agent_state_seconds))

Modules: ``calendar`` (holidays and make-up working days, 调休), ``history`` (a queue's figures
per day and interval), ``forecast`` (the forecast and its error on held-out days beside a
naive one), ``staffing`` (Erlang C and Erlang A per interval, shrinkage). Erlang A itself is
``branchline.acd.erlang_a``. Reading the records and keeping rosters is firmware/planning's.
Bad arguments raise ``ValueError`` naming the argument, its value and what is allowed.
"""

from branchline.acd.planning.calendar import HOLIDAY, WEEKDAYS, WORKDAY, Calendar
from branchline.acd.planning.forecast import (
    Accuracy,
    DayForecast,
    SlotAccuracy,
    evaluate,
    forecast_day,
    weekly_trend,
)
from branchline.acd.planning.history import (
    INTERVAL_S,
    SLOTS,
    IntervalFigures,
    QueueHistory,
    slot_label,
)
from branchline.acd.planning.staffing import (
    IntervalStaffing,
    Prediction,
    on_shift,
    predict,
    shrinkage,
    staff_day,
)

__all__ = [
    "HOLIDAY",
    "INTERVAL_S",
    "SLOTS",
    "WEEKDAYS",
    "WORKDAY",
    "Accuracy",
    "Calendar",
    "DayForecast",
    "IntervalFigures",
    "IntervalStaffing",
    "Prediction",
    "QueueHistory",
    "SlotAccuracy",
    "evaluate",
    "forecast_day",
    "on_shift",
    "predict",
    "shrinkage",
    "slot_label",
    "staff_day",
    "weekly_trend",
]
