"""Hold time in the records, on real SQLite files: the call's total with its record, each hold
in call_holds, a file from before kept with its calls (hold 0), the holds gone with their
call, bad holds refused, and the reports' average hold time per queue and per agent."""

import sqlite3

import pytest

from branchline.firmware.records.database import CallRecord, RecordRefused, Records
from branchline.firmware.records.holds import CallHold, hold_summary, holds_of
from branchline.firmware.records.schema import MIGRATIONS, SCHEMA_VERSION
from branchline.firmware.records.types import RetentionPolicy

T0 = 1_795_000_000.0


def record(n, hold=0.0, queue="general", agent="1001", outcome="answered"):
    return CallRecord(call_id=f"c{n}", started_at=T0 + n, ended_at=T0 + n + 300,
                      caller="13912345678", dialled="075588880001", port="fxo1",
                      config_version=1, outcome=outcome, hangup_side="caller", queue=queue,
                      agent_id=agent, hold_seconds=hold)


def test_a_calls_hold_time_and_each_hold_are_stored(tmp_path):
    with Records(tmp_path / "records.db") as records:
        records.append_many([CallHold("c1", "1001", T0 + 10, T0 + 25),
                             CallHold("c1", "1002", T0 + 60, T0 + 65), record(1, hold=20.0),
                             record(2)])
        assert records.call("c1").hold_seconds == 20.0
        assert records.call("c2").hold_seconds == 0.0
        assert [(h.agent, h.seconds) for h in holds_of(records, "c1")] == [("1001", 15.0),
                                                                          ("1002", 5.0)]


def test_bad_holds_are_refused_saying_what_is_right():
    with pytest.raises(RecordRefused, match=r"ends \(.*\) before it starts"):
        CallHold("c1", "1001", T0 + 10, T0 + 5)
    with pytest.raises(RecordRefused, match="call_id is empty"):
        CallHold("", "1001", T0, T0 + 1)
    with pytest.raises(RecordRefused, match="hold_seconds"):
        record(1, hold=-1.0)


def test_an_older_file_gets_hold_time_and_keeps_its_calls(tmp_path):
    path = tmp_path / "records.db"
    raw = sqlite3.connect(path)
    for migration in MIGRATIONS[:-1]:
        for step in migration:
            raw.execute(step) if isinstance(step, str) else step(raw)
    raw.execute("INSERT INTO calls (call_id, started_epoch, started_utc, ended_epoch, "
                "ended_utc, caller, dialled, port, config_version, language, ivr_path, "
                "host_results, wait_seconds, talk_seconds, wrapup_seconds, outcome, "
                "hangup_side, hangup_reason) VALUES ('c1', ?, '', ?, '', '13912345678', "
                "'95566', 'fxo1', 1, 'zh', '[]', '{}', 0, 0, 0, 'self-served', 'caller', '')",
                (T0, T0 + 30))
    raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) - 1}")
    raw.commit()
    raw.close()
    with Records(path) as records:
        assert records.schema_version == SCHEMA_VERSION
        assert records.call("c1").hold_seconds == 0.0


def test_holds_go_with_their_call(tmp_path):
    with Records(tmp_path / "records.db") as records:
        records.append_many([CallHold("c1", "1001", T0 + 10, T0 + 25), record(1, hold=15.0)])
        records.expire(T0 + 400 * 86400, RetentionPolicy(calls_days=365))
        assert records.call("c1") is None
        assert holds_of(records, "c1") == []


def test_the_reports_average_hold_per_answered_call_queue_and_agent(tmp_path):
    with Records(tmp_path / "records.db") as records:
        records.append_many([
            CallHold("c1", "1001", T0 + 10, T0 + 40), record(1, hold=30.0),
            CallHold("c2", "1002", T0 + 10, T0 + 20), record(2, hold=10.0, agent="1002"),
            record(3), record(4, queue="vip"),
            record(5, outcome="abandoned-in-queue", agent=None, hold=0.0)])
        summary = hold_summary(records, T0, T0 + 86400)
    assert (summary["answered"], summary["held"], summary["hold_s"]) == (4, 2, 40.0)
    assert summary["average_hold_s"] == 10.0 and summary["average_hold_held_s"] == 20.0
    assert summary["queues"]["general"]["average_hold_s"] == round(40 / 3, 1)
    assert summary["queues"]["vip"]["average_hold_s"] == 0.0
    assert summary["agents"] == {"1001": {"holds": 1, "hold_s": 30.0, "average_hold_s": 30.0},
                                 "1002": {"holds": 1, "hold_s": 10.0, "average_hold_s": 10.0}}
