"""Records schema v7 and v9: the caller's mode on every visit, hourly and daily sum and call,
and each call's time to its number's next call and next person, the same whether the calls
were written by this release, in any order, or stored before it and migrated."""

from __future__ import annotations

import json
import sqlite3

from ivr_traffic import calls, journeys

from branchline.firmware.records.database import Records
from branchline.firmware.records.schema import MIGRATIONS
from branchline.firmware.records.types import RetentionPolicy

TABLES = ("ivr_visits", "ivr_hours", "ivr_hour_times", "ivr_days", "ivr_day_times", "ivr_calls")


def traffic():
    return list(calls(journeys(60, seed=8, older=0.3), days=2, per_day=60, callers=25))


def older_ids(records):
    return {r.call_id for r in records if any(s.what == "mode" for s in r.ivr_path)}


def old_file(path, records, version):
    """A records file of schema ``version`` (2 or later) holding ``records`` as that
    release stored them: the calls, and the visits its own migrations gave them."""
    db = sqlite3.connect(path)
    for migration in MIGRATIONS[:2]:
        for statement in migration:
            db.execute(statement)
    db.execute("PRAGMA user_version = 2")
    for r in records:
        path_json = json.dumps([{"at": s.at, "what": s.what, "node": s.node,
                                 "detail": s.detail} for s in r.ivr_path])
        db.execute("INSERT INTO calls (call_id, started_epoch, started_utc, ended_epoch, "
                   "ended_utc, caller, dialled, port, config_version, language, ivr_path, "
                   "host_results, queue, wait_seconds, talk_seconds, wrapup_seconds, "
                   "outcome, hangup_side, hangup_reason) VALUES (?, ?, '', ?, '', ?, ?, ?, "
                   "?, ?, ?, '{}', ?, 0, 0, 0, ?, ?, '')",
                   (r.call_id, r.started_at, r.ended_at, r.caller, r.dialled, r.port,
                    r.config_version, r.language, path_json, r.queue, str(r.outcome),
                    str(r.hangup_side)))
    for i, migration in enumerate(MIGRATIONS[2:version], start=3):
        for step in migration:
            if callable(step):
                step(db)
            else:
                db.execute(step)
        db.execute(f"PRAGMA user_version = {i}")
    db.commit()
    db.close()


def test_calls_stored_before_version_7_get_their_mode_and_next_calls(tmp_path):
    records = traffic()
    assert len(older_ids(records)) > 10
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    old_file(old, records, 6)
    with Records(new) as fresh:
        fresh.append_many(records)
    with Records(old) as migrated, Records(new) as fresh:
        for table in TABLES:
            stored = sorted(fresh.rows(f"SELECT * FROM {table}"))
            assert stored, table
            assert sorted(migrated.rows(f"SELECT * FROM {table}")) == stored, table
        got = {call_id for (call_id,) in migrated.rows(
            "SELECT call_id FROM ivr_calls WHERE older = 1")}
        assert got == older_ids(records)
        # The older callers' share of the hourly sums moved to rows of their own.
        assert migrated.rows("SELECT sum(visits) FROM ivr_hours WHERE older = 1")[0][0] \
            == migrated.rows("SELECT count(*) FROM ivr_visits WHERE older = 1")[0][0] > 0


def test_the_next_call_times_do_not_depend_on_the_order_calls_are_written(tmp_path):
    records = traffic()
    in_order, reversed_ = tmp_path / "a.db", tmp_path / "b.db"
    with Records(in_order) as r:
        r.append_many(records)
    with Records(reversed_) as r:
        for record in reversed(records):
            r.append_many([record])
    query = "SELECT call_id, next_call_s, next_person_s FROM ivr_calls"
    with Records(in_order) as a, Records(reversed_) as b:
        assert sorted(a.rows(query)) == sorted(b.rows(query))
        linked = a.rows("SELECT count(next_call_s), count(next_person_s) FROM ivr_calls")[0]
    assert linked[0] > linked[1] > 0


def test_a_call_knows_its_numbers_next_call_and_next_person(tmp_path):
    records = traffic()
    with Records(tmp_path / "r.db") as r:
        r.append_many(records)
        stored = {row[0]: row[1:] for row in r.rows(
            "SELECT call_id, next_call_s, next_person_s FROM ivr_calls")}
    week = 7 * 86400
    for c in records:
        later = [o for o in records if o.caller == c.caller
                 and c.started_at + 0.001 <= o.started_at <= c.started_at + week]
        person = [o for o in later if o.queue is not None or str(o.outcome) == "transferred"]
        want = tuple(min(o.started_at for o in found) - c.started_at if found else None
                     for found in (later, person))
        assert stored[c.call_id] == want, c.call_id


def test_retention_takes_a_days_sums_with_its_last_call(tmp_path):
    records = traffic()
    first_day = int(min(r.started_at for r in records) // 86400)
    with Records(tmp_path / "r.db") as r:
        r.append_many(records)
        days = sorted({d for (d,) in r.rows("SELECT DISTINCT day FROM ivr_days")})
        assert days == sorted({int(c.started_at // 86400) for c in records})
        assert len(days) == 2
        cut = (first_day + 1) * 86400.0
        r.expire(cut + 86400, RetentionPolicy(calls_days=1, events_days=None,
                                              agent_states_days=None, recordings_days=None))
        assert {d for (d,) in r.rows("SELECT DISTINCT day FROM ivr_day_times")} \
            == {d for (d,) in r.rows("SELECT DISTINCT day FROM ivr_days")} == {days[1]}
