"""The menus' funnel, containment, reasons and repeats equal what the raw paths say.

Generated traffic (real IVR paths through the sample bank flow, tests/support/ivr_traffic.py)
is written to a real records database; every figure is then recomputed here, in plain
Python, from the calls' stored paths, and must be equal. The periods start and end inside an
hour, so the reports read the hourly sums and the raw visits both.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from itertools import pairwise

import pytest
from funnel_reference import (
    OFFSET,
    call_path,
    chosen,
    later_calls,
    reference_funnel,
    week_hour,
)
from ivr_traffic import DIALLED, calls, journeys

from branchline.firmware.records.database import Records
from branchline.firmware.records.visits import visits
from branchline.firmware.web.insight import (
    Scope,
    compare,
    containment,
    funnel,
    person_reasons,
    repeats,
)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    paths = journeys(300, seed=11)
    # Two versions: v1 for a week from Monday, v2 the next week and open 13:00-20:00 (v1
    # 09:00-17:00: four hours a day in common); a second line on v1 that
    # the funnel of the first line must not count; few callers, so that many call again.
    records = [*calls(paths, days=7, per_day=60, seed=1, version=1, callers=150),
               *calls(paths[::2], days=7, per_day=20, seed=2, version=1, callers=150,
                      dialled="075588880009", prefix="z"),
               *calls(paths[1::2], days=7, per_day=60, seed=3, version=2, callers=150,
                      prefix="w", first_day=dt.date(2026, 1, 12), hours=(13, 20))]
    path = tmp_path_factory.mktemp("insight") / "records.db"
    with Records(path) as r:
        r.append_many(records)
    return path, records


def test_the_funnel_equals_the_one_recomputed_from_the_raw_paths(db):
    path, records = db
    first = min(r.started_at for r in records)
    scope = Scope(1, (DIALLED,), first + 1800.5, first + 5 * 86400 + 1234.5, OFFSET)
    with Records(path) as r:
        got = funnel(r, scope)
    nodes, edges = reference_funnel(records, scope)
    assert got["calls"] == len(chosen(records, scope)) > 200
    assert {n["node"]: n for n in got["nodes"]} == nodes
    assert {(e["source"], e["target"]): e["visits"] for e in got["edges"]} == dict(edges)
    # Every visit left its node one way: the exits add up to the entries.
    assert all(sum(n["exits"].values()) == n["entered"] for n in got["nodes"])
    assert nodes["main_menu"]["hung_up"] and nodes["main_menu"]["escalated"]


def test_a_period_inside_one_hour_reads_the_visits_alone(db):
    path, records = db
    first = min(r.started_at for r in records)
    scope = Scope(1, (DIALLED,), first, first + 1500, OFFSET)
    with Records(path) as r:
        got = funnel(r, scope)
    assert {n["node"]: n for n in got["nodes"]} == reference_funnel(records, scope)[0]


def test_containment_per_path_and_day_equals_the_raw_calls(db):
    path, records = db
    first = min(r.started_at for r in records)
    scope = Scope(1, (DIALLED,), first - 10, first + 7 * 86400, OFFSET)
    window = 3600
    with Records(path) as r:
        got = containment(r, scope, window)
    per_path = defaultdict(lambda: [0, 0, 0])
    for c in chosen(records, scope):
        served = str(c.outcome) == "self-served" and c.queue is None
        person_later = any(o.queue is not None or str(o.outcome) == "transferred"
                           for o in later_calls(records, c, window))
        row = per_path[call_path(c)]
        row[0] += 1
        row[1] += served
        row[2] += served and not person_later
    assert {p["path"]: [p["calls"], p["served"], p["contained"]] for p in got["paths"]} \
        == dict(per_path)
    assert {"balance_said", "loss_said", "branch_info"} <= set(per_path)
    assert sum(d["calls"] for d in got["days"]) == got["calls"] == len(chosen(records, scope))
    assert len(got["days"]) == 7
    # Some served callers did call back for a person: containment is below served.
    assert got["contained"] < got["served"]


def test_repeat_calls_per_path_equal_the_raw_calls(db):
    path, records = db
    first = min(r.started_at for r in records)
    scope = Scope(1, (DIALLED,), first - 10, first + 7 * 86400, OFFSET)
    with Records(path) as r:
        got = repeats(r, scope, 1800)
    per_path = defaultdict(lambda: [0, 0])
    for c in chosen(records, scope):
        per_path[call_path(c)][0] += 1
        per_path[call_path(c)][1] += bool(later_calls(records, c, 1800))
    assert {p["path"]: [p["calls"], p["repeated"]] for p in got["paths"]} == dict(per_path)
    assert got["repeated"] > 0


def test_top_reasons_for_a_person_are_the_first_step_into_a_queue(db):
    path, records = db
    first = min(r.started_at for r in records)
    scope = Scope(1, (DIALLED,), first + 600.25, first + 6 * 86400, OFFSET)
    with Records(path) as r:
        got = person_reasons(r, scope, top=50)
    want = Counter()
    for c in chosen(records, scope):
        found = visits(c.ivr_path)
        for v, after in pairwise(found):
            if after.kind in ("queue", "transfer"):
                want[(v.node, v.exit)] += 1
                break
    assert {(x["node"], x["exit"]): x["calls"] for x in got["reasons"]} == dict(want)
    assert got["calls"] == sum(want.values())
    counts = [x["calls"] for x in got["reasons"]]
    assert counts == sorted(counts, reverse=True)


def test_two_versions_side_by_side_over_the_hours_of_the_week_both_had(db):
    path, records = db
    start, end = min(r.started_at for r in records) - 10, max(r.started_at for r in records) + 1
    before = Scope(1, (DIALLED,), start, end, OFFSET)
    after = Scope(2, (DIALLED,), start, end, OFFSET)
    with Records(path) as r:
        got = compare(r, before, after)
    hours = ({week_hour(c.started_at) for c in chosen(records, before)}
             & {week_hour(c.started_at) for c in chosen(records, after)})
    assert set(got["week_hours"]) == hours
    assert len(hours) == 7 * 4
    shared_before = Scope(1, (DIALLED,), start, end, OFFSET, tuple(hours))
    nodes, _ = reference_funnel(records, shared_before)
    row = next(n for n in got["nodes"] if n["node"] == "main_menu")
    assert row["hang_up_rate_before"] == nodes["main_menu"]["hang_up_rate"]
    assert row["entered_before"] == nodes["main_menu"]["entered"]
    assert got["calls_before"] == len(chosen(records, shared_before))
