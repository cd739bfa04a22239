"""The menus' funnel over a year of a branch's calls: how long the reports take.

A year is 365 days of the sample branch's day (``scenario_day.yaml``: 505 calls from 09:00
to 17:00), every day, so an upper bound for a branch. The calls' IVR paths are real: 600
seeded random callers through the sample bank flow on the IVR harness
(``tests/support/ivr_traffic.py``), one in twenty of them pressing the older callers' key
first, laid out over the year with callers from a pool of 5,000 numbers. They are written
through ``Records.append_many`` as the appliance writes them (visits and hourly sums
included), then each report runs on a fresh connection as the worker does; the median of
three runs is reported.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from ivr_traffic import DIALLED, calls, journeys

from branchline.firmware.records.database import Records
from branchline.firmware.web.insight import (
    Scope,
    compare,
    containment,
    funnel,
    person_reasons,
    repeats,
)

DAYS, PER_DAY, OFFSET = 365, 505, 8 * 3600
OLDER = 0.05  # the share of callers in the older callers' mode
BATCH = 5000


def _timed(db: Path, report) -> tuple[float, float]:
    """Median wall and CPU seconds of three runs (CPU: the machine may be shared)."""
    runs = []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        with Records(db) as records:
            report(records)
        runs.append((time.perf_counter() - t0, time.process_time() - c0))
    return (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))


def run() -> str:
    paths = journeys(600, seed=20261124, older=OLDER)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "records.db"
        t0 = time.perf_counter()
        with Records(db) as records:
            batch = []
            for record in calls(paths, days=DAYS, per_day=PER_DAY):
                batch.append(record)
                if len(batch) == BATCH:
                    records.append_many(batch)
                    batch = []
            records.append_many(batch)
            written = time.perf_counter() - t0
            n_calls = records.rows("SELECT count(*) FROM calls")[0][0]
            n_visits = records.rows("SELECT count(*) FROM ivr_visits")[0][0]
            n_hours = records.rows("SELECT count(*) FROM ivr_hours")[0][0]
            n_days = records.rows("SELECT count(*) FROM ivr_days")[0][0]
            first, last = records.rows("SELECT min(started_epoch), max(started_epoch) "
                                       "FROM calls")[0]
        # A period that does not fall on whole hours, as a page's dates in +08:00 do not.
        year = Scope(1, (DIALLED,), first - 1234.5, last + 1, OFFSET)
        older = Scope(1, (DIALLED,), first - 1234.5, last + 1, OFFSET, mode="older")
        half = (first + last) / 2
        before = Scope(1, (DIALLED,), first - 1, half, OFFSET)
        after = Scope(1, (DIALLED,), half, last + 1, OFFSET)
        figures = [
            ("funnel per node and edge", _timed(db, lambda r: funnel(r, year))),
            ("top reasons for a person", _timed(db, lambda r: person_reasons(r, year))),
            ("containment, 1 h window, per path and day",
             _timed(db, lambda r: containment(r, year, 3600))),
            ("repeat calls, 30 min window, per path",
             _timed(db, lambda r: repeats(r, year, 1800))),
            ("two halves side by side (same hours of the week)",
             _timed(db, lambda r: compare(r, before, after))),
            ("funnel, older callers only", _timed(db, lambda r: funnel(r, older))),
            ("containment, older callers only",
             _timed(db, lambda r: containment(r, older, 3600))),
        ]
    rows = "\n".join(f"| {name} | {wall * 1000:,.0f} ms | {cpu * 1000:,.0f} ms |"
                     for name, (wall, cpu) in figures)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"""## Menus' funnel (a year of a branch)

| figure | value |
|---|---|
| calls ({DAYS} days × {PER_DAY}) | {n_calls:,} |
| node visits stored | {n_visits:,} |
| hourly sums rows | {n_hours:,} |
| daily sums rows | {n_days:,} |
| writing them (append_many, {BATCH:,} a batch) | {written:.1f} s |
| load average (1, 5, 15 min) when the reports ran | {load} |

| report over the year | wall | CPU |
|---|---|---|
{rows}

Measured by `bench/funnel.py` (`make bench ONLY=funnel`): generated calls with real IVR
paths (600 seeded random callers through the sample bank flow), written as the appliance
writes them; each report on a fresh connection, median of 3; CPU is the process's own
time (wall grows when other work shares the cores). The year's period starts and
ends inside an hour, so the funnel reads the daily sums, the hourly sums at either end
and the raw visits (the comparison, which keeps some hours of the week, reads the hours).
Containment and repeats read each call's stored time to its number's next call and next
person (records schema v7), one pass over the year's calls.
"""
