"""Rosters: validated against the configuration, versioned, counted per interval, and checked
through simulate."""

import datetime as dt
from importlib import resources
from zoneinfo import ZoneInfo

import pytest
from planning_history import generate, queue_events

from branchline.acd.planning import Calendar
from branchline.config.data_dir import DataDir
from branchline.config.document.loading import check_document, open_config_store
from branchline.config.store.errors import ConfigRefused
from branchline.firmware.planning import make_plan
from branchline.firmware.planning.check import check_roster_day, roster_scenario
from branchline.firmware.planning.roster import check_roster, open_roster_store, scheduled
from branchline.firmware.records.cdr import acd_row
from branchline.firmware.records.database import Records
from branchline.hw import load_scenario

DAY = dt.date(2026, 11, 24)
ROSTER = """
shifts:
  - {agent: "1001", day: 2026-11-24, start: "09:00", end: "17:00",
     breaks: [{start: "12:00", end: "12:30"}]}
  - {agent: "1002", day: 2026-11-24, start: "09:00", end: "13:00"}
  - {agent: "1003", day: 2026-11-25, start: "09:00", end: "17:00"}
"""


@pytest.fixture(scope="module")
def branch(tmp_path_factory):
    data = DataDir(tmp_path_factory.mktemp("roster"))
    document = check_document(open_config_store(data).current().text)[0]
    history = generate(dt.date(2026, 9, 21), 63, Calendar(), seed=2, base=2.0)
    with Records(data.records_db) as records:
        records.append_many(acd_row(e, 0.0)
                            for e in queue_events(history, ZoneInfo("Asia/Shanghai")))
    return data, document


def test_a_roster_is_checked_against_the_configuration(branch):
    _, document = branch
    agents = {a.id for a in document.acd.agents}
    roster, report = check_roster(ROSTER, agents)
    assert not report.errors and len(roster.shifts) == 3
    bad = ROSTER.replace('"1003"', '"1009"').replace('"13:00"', '"08:00"') + \
        '  - {agent: "1001", day: 2026-11-24, start: "16:00", end: "18:00", breaks: ' \
        '[{start: "19:00", end: "19:30"}]}\n'
    roster, report = check_roster(bad, agents)
    assert roster is None
    assert report.errors == [
        "shifts.1: the shift 09:00-08:00 ends before it starts; the end must be later than the "
        "start",
        "shifts.2.agent: no agent '1009' in the configuration; use one of 1001, 1002, 1003",
        "shifts.3.breaks.0: the break 19:00-19:30 is not inside the shift 16:00-18:00; move it "
        "inside",
        "shifts.3: agent 1001's shift 16:00-18:00 on 2026-11-24 overlaps shifts.0; one agent "
        "works one shift at a time",
    ]
    _, report = check_roster("shifts: [{agent: '1001', day: 2026-11-24, start: 9, end: "
                             "'17:00'}]", agents)
    assert report.errors == ["shifts.0.start: 9 is not a time of day; write 'HH:MM' in quotes, "
                             "e.g. '12:30' (got 9)"]


def test_rosters_are_versioned_and_a_bad_one_changes_nothing(branch):
    data, document = branch
    store = open_roster_store(data, document)
    first = store.publish(ROSTER, who="planner", note="week 48", base=None)
    with pytest.raises(ConfigRefused, match="no agent '1009'"):
        store.publish(ROSTER.replace('"1003"', '"1009"'), who="planner", note="x", base=1)
    assert store.current().info.number == first.info.number == 1
    assert (data.rosters / "versions" / "000001.yaml").read_text() == ROSTER
    store.publish(ROSTER.replace('"13:00"', '"15:00"'), who="planner", note="longer", base=1)
    store.rollback(1, who="planner")
    assert store.current().text == ROSTER and store.current().info.number == 3


def test_agents_scheduled_per_interval():
    roster, _ = check_roster(ROSTER, {"1001", "1002", "1003"})
    on = scheduled(roster, DAY)
    assert on[35] == 0 and on[36] == 2  # 08:45, 09:00
    assert on[48] == on[49] == 1  # 12:00-12:30: 1001 on break
    assert on[50] == 2 and on[52] == 1 and on[68] == 0  # 12:30; 13:00; 17:00


def test_the_roster_check_runs_the_day_through_simulate(branch):
    data, document = branch
    roster, _ = check_roster(ROSTER, {a.id for a in document.acd.agents})
    plan = make_plan(data, document, DAY)
    template = load_scenario(resources.files("branchline.config") / "defaults" /
                             "scenario_day.yaml")
    scenario = roster_scenario(plan, roster, template, document)
    assert [a.id for a in scenario.agents.roster] == ["1001", "1002"]
    assert scenario.agents.roster[0].shift.breaks[0].start == 12 * 3600
    general = plan.queues[0].forecast
    assert scenario.arrivals.per_hour[10] == pytest.approx(sum(general.calls[40:44]), abs=1e-3)
    assert set(scenario.callers.goals) == {"agent"}
    rows = check_roster_day(data, document, plan, roster, template, hours=0.5)
    assert [r.slot for r in rows] == [36, 37]
    assert all(r.scheduled == 2 and r.gap == 2 - r.needed for r in rows)
    assert all(r.sl_a is not None and r.sl_c <= r.sl_a for r in rows)
    assert sum(r.sl_sim is not None for r in rows) >= 1
    # The appliance's own records are untouched: the check simulates in its own directory.
    assert (data.plan_check / "records.db").exists()
