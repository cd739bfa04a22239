"""Reconciliation at start: every call the last run lost gets a record, every queue entry and
agent it left open is closed, the KPIs from the log agree with the records, and a second run
writes nothing. Real SQLite files and a real recordings folder."""

import sqlite3

from branchline.acd import QueueEvent, QueueEventKind, kpis_from_log
from branchline.firmware.records.cdr import acd_row, queue_event
from branchline.firmware.records.database import (
    AgentStateChange,
    CallOpened,
    CallRecord,
    Records,
)
from branchline.firmware.records.quality import QUALITY_COLUMNS
from branchline.firmware.records.reconcile import reconcile
from branchline.firmware.records.rows import row_for
from branchline.firmware.records.schema import MIGRATIONS

T0 = 1_795_000_000.0
K = QueueEventKind


def ev(t, kind, call_id="", **fields):
    return acd_row(QueueEvent(t, kind, call_id, **fields), T0)


def record(call_id, outcome, **fields):
    return CallRecord(call_id=call_id, started_at=T0, ended_at=T0 + 100, caller="13900000001",
                      dialled="95566", port="fxo1", config_version=1, outcome=outcome,
                      hangup_side="caller", **fields)


def opened(call_id, at, caller="13900000002"):
    return CallOpened(call_id, T0 + at - 5, T0 + at, caller, "95566", "fxo2", 3)


def crashed_run(records, data_dir):
    """What a run that died mid-traffic leaves: boot 'b1', last sign of life at T0 + 200."""
    records.append_many([
        # finished and recorded: must be left alone
        opened("b1-000001", 10),
        ev(20, K.ENTERQUEUE, "b1-000001", queue="general", detail="13900000001"),
        ev(25, K.CONNECT, "b1-000001", queue="general", agent_id="1001", wait_s=5.0),
        ev(90, K.COMPLETECALLER, "b1-000001", queue="general", agent_id="1001", talk_s=65.0),
        record("b1-000001", "answered", queue="general", agent_id="1001"),
        # answered, died in the menus before any queue
        opened("b1-000002", 150, caller=""),
        # waiting in the queue
        opened("b1-000003", 100),
        ev(110, K.ENTERQUEUE, "b1-000003", queue="general", priority_class="normal",
           detail="13900000003"),
        ev(130, K.RINGNOANSWER, "b1-000003", queue="general", agent_id="1002", ring_s=15.0),
        # talking to an agent; its open row was lost with the crash
        ev(120, K.ENTERQUEUE, "b1-000004", queue="general", detail="13900000004"),
        ev(140, K.CONNECT, "b1-000004", queue="general", agent_id="1001", wait_s=20.0),
        # asked for a call back and hung up (recorded); the call back was still to come
        ev(150, K.ENTERQUEUE, "b1-000005", queue="general", detail="13900000005"),
        ev(160, K.EXITWITHKEY, "b1-000005", queue="general", detail="1", wait_s=10.0),
        record("b1-000005", "callback", queue="general"),
        ev(200, K.CALLBACKDIAL, "b1-000005", queue="general", agent_id="1002",
           detail="13900000005"),
        AgentStateChange(T0 + 1, "1001", "logged_out", "ready"),
        AgentStateChange(T0 + 140, "1001", "ready", "talking"),
        AgentStateChange(T0 + 2, "1003", "logged_out", "ready"),
        AgentStateChange(T0 + 50, "1003", "ready", "logged_out"),
    ])
    wav = data_dir / "recordings" / "2026" / "11" / "18" / "b1-000004.wav"
    wav.parent.mkdir(parents=True)
    wav.write_bytes(b"RIFF")


