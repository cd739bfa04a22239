"""The shipper against a real PostgreSQL: every record once, the marks, the lag."""

import pytest
from fleet_kit import T0, add_test_branch, branch_rows, centre_rows, write_calls

from branchline.central.db import connect
from branchline.firmware.fleet import Shipper
from branchline.firmware.records.database import Records, RetentionPolicy


def test_every_record_reaches_the_centre_once(postgres, central, tmp_path):
    db = tmp_path / "records.db"
    write_calls(db, range(120))
    conninfo = add_test_branch(postgres, central, "b1")
    seen = []
    with Shipper(db, conninfo, batch=50, on_batch=lambda *b: seen.append(b)) as shipper:
        _first_shipment(shipper, db, central, seen)


def _first_shipment(shipper, db, central, seen):
    # Calls, ACD events, agent states, audit, and each call's one IVR node visit.
    assert shipper.ship_available() == 120 + 240 + 120 + 12 + 120
    assert centre_rows(central, "b1") == branch_rows(db)
    assert ("calls", 0, 50) in seen and ("calls", 100, 120) in seen
    # Nothing new: nothing sent; new records: only they are sent.
    assert shipper.ship_available() == 0
    write_calls(db, range(120, 130))
    assert shipper.ship_available() == 10 + 20 + 10 + 1 + 10
    assert centre_rows(central, "b1") == branch_rows(db)
    with connect(central) as conn:
        marks = dict(conn.execute("SELECT tbl, seq FROM ship_marks WHERE branch = 'b1'"))
    assert marks == {"calls": 130, "acd_events": 260, "agent_states": 130, "audit": 13,
                     "ivr_visits": 130}


def test_the_rollups_count_each_call_once(postgres, central, tmp_path):
    db = tmp_path / "records.db"
    write_calls(db, range(90))
    conninfo = add_test_branch(postgres, central, "b1")
    with Shipper(db, conninfo, batch=7) as shipper:
        shipper.ship_available()
    with connect(central) as conn:
        interval = conn.execute("SELECT sum(calls), sum(answered), sum(abandoned), "
                                "sum(survey_n) FROM interval_kpis").fetchone()
        daily = conn.execute("SELECT sum(calls), sum(answered), sum(abandoned), "
                             "sum(survey_n) FROM daily_kpis").fetchone()
        by_day = conn.execute("SELECT sum(calls), sum(answered), sum(abandoned), "
                              "sum(survey_n) FROM branch_days").fetchone()
        quality = [conn.execute(f"SELECT sum(quality_n), sum(mos_poor), "
                                f"round(sum(mos_sum)::numeric, 6)::float FROM {t}"
                                ).fetchone() for t in ("interval_kpis", "daily_kpis",
                                                       "branch_days")]
        raw = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE outcome = 'answered'), "
            "count(*) FILTER (WHERE outcome = 'abandoned-in-queue' AND wait_seconds >= 5), "
            "count(survey_score) FROM calls").fetchone()
    assert interval == daily == by_day == raw == (90, 30, 25, 30)
    # 45 SIP calls (even n), 12 poor at MOS 3.1 (n % 8 == 0), 33 at MOS 4.2.
    assert quality == [(45, 12, 175.8)] * 3


def test_visits_and_their_rollup_once_even_in_batches_of_calls_without_visits(
        postgres, central, tmp_path):
    db = tmp_path / "records.db"
    write_calls(db, range(20))
    with Records(db) as records:  # calls 5..14 lost their visits (as if never in the IVR)
        records._conn().execute("DELETE FROM ivr_visits WHERE call_id BETWEEN 'c000005' "
                                "AND 'c000014'")
    with Shipper(db, add_test_branch(postgres, central, "b1"), batch=4) as shipper:
        assert shipper.ship_available() == 20 + 40 + 20 + 2 + 10
        assert shipper.ship_available() == 0
    assert centre_rows(central, "b1") == branch_rows(db)
    with connect(central) as conn:
        assert conn.execute("SELECT seq FROM ship_marks WHERE tbl = 'ivr_visits'"
                            ).fetchone() == (20,)
        assert conn.execute("SELECT node, exit, visits, calls FROM ivr_node_days"
                            ).fetchall() == [("welcome", "next", 10, 10)]


def test_lag_is_the_age_of_the_oldest_record_not_at_the_centre(postgres, central, tmp_path):
    db = tmp_path / "records.db"
    write_calls(db, range(10), spacing=60.0)
    now = [T0 + 3600.0]
    with Shipper(db, add_test_branch(postgres, central, "b1"), batch=4,
                 wall=lambda: now[0]) as shipper:
        _lag(shipper, db, now)


def _lag(shipper, db, now):
    assert shipper.status().lag_s is None
    shipper.ship_available()
    assert shipper.status().lag_s == 0.0 and shipper.status().unshipped == 0
    write_calls(db, range(10, 12), spacing=60.0)
    shipper._measure()
    # The first new call (n = 10) ended at T0 + 600 + 90: an audit entry at T0 + 600 is older.
    assert shipper.status().lag_s == pytest.approx(3600.0 - 600.0)
    assert shipper.status().unshipped == 2 + 4 + 2 + 1 + 2


def test_positions_are_never_given_twice_after_retention_empties_a_table(tmp_path):
    db = tmp_path / "records.db"
    write_calls(db, range(3), at=T0)
    with Records(db) as records:
        records.expire(T0 + 400 * 86400, RetentionPolicy(calls_days=1, events_days=1,
                                                        agent_states_days=1, audit_days=1))
        assert records._conn().execute("SELECT count(*) FROM call_ship_order").fetchone() == (0,)
    write_calls(db, range(3, 4), at=T0)
    with Records(db) as records:
        c = records._conn()
        assert c.execute("SELECT seq FROM call_ship_order").fetchall() == [(4,)]
        assert c.execute("SELECT seq FROM acd_events ORDER BY seq").fetchall() == [(7,), (8,)]
        assert c.execute("SELECT seq FROM audit").fetchall() == []
        assert c.execute("SELECT seq FROM agent_states").fetchall() == [(4,)]
