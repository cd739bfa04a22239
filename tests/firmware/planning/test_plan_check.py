"""`branchline plan check` as a user runs it: a roster tested on a day to come through the
event-mode simulator, and on a day the records hold, with what happened beside it."""

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from planning_history import generate, queue_events
from runtime_harness import prompts_dir  # noqa: F401 - fixture

from branchline.acd.planning import Calendar, slot_label
from branchline.config.data_dir import DataDir
from branchline.config.document.loading import check_document, open_config_store
from branchline.firmware.planning.roster import open_roster_store
from branchline.firmware.records.cdr import acd_row
from branchline.firmware.records.database import Records

BRANCHLINE = Path(sys.executable).with_name("branchline")
PAST = dt.date(2026, 11, 17)  # a Tuesday the generated records hold
COMING = dt.date(2026, 11, 24)
SHIFTS = """
  - {{agent: "1001", day: {day}, start: "09:00", end: "12:00"}}
  - {{agent: "1002", day: {day}, start: "09:00", end: "10:00"}}
"""


@pytest.fixture(scope="module")
def branch(tmp_path_factory, prompts_dir):  # noqa: F811
    data = DataDir(tmp_path_factory.mktemp("plan-check"))
    document = check_document(open_config_store(data).current().text)[0]
    history = generate(dt.date(2026, 9, 21), 58, Calendar(), seed=3, base=2.0)
    with Records(data.records_db) as records:
        records.append_many(acd_row(e, 0.0)
                            for e in queue_events(history, ZoneInfo("Asia/Shanghai")))
    # On the past day 1001 has a break the records never saw: deviations to list.
    past = SHIFTS.format(day=PAST).replace(
        'end: "12:00"}', 'end: "12:00", breaks: [{start: "10:00", end: "10:30"}]}')
    roster = "shifts:" + past + SHIFTS.format(day=COMING)
    open_roster_store(data, document).publish(roster, who="planner", note="two days", base=None)
    shutil.copytree(prompts_dir / "prompts", data.plan_check / "prompts")
    return data, history


def plan_check(data, *args):
    return subprocess.run([str(BRANCHLINE), "plan", "check", "--data", str(data.root), *args],
                          capture_output=True, text=True, timeout=600)


def rows(stdout):
    return {line.split()[0]: line.split() for line in stdout.splitlines()[2:]}


def test_a_day_to_come_is_checked_through_the_simulator(branch):
    data, _ = branch
    done = plan_check(data, "--day", str(COMING))
    assert done.returncode == 0, done.stderr[-2000:]
    title, head, *_ = done.stdout.splitlines()
    assert title.startswith(f"roster v1 on {COMING} (tue): forecast and Erlang per interval, "
                            "simulated in event mode")
    assert head.split() == ["interval", "calls", "Erl", "C", "Erl", "A", "need", "sched",
                            "gap", "SL", "C", "SL", "A", "ab", "A", "SL", "sim", "ab", "sim"]
    table = rows(done.stdout)
    assert table["09:00"][5] == "2" and table["10:00"][5] == "1" and table["12:00"][5] == "0"
    for cells in table.values():
        assert int(cells[6]) == int(cells[5]) - int(cells[4])  # gap = scheduled - needed
        assert int(cells[2]) >= int(cells[3])  # Erlang C never asks for fewer than Erlang A
    assert any(cells[10] != "-" for cells in table.values())  # the simulator answered calls
    assert "|" not in done.stdout  # nothing happened yet on a day to come


def test_a_past_day_shows_what_happened_beside_the_check(branch):
    data, history = branch
    done = plan_check(data, "--day", str(PAST), "--seed", "5")
    assert done.returncode == 0, done.stderr[-2000:]
    table = rows(done.stdout)
    offered = [f.offered for f in history.days[PAST]]
    for label, cells in table.items():
        slot = next(s for s in range(len(offered)) if slot_label(s) == label)
        assert cells[12] == "|" and int(cells[13]) == offered[slot], label
    assert any(cells[14] != "-" for cells in table.values())


def test_a_roster_version_that_does_not_exist_is_refused_with_the_versions(branch):
    data, _ = branch
    done = plan_check(data, "--day", str(COMING), "--roster", "7")
    assert done.returncode == 2
    assert done.stderr == "branchline plan: no roster version 7; the versions are 1..1\n"
    done = plan_check(data, "--day", "2026-12-01")
    assert done.returncode == 2
    assert done.stderr == ("branchline plan: roster v1 has no shift on 2026-12-01; add the "
                           "day's shifts or pick another --day\n")


def test_adherence_of_a_past_day_per_agent_and_the_largest_deviations(branch):
    data, _ = branch
    done = subprocess.run([str(BRANCHLINE), "plan", "adherence", "--day", str(PAST), "--worst",
                           "3", "--data", str(data.root)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0] == f"adherence on {PAST}, roster v1"
    agents = [line.split(":")[0] for line in lines if line.startswith("agent ")]
    assert agents == ["agent 1001", "agent 1002"]
    slots = lines[lines.index(next(x for x in lines if x.startswith("agent 1001"))) + 1].split()
    assert slots[0::2] == [slot_label(s) for s in range(36, 48)]  # 09:00-12:00
    deviations = lines[lines.index("largest deviations (3 at most):") + 1:]
    assert len(deviations) == 2, done.stdout  # the two intervals of the break
    assert [d.split()[0] for d in deviations] == ["10:00", "10:15"]
    assert all("scheduled 0 s on the phones, 900 s break" in d for d in deviations)
