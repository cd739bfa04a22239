"""The kind of each day for planning: an ordinary weekday, a holiday, or a make-up working day.

China moves working days around its public holidays (调休): a Saturday or Sunday may be a working
day, with the hours the flow's schedule gives it, while weekdays around the holiday are closed.
Traffic follows what the day is, not its weekday name, so the forecast asks ``day_kind(day)``:

* ``holiday``: a date the flow's schedule lists under ``holidays``;
* ``workday``: a make-up working day (the schedule's ``workdays``);
* otherwise the weekday, ``mon`` .. ``sun``.

The calendar comes from the flow's schedule nodes (firmware/planning reads them); the dates of
every schedule node in the document count.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

__all__ = ["HOLIDAY", "WEEKDAYS", "WORKDAY", "Calendar"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOLIDAY = "holiday"
WORKDAY = "workday"


@dataclass(frozen=True, slots=True)
class Calendar:
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    workdays: frozenset[dt.date] = field(default_factory=frozenset)

    def day_kind(self, day: dt.date) -> str:
        if day in self.holidays:
            return HOLIDAY
        if day in self.workdays:
            return WORKDAY
        return WEEKDAYS[day.weekday()]

    def ordinary(self, day: dt.date) -> bool:
        """Neither a holiday nor a make-up working day."""
        return day not in self.holidays and day not in self.workdays

    def working_weekday(self, day: dt.date) -> bool:
        """An ordinary Monday to Friday."""
        return self.ordinary(day) and day.weekday() < 5
