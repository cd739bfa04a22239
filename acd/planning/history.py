"""What a queue did, per day and 15-minute interval: the input of the forecast.

``IntervalFigures`` are one queue's figures for one interval of one day (the interval a call
entered the queue in, as the KPIs count it); ``QueueHistory`` holds a queue's days, each a
tuple of ``SLOTS`` intervals from midnight, local time. A day that is missing had no records
(the appliance was off, or the history does not reach back so far); a day that is present with
zeros had no calls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["INTERVAL_S", "SLOTS", "IntervalFigures", "QueueHistory", "slot_label"]

INTERVAL_S = 900
SLOTS = 24 * 3600 // INTERVAL_S


def slot_label(slot: int) -> str:
    """'HH:MM', the interval's start."""
    return f"{slot * INTERVAL_S // 3600:02d}:{slot * INTERVAL_S % 3600 // 60:02d}"


@dataclass(frozen=True, slots=True)
class IntervalFigures:
    offered: int = 0  # entered the queue
    answered: int = 0
    abandoned: int = 0  # hung up while waiting, short abandons included
    waited_s: float = 0.0  # time waited by everyone who entered, however they left
    handled: int = 0  # conversations completed
    handle_s: float = 0.0  # their talk and wrap-up
    # The KPIs' service level and abandon rate (docs/kpis.md, variant A): answered in the
    # target, over answered + abandoned (short abandons left out) + timed out.
    answered_in_sl: int = 0
    long_abandoned: int = 0
    timed_out: int = 0


EMPTY = IntervalFigures()


@dataclass(frozen=True, slots=True)
class QueueHistory:
    queue: str
    days: Mapping[dt.date, tuple[IntervalFigures, ...]] = field(default_factory=dict)

    def __post_init__(self):
        for day, slots in self.days.items():
            if len(slots) != SLOTS:
                raise ValueError(f"history of queue {self.queue!r}, {day}: {len(slots)} "
                                 f"intervals; a day has {SLOTS} of {INTERVAL_S // 60} minutes")

    @classmethod
    def from_intervals(cls, queue: str,
                       items: Iterable[tuple[dt.date, int, IntervalFigures]],
                       days: Iterable[dt.date] = ()) -> QueueHistory:
        """From (day, slot, figures) triples; ``days`` lists days with records but maybe no
        call in this queue (they count as zeros, not as missing)."""
        table: dict[dt.date, list[IntervalFigures]] = {d: [EMPTY] * SLOTS for d in days}
        for day, slot, figures in items:
            table.setdefault(day, [EMPTY] * SLOTS)[slot] = figures
        return cls(queue, {d: tuple(v) for d, v in sorted(table.items())})

    def offered(self, day: dt.date) -> list[float]:
        return [float(f.offered) for f in self.days[day]]

    def before(self, cutoff: dt.date) -> QueueHistory:
        return QueueHistory(self.queue, {d: v for d, v in self.days.items() if d < cutoff})
