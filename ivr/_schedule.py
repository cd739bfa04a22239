"""Opening hours: which way a schedule node goes at a given wall-clock moment.

The moment is an aware datetime in the appliance's time zone (the session derives it from
``CallStarted.started_at`` plus the virtual time since the call started). Precedence: a
holiday date is closed (or goes to ``holiday`` when given) even on a weekday; a make-up
working day (``workdays``, China's 调休) uses its own hours even on a weekend; otherwise the
weekday's hours apply. Ranges are half-open, start <= t < end, "24:00" allowed as an end.
"""

from __future__ import annotations

import datetime as dt

from branchline.ivr._model import WEEKDAYS, ScheduleNode


def _within(ranges: list[str], moment: dt.datetime) -> bool:
    now = moment.strftime("%H:%M")
    return any(text[:5] <= now < text[6:] for text in ranges)


def schedule_branch(node: ScheduleNode, moment: dt.datetime) -> str:
    """'open', 'closed' or 'holiday' for ``moment`` (local time of its own zone)."""
    day = moment.date()
    if day in node.holidays:
        return "holiday" if node.holiday is not None else "closed"
    if day in node.workdays:
        return "open" if _within(node.workdays[day], moment) else "closed"
    ranges = node.hours.get(WEEKDAYS[day.weekday()], [])
    return "open" if _within(ranges, moment) else "closed"
