"""A call's IVR path cut into node visits, and the visits a records database keeps."""

from __future__ import annotations

import json
import sqlite3

from ivr_traffic import calls, journeys

from branchline.firmware.records.database import Records
from branchline.firmware.records.schema import MIGRATIONS
from branchline.firmware.records.types import TraceStep
from branchline.firmware.records.visits import visits


def steps(*rows):
    return [TraceStep(at, what, node, detail) for at, what, node, detail in rows]


BALANCE_THEN_PERSON = steps(
    (0.0, "start", "", "call c1"),
    (0.0, "enter", "vip_check", "switch"),
    (0.0, "switch", "vip_check", "default -> main_menu"),
    (0.0, "enter", "main_menu", "menu"),
    (6.5, "no_input", "main_menu", "no key pressed (no_input 1)"),
    (9.0, "invalid", "main_menu", "key '7' is not an option (invalid 1)"),
    (14.2, "digits", "main_menu", "1"),
    (14.2, "enter", "balance_query", "host"),
    (14.9, "host", "balance_query", "balance: ok"),
    (14.9, "enter", "balance_said", "play"),
    (20.0, "enter", "balance_done", "menu"),
    (23.0, "key", "balance_done", "repeat"),
    (31.0, "key", "balance_done", "operator"),
    (31.0, "enter", "agent", "queue"),
    (50.0, "queue", "agent", "general: answered by agent 1001"),
    (90.0, "end", "agent", "caller hung up"),
)


def test_each_visit_says_how_the_caller_left_and_how_long_they_stayed():
    found = visits(BALANCE_THEN_PERSON)
    assert [(v.node, v.exit, v.seconds, v.next_node) for v in found] == [
        ("vip_check", "default", 0.0, "main_menu"),
        ("main_menu", "key:1", 14.2, "balance_query"),
        ("balance_query", "ok", 0.7, "balance_said"),
        ("balance_said", "next", 5.1, "balance_done"),
        ("balance_done", "operator", 11.0, "agent"),
        # The caller hung up after the agent answered: answered, not a hang-up in the menus.
        ("agent", "answered", 59.0, ""),
    ]
    menu = found[1]
    assert (menu.no_input, menu.invalid) == (1, 1)
    assert [v.to_person for v in found] == [False, False, False, False, True, False]


def test_hang_ups_escalations_and_a_second_visit():
    found = visits(steps(
        (0.0, "enter", "main_menu", "menu"),
        (5.0, "no_input", "main_menu", "no key pressed (no_input 1)"),
        (10.0, "no_input", "main_menu", "no key pressed (no_input 2)"),
        (15.0, "no_input", "main_menu", "no key pressed (no_input 3)"),
        (15.0, "escalate", "main_menu", "no_input budget 2 spent"),
        (15.0, "enter", "agent", "queue"),
        (18.0, "queue", "agent", "general: overflow"),
        (18.0, "enter", "main_menu", "menu"),
        (21.0, "end", "main_menu", "caller hung up"),
    ))
    assert [(v.node, v.exit, v.first, v.to_person) for v in found] == [
        ("main_menu", "escalated", True, True),
        ("agent", "overflow", True, False),
        ("main_menu", "hung_up", False, False),
    ]
    assert found[0].no_input == 3


def test_a_queue_abandoned_is_a_hang_up_there():
    found = visits(steps(
        (0.0, "enter", "agent", "queue"),
        (40.0, "queue", "agent", "general: abandoned"),
        (40.0, "end", "agent", "caller left the queue"),
    ))
    assert [(v.exit, v.seconds) for v in found] == [("hung_up", 40.0)]


def test_stored_calls_get_their_visits_when_an_old_database_is_migrated(tmp_path):
    records = list(calls(journeys(40, seed=3), days=1, per_day=40))
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    db = sqlite3.connect(old)
    for migration in MIGRATIONS[:2]:
        for statement in migration:
            db.execute(statement)
    db.execute("PRAGMA user_version = 2")
    for r in records:
        path = json.dumps([{"at": s.at, "what": s.what, "node": s.node, "detail": s.detail}
                           for s in r.ivr_path])
        db.execute("INSERT INTO calls (call_id, started_epoch, started_utc, ended_epoch, "
                   "ended_utc, caller, dialled, port, config_version, language, ivr_path, "
                   "host_results, queue, wait_seconds, talk_seconds, wrapup_seconds, "
                   "outcome, hangup_side, hangup_reason) VALUES (?, ?, '', ?, '', ?, ?, ?, "
                   "?, ?, ?, '{}', ?, 0, 0, 0, ?, ?, '')",
                   (r.call_id, r.started_at, r.ended_at, r.caller, r.dialled, r.port,
                    r.config_version, r.language, path, r.queue, str(r.outcome),
                    str(r.hangup_side)))
    db.commit()
    db.close()
    with Records(new) as fresh:
        fresh.append_many(records)
    tables = ("ivr_visits", "ivr_hours", "ivr_hour_times", "ivr_calls")
    with Records(old) as migrated, Records(new) as fresh:
        for table in tables:
            stored = sorted(fresh.rows(f"SELECT * FROM {table}"))
            assert stored, table
            assert sorted(migrated.rows(f"SELECT * FROM {table}")) == stored, table
