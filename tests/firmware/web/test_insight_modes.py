"""The menus' reports per caller mode: the older callers' calls and the others', each equal
to what their raw paths say, and together the report of every call.

A call is in the older callers' mode when its path has a ``mode`` step (the mode came on at
some moment of the call: a number on the list, the key in the first menu, the bank host).
Generated traffic (tests/support/ivr_traffic.py) where a fifth of the callers press the
older callers' key first goes through a real records database; the periods start and end
inside an hour, so the hourly sums and the raw visits are both read.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import replace
from itertools import pairwise

import pytest
from funnel_reference import OFFSET, call_path, chosen, later_calls, reference_funnel
from ivr_traffic import DIALLED, calls, journeys

from branchline.config.web.link import Refused
from branchline.firmware.records.database import Records
from branchline.firmware.records.visits import visits
from branchline.firmware.web.insight import (
    MenuReports,
    Scope,
    compare,
    containment,
    funnel,
    person_reasons,
    repeats,
)


def is_older(record):
    return any(step.what == "mode" for step in record.ivr_path)


def of_mode(records, mode):
    return [r for r in records if mode is None or is_older(r) == (mode == "older")]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    paths = journeys(300, seed=5, older=0.2)
    records = list(calls(paths, days=5, per_day=80, seed=4, callers=120))
    path = tmp_path_factory.mktemp("modes") / "records.db"
    with Records(path) as r:
        r.append_many(records)
    return path, records


def scope_of(records, mode):
    first = min(r.started_at for r in records)
    return Scope(1, (DIALLED,), first + 1800.5, first + 4 * 86400 + 777.25, OFFSET, mode=mode)


@pytest.mark.parametrize("mode", ["older", "standard"])
def test_each_mode_has_the_funnel_its_raw_paths_give(db, mode):
    path, records = db
    scope = scope_of(records, mode)
    mine = of_mode(records, mode)
    with Records(path) as r:
        got = funnel(r, scope)
    nodes, edges = reference_funnel(mine, replace(scope, mode=None))
    assert got["calls"] == len(chosen(mine, scope)) > 40
    assert {n["node"]: n for n in got["nodes"]} == nodes
    assert {(e["source"], e["target"]): e["visits"] for e in got["edges"]} == dict(edges)


def test_the_two_modes_add_up_to_every_call(db):
    path, records = db
    with Records(path) as r:
        both = [funnel(r, scope_of(records, mode)) for mode in ("older", "standard")]
        every = funnel(r, scope_of(records, None))
    assert both[0]["calls"] + both[1]["calls"] == every["calls"]
    entered = Counter()
    for side in both:
        entered.update({n["node"]: n["entered"] for n in side["nodes"]})
    assert entered == {n["node"]: n["entered"] for n in every["nodes"]}
    # The older callers chose their mode by the key in the first menu: it is their way in.
    older_start = {n["node"]: n for n in both[0]["nodes"]}["language_menu"]
    assert older_start["calls"] == both[0]["calls"]


@pytest.mark.parametrize("mode", ["older", "standard"])
def test_each_mode_has_the_containment_repeats_and_reasons_of_its_calls(db, mode):
    path, records = db
    first = min(r.started_at for r in records)
    scope = Scope(1, (DIALLED,), first - 10, first + 5 * 86400, OFFSET, mode=mode)
    mine = chosen(of_mode(records, mode), scope)
    with Records(path) as r:
        got_c = containment(r, scope, 3600)
        got_r = repeats(r, scope, 1800)
        got_p = person_reasons(r, scope, top=50)
    per_path = defaultdict(lambda: [0, 0, 0, 0])
    reasons = Counter()
    for c in mine:
        served = str(c.outcome) == "self-served" and c.queue is None
        # Later calls of the same number count whatever their mode.
        person_later = any(o.queue is not None or str(o.outcome) == "transferred"
                           for o in later_calls(records, c, 3600))
        row = per_path[call_path(c)]
        row[0] += 1
        row[1] += served
        row[2] += served and not person_later
        row[3] += bool(later_calls(records, c, 1800))
        for v, after in pairwise(visits(c.ivr_path)):
            if after.kind in ("queue", "transfer"):
                reasons[(v.node, v.exit)] += 1
                break
    assert {p["path"]: [p["calls"], p["served"], p["contained"]] for p in got_c["paths"]} \
        == {k: v[:3] for k, v in per_path.items()}
    assert {p["path"]: p["repeated"] for p in got_r["paths"]} \
        == {k: v[3] for k, v in per_path.items()}
    assert {(x["node"], x["exit"]): x["calls"] for x in got_p["reasons"]} == dict(reasons)
    assert got_c["calls"] == len(mine) > 40
    local = dt.timezone(dt.timedelta(seconds=OFFSET))
    per_day = Counter(dt.datetime.fromtimestamp(c.started_at, local).date().isoformat()
                      for c in mine)
    assert {d["day"]: d["calls"] for d in got_c["days"]} == dict(per_day)
    assert got_r["repeated"] > 0


def test_two_versions_compared_for_one_mode(db):
    path, records = db
    first = min(r.started_at for r in records)
    scope = Scope(1, (DIALLED,), first - 10, first + 5 * 86400, OFFSET, mode="older")
    with Records(path) as r:
        got = compare(r, scope, scope)
    assert got["mode"] == "older"
    assert got["calls_before"] == got["calls_after"] == len(chosen(of_mode(records, "older"),
                                                                   scope))


def test_an_unknown_mode_is_refused_with_the_ones_there_are(tmp_path):
    reports = MenuReports(tmp_path / "records.db", None, worker=None)
    with pytest.raises(Refused, match="caller mode 'elder': give one of older, standard"):
        reports.scope(1, [DIALLED], 0.0, 3600.0, "elder")


def test_a_comparison_reads_whole_days_where_every_call_fell_in_the_shared_hours(tmp_path):
    # v1 answers 09:00-17:00 for a week, v2 13:00-17:00 the next: the shared hours are
    # 13:00-17:00, so every day of v2 is read from the daily sums, v1's from the hours.
    paths = journeys(200, seed=6)
    records = [*calls(paths, days=7, per_day=50, seed=7, version=1, callers=90),
               *calls(paths, days=7, per_day=30, seed=8, version=2, callers=90, prefix="w",
                      first_day=dt.date(2026, 1, 12), hours=(13, 17))]
    path = tmp_path / "records.db"
    with Records(path) as r:
        r.append_many(records)
    start, end = min(c.started_at for c in records) - 7.5, max(c.started_at for c in records) + 1
    before, after = (Scope(v, (DIALLED,), start, end, OFFSET) for v in (1, 2))
    with Records(path) as r:
        got = compare(r, before, after)
    shared = tuple(got["week_hours"])
    assert len(shared) == 7 * 4
    rows = {n["node"]: n for n in got["nodes"]}
    for label, scope in (("before", before), ("after", after)):
        nodes, _ = reference_funnel(records, replace(scope, week_hours=shared))
        for name, want in nodes.items():
            for key in ("calls", "entered", "hang_up_rate", "escalation_rate", "median_s",
                        "p90_s"):
                assert rows[name][f"{key}_{label}"] == want[key], (label, name, key)
    assert got["calls_after"] == 7 * 30
    assert 0 < got["calls_before"] < 7 * 50
