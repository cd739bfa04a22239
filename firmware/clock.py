"""Clocks for the runtime, and the one timer heap every engine's timers live in.

Contract: a clock has ``now() -> float`` (seconds on the loop's clock, never decreasing) and
``wall(now) -> datetime`` (the site's wall clock, time-zone aware, for that loop time).

* ``VirtualClock(start, zone)``: tests and ``simulate``. Time moves only by ``advance(dt)``;
  nothing sleeps. ``start`` is the wall-clock datetime of loop time 0 (the scenario's day).
* ``MonotonicClock(zone)``: ``run``. Loop time is ``time.monotonic()``; the wall clock is
  the system's, taken once at start and carried forward by the monotonic clock so a step of
  the system clock (NTP) never moves call timers.

``TimerHeap`` keeps ``(deadline, owner, name)`` with lazy cancellation: ``schedule`` replaces a
timer of the same owner and name, ``cancel`` forgets it, ``due(now)`` pops every live timer
whose deadline has come, earliest first (ties in scheduling order).
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import time
from zoneinfo import ZoneInfo

__all__ = ["MonotonicClock", "TimerHeap", "VirtualClock"]


class VirtualClock:
    """Loop time that moves only when told to (see the module docstring)."""

    def __init__(self, start: dt.datetime, *, now: float = 0.0):
        if start.tzinfo is None:
            raise ValueError(f"VirtualClock: start {start.isoformat()} has no time zone; "
                             "pass an aware datetime, e.g. with ZoneInfo('Asia/Shanghai')")
        self._start = start
        # Whole microseconds, so a day of 20 ms steps adds up exactly (no float drift).
        self._us = round(now * 1e6)

    def now(self) -> float:
        return self._us / 1e6

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError(f"VirtualClock.advance: {seconds} s; time only moves forward")
        self._us += round(seconds * 1e6)
        return self._us / 1e6

    def wall(self, now: float) -> dt.datetime:
        return self._start + dt.timedelta(seconds=now)


class MonotonicClock:
    """Real time for ``branchline run`` (see the module docstring)."""

    def __init__(self, zone: ZoneInfo):
        self._mono0 = time.monotonic()
        self._wall0 = dt.datetime.now(zone)

    def now(self) -> float:
        return time.monotonic()

    def wall(self, now: float) -> dt.datetime:
        return self._wall0 + dt.timedelta(seconds=now - self._mono0)


class TimerHeap:
    """One heap of (deadline, owner, name) timers with lazy cancellation."""

    def __init__(self):
        self._heap: list[tuple[float, int, object, str]] = []
        self._live: dict[tuple[object, str], int] = {}
        self._seq = itertools.count()

    def schedule(self, deadline: float, owner: object, name: str) -> None:
        seq = next(self._seq)
        self._live[(owner, name)] = seq
        heapq.heappush(self._heap, (deadline, seq, owner, name))

    def cancel(self, owner: object, name: str) -> None:
        self._live.pop((owner, name), None)

    def cancel_owner(self, owner: object, names) -> None:
        for name in names:
            self._live.pop((owner, name), None)

    def next_deadline(self) -> float | None:
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def due(self, now: float) -> list[tuple[object, str]]:
        fired = []
        while True:
            self._drop_stale()
            if not self._heap or self._heap[0][0] > now:
                return fired
            _, _, owner, name = heapq.heappop(self._heap)
            del self._live[(owner, name)]
            fired.append((owner, name))

    def __len__(self) -> int:
        return len(self._live)

    def _drop_stale(self) -> None:
        heap = self._heap
        while heap and self._live.get((heap[0][2], heap[0][3])) != heap[0][1]:
            heapq.heappop(heap)