def test_every_lost_call_gets_one_record_and_the_log_is_closed(tmp_path):
    with Records(tmp_path / "records.db") as records:
        crashed_run(records, tmp_path)
        done = reconcile(records, tmp_path)
        assert sorted(done.calls) == ["b1-000002", "b1-000003", "b1-000004"]
        assert done.entries_closed == 3  # waiting, talking, call back pending
        assert done.agents_logged_out == ("1001",)

        menus = records.call("b1-000002")
        assert (menus.outcome, menus.hangup_side, menus.hangup_reason) == (
            "appliance-restarted", "system", "appliance_restarted")
        assert (menus.queue, menus.port, menus.config_version) == (None, "fxo2", 3)
        assert menus.ended_at == T0 + 200  # the run's last sign of life

        waiting = records.call("b1-000003")
        assert (waiting.outcome, waiting.queue, waiting.priority_class) == (
            "appliance-restarted", "general", "normal")
        assert waiting.wait_seconds == 90.0
        talking = records.call("b1-000004")
        assert (talking.outcome, talking.agent_id, talking.caller) == (
            "answered", "1001", "13900000004")
        assert talking.talk_seconds == 60.0
        assert talking.recording == "recordings/2026/11/18/b1-000004.wav"
        assert records.open_calls() == []

        closing = {e.call_id: e for e in records.events(0, float("inf"))
                   if e.name == "APPLIANCERESTART"}
        assert {c: e.data["reason"] for c, e in closing.items()} == {
            "b1-000003": "waiting", "b1-000004": "talking", "b1-000005": "callback"}
        assert records.latest_agent_states()["1001"].to_state == "logged_out"
        assert records.latest_agent_states()["1001"].reason == "appliance_restarted"

        # The KPIs from the log agree with the records again.
        log = [queue_event(row, 0.0) for row in records.iter_events()]
        kpis = kpis_from_log(log, [], T0 + 1000).queues["general"]
        calls = records.calls(0, float("inf"))
        entered = {e.call_id for e in log if e.kind is K.ENTERQUEUE}
        assert entered == {c.call_id for c in calls if c.queue is not None}
        assert kpis.answered == sum(c.outcome == "answered" for c in calls) == 2
        assert kpis.offered == kpis.answered + kpis.timed_out + kpis.callbacks_requested
        assert (kpis.lost_in_restart, kpis.timed_out, kpis.callbacks_failed) == (2, 1, 1)
        # Agent 1001 is logged out in the log: its login time stops growing.
        logins = [kpis_from_log(log, [], T0 + now).agents["1001"].login_s
                  for now in (1_000, 20_000)]
        assert logins[0] == logins[1]


def test_a_second_start_writes_nothing(tmp_path):
    with Records(tmp_path / "records.db") as records:
        crashed_run(records, tmp_path)
        assert reconcile(records, tmp_path)
        counts = _counts(tmp_path / "records.db")
        again = reconcile(records, tmp_path)
        assert not again
        assert (again.calls, again.entries_closed, again.agents_logged_out) == ((), 0, ())
    assert _counts(tmp_path / "records.db") == counts


def test_a_recording_alone_is_enough_for_a_record(tmp_path):
    wav = tmp_path / "recordings" / "2026" / "11" / "18" / "b9-000007.wav"
    wav.parent.mkdir(parents=True)
    wav.write_bytes(b"RIFF")
    (wav.parent / "b9-000007-message.wav").write_bytes(b"RIFF")
    with Records(tmp_path / "records.db") as records:
        assert reconcile(records, tmp_path).calls == ("b9-000007",)
        lost = records.call("b9-000007")
        assert lost.outcome == "appliance-restarted"
        assert lost.recording == "recordings/2026/11/18/b9-000007.wav"
        assert not reconcile(records, tmp_path)


def test_a_recorded_call_is_no_longer_open(tmp_path):
    with Records(tmp_path / "records.db") as records:
        records.append_many([opened("b2-000001", 10), opened("b2-000002", 20)])
        records.append_many([record("b2-000001", "self-served")])
        assert [o.call_id for o in records.open_calls()] == ["b2-000002"]


def test_a_version_1_file_migrates_and_takes_the_new_outcome(tmp_path):
    path = tmp_path / "records.db"
    raw = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        raw.execute(statement)
    sql, params = row_for(record("old-1", "answered"))
    # A version 1 row has no quality columns (v6) and no hold_seconds (v8).
    v1 = len(params) - len(QUALITY_COLUMNS) - 1
    columns = sql[sql.index("(") + 1:sql.index(")")].split(", ")[:v1]
    raw.execute(f"INSERT INTO calls ({', '.join(columns)}) VALUES ({', '.join('?' * v1)})",
                params[:v1])
    raw.execute("PRAGMA user_version = 1")
    raw.commit()
    raw.close()
    with Records(path) as records:
        assert records.call("old-1").outcome == "answered"
        records.append_many([record("new-1", "appliance-restarted")])
        assert records.call("new-1").outcome == "appliance-restarted"
        assert records.integrity_problems() == []


def _counts(path):
    with sqlite3.connect(path) as db:
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("calls", "acd_events", "agent_states", "open_calls")}
