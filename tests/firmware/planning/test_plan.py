"""The plan from a real records.db: a generated history written as ACD events, read back,
forecast and staffed; and `branchline plan show` as a process on the same data directory."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from planning_history import GOLDEN_WEEK, SHRINKAGE, generate, queue_events

from branchline.config.data_dir import DataDir
from branchline.config.document.loading import check_document, open_config_store
from branchline.firmware.planning import calendar_of, make_plan, read_history
from branchline.firmware.records.cdr import acd_row
from branchline.firmware.records.database import Records

ZONE = ZoneInfo("Asia/Shanghai")
START = dt.date(2026, 8, 24)  # a Monday; eight weeks to Sunday 18 October
MONDAY = dt.date(2026, 10, 19)


@pytest.fixture(scope="module")
def branch(tmp_path_factory):
    data = DataDir(tmp_path_factory.mktemp("plan"))
    document = check_document(open_config_store(data).current().text)[0]
    history = generate(START, 56, GOLDEN_WEEK, seed=4)
    with Records(data.records_db) as records:
        records.append_many(acd_row(e, 0.0) for e in queue_events(history, ZONE))
    return data, document, history


def test_the_history_read_back_is_the_history_written(branch):
    data, document, written = branch
    read = read_history(data, document, START, MONDAY)
    assert read.calendar == GOLDEN_WEEK == calendar_of(document)
    general = read.queues["general"]
    assert sorted(general.days) == sorted(written.days)
    for day in (START, dt.date(2026, 10, 10), dt.date(2026, 10, 18)):
        assert general.offered(day) == written.offered(day)
        got, want = general.days[day][41], written.days[day][41]
        assert (got.answered, got.abandoned) == (want.answered, want.abandoned)
        assert got.waited_s == pytest.approx(want.waited_s, abs=1e-3)
        # A conversation counts where it ends (the KPIs' attribution): compare the day.
        assert sum(f.handled for f in general.days[day]) == \
            sum(f.handled for f in written.days[day])
        assert sum(f.handle_s for f in general.days[day]) == pytest.approx(
            sum(f.handle_s for f in written.days[day]), abs=1e-2)
    assert set(read.queues["vip"].days) == set(written.days)  # days with records, no calls
    assert sum(read.queues["vip"].offered(START)) == 0


def test_a_plan_for_the_monday_after_the_golden_week(branch):
    data, document, _ = branch
    plan = make_plan(data, document, MONDAY)
    assert plan.kind == "mon" and plan.history_days == 56
    assert plan.shrinkage == pytest.approx(SHRINKAGE, rel=1e-6)
    general = next(q for q in plan.queues if q.queue == "general")
    assert dt.date(2026, 10, 5) not in general.forecast.basis
    peak = general.staffing[41]
    assert peak.calls > 25 and peak.erlang_a <= peak.erlang_c
    assert peak.on_shift == -(-peak.erlang_a * 1e6 // round((1 - SHRINKAGE) * 1e6))
    assert general.accuracy.wape < general.accuracy.naive_wape


def _branchline(*args, data):
    env = {**os.environ, "BRANCHLINE_DATA": str(data.root)}
    exe = Path(sys.executable).with_name("branchline")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def test_plan_show_as_a_command(branch):
    data, _, _ = branch
    done = _branchline("plan", "show", "--day", "2026-10-19", "--queue", "general", data=data)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "plan for 2026-10-19 (mon), from 56 days of records; shrinkage 6.2 %" in out
    assert "queue general: target 80 % in 20 s" in out and "queue vip" not in out
    assert "\n  10:15 " in out and "\n  03:00 " not in out
    assert "naive (last same weekday)" in out
    bad = _branchline("plan", "show", "--day", "19/10/2026", data=data)
    assert bad.returncode == 2 and "write it as YYYY-MM-DD" in bad.stderr
    unknown = _branchline("plan", "show", "--queue", "loans", data=data)
    assert unknown.returncode == 2
    assert "no queue 'loans'; the queues are general, vip" in unknown.stderr
