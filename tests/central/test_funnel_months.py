"""The menu funnel over whole months (schema v4's ``ivr_node_months``) and the days around them:
every period gives what the visits themselves give, on a new centre and on a v3 centre
upgraded under branches that already shipped, and a ship() caught by the upgrade loses
nothing."""

import datetime as dt
import json
import threading

import psycopg
import pytest
from fleet_kit import T0, add_test_branch, wait_for, write_calls

from branchline.central.db import connect, migrate, schema_version
from branchline.central.errors import ShipMarkMoved, map_pg_error
from branchline.central.funnel import _sources, menu_funnel
from branchline.central.schema import MIGRATIONS
from branchline.firmware.fleet import Shipper

# Calls from 2026-11-18 to 2027-03-05 (Asia/Shanghai), at every hour of the day in turn.
SPACING = 86400 * 0.7 + 1234
D = dt.date
PERIODS = [
    (D(2026, 11, 20), D(2027, 2, 10)),   # partial, two whole months, partial
    (D(2026, 12, 1), D(2027, 1, 31)),    # whole months only
    (D(2026, 12, 1), D(2027, 2, 10)),    # whole months, then days
    (D(2026, 11, 20), D(2027, 1, 31)),   # days, then whole months
    (D(2026, 12, 5), D(2026, 12, 20)),   # inside one month
    (D(2027, 2, 27), D(2027, 3, 2)),     # across a month's end, no whole month
    (D(2026, 11, 1), D(2027, 3, 31)),    # everything, whole months only
    (D(2026, 11, 19), D(2026, 11, 19)),  # one day
]


def from_visits(conn, since, until, *, branch=None, region=None):
    """The funnel computed straight from the visits, node by node."""
    rows = conn.execute("""
        SELECT v.node, v.kind, v.exit, count(*), count(*) FILTER (WHERE v.first),
               count(*) FILTER (WHERE v.no_input > 0), count(*) FILTER (WHERE v.invalid > 0),
               count(*) FILTER (WHERE v.to_person), sum(v.seconds)
          FROM ivr_visits v JOIN branches b ON b.id = v.branch
         WHERE (v.started_at AT TIME ZONE (SELECT value FROM central_settings
                                            WHERE key = 'time_zone'))::date BETWEEN %s AND %s
           AND (%s::text IS NULL OR b.id = %s) AND (%s::text IS NULL OR b.region = %s)
         GROUP BY 1, 2, 3""", (since, until, branch, branch, region, region)).fetchall()
    nodes = {}
    for node, kind, exit_, visits, calls, timed_out, invalid, to_person, seconds in rows:
        n = nodes.setdefault((node, kind), [0, 0, 0, 0, 0, 0.0, {}])
        for i, value in enumerate((visits, calls, timed_out, invalid, to_person, seconds)):
            n[i] += value
        n[6][exit_] = visits
    return sorted((node, kind, n[0], n[1], n[2], n[3], n[4], round(n[5] / n[0], 2), n[6])
                  for (node, kind), n in nodes.items())


def funnel(conn, since, until, **who):
    return sorted((n.node, n.kind, n.entered, n.calls, n.timed_out, n.invalid, n.to_person,
                   n.average_s, n.exits) for n in menu_funnel(conn, since, until, **who))


def months_from_days(conn):
    """The monthly rollup next to the daily one summed by month: they must be equal."""
    sums = ("sum(visits)::int, sum(calls)::int, sum(timed_out)::int, sum(invalid)::int, "
            "sum(to_person)::int, round(sum(seconds_sum)::numeric, 6)")
    months = conn.execute(f"SELECT branch, month, node, kind, exit, {sums} FROM ivr_node_months "
                          "GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5").fetchall()
    days = conn.execute(f"SELECT branch, date_trunc('month', day::timestamp)::date, node, kind, "
                        f"exit, {sums} FROM ivr_node_days GROUP BY 1, 2, 3, 4, 5 "
                        "ORDER BY 1, 2, 3, 4, 5").fetchall()
    return months, days


def ship_all(db, login):
    with Shipper(db, login, batch=16) as shipper:
        shipper.ship_available()
        assert shipper.status().unshipped == 0


def two_branches(postgres, dsn, tmp_path, numbers=(range(150), range(0, 150, 3))):
    """b1 in the south, b2 in the north, each with its calls shipped; their logins."""
    logins = {}
    for branch, region, calls in zip(("b1", "b2"), ("south", "north"), numbers, strict=True):
        db = tmp_path / f"{branch}.db"
        write_calls(db, calls, at=T0, spacing=SPACING)
        logins[branch] = add_test_branch(postgres, dsn, branch, region=region)
        ship_all(db, logins[branch])
    return logins


def assert_every_period_matches(conn):
    for since, until in PERIODS:
        for who in ({}, {"branch": "b2"}, {"region": "south"}):
            expected = from_visits(conn, since, until, **who)
            assert funnel(conn, since, until, **who) == expected, (since, until, who)
    assert from_visits(conn, *PERIODS[0])  # the periods hold visits, not only nothing


def test_the_funnel_of_periods_cut_anywhere_equals_the_visits(postgres, central, tmp_path):
    two_branches(postgres, central, tmp_path)
    with connect(central) as conn:
        months, days = months_from_days(conn)
        assert months == days and len({m[1] for m in months}) == 5
        assert_every_period_matches(conn)
        # Whole months come from the monthly rollup: the days inside them may be deleted
        # (the centre's own retention) and the months still report them.
        whole = PERIODS[1]
        expected = funnel(conn, *whole)
        conn.execute("DELETE FROM ivr_node_days WHERE day BETWEEN %s AND %s", whole)
        assert funnel(conn, *whole) == expected and expected


def v3_centre(postgres):
    dsn = postgres.create_database()
    with connect(dsn) as conn:
        conn.execute("CREATE TABLE central_schema (version integer NOT NULL)")
        conn.execute("INSERT INTO central_schema VALUES (3)")
        for statement in (s for migration in MIGRATIONS[:3] for s in migration):
            conn.execute(statement)
        conn.commit()
    return dsn


def test_a_v3_centre_upgraded_reports_the_same_and_keeps_both_rollups(postgres, tmp_path):
    dsn = v3_centre(postgres)
    logins = two_branches(postgres, dsn, tmp_path, (range(100), range(0, 100, 3)))
    with connect(dsn) as conn:
        assert conn.execute("SELECT to_regclass('ivr_node_months')").fetchone() == (None,)
        assert migrate(conn) == 4 and schema_version(conn) == 4
        months, days = months_from_days(conn)
        assert months == days and months
        assert_every_period_matches(conn)
    # Shipped after the upgrade: the new ship() adds to both rollups.
    write_calls(tmp_path / "b1.db", range(100, 150), at=T0, spacing=SPACING)
    login = add_test_branch(postgres, dsn, "b3", region="south")
    write_calls(tmp_path / "b3.db", range(0, 150, 7), at=T0, spacing=SPACING)
    ship_all(tmp_path / "b3.db", login)
    ship_all(tmp_path / "b1.db", logins["b1"])
    with connect(dsn) as conn:
        months, days = months_from_days(conn)
        assert months == days
        assert conn.execute("SELECT count(*) FROM ivr_visits").fetchone()[0] == 150 + 34 + 22
        assert_every_period_matches(conn)


def visit_row(seq: int, call_id: str) -> str:
    return json.dumps([{
        "ship_seq": seq, "call_id": call_id, "step": 0, "config_version": 1,
        "started": T0, "dialled": "95566", "node": "welcome", "kind": "menu", "seconds": 3.0,
        "exit": "key:1", "next_node": "menu", "no_input": 0, "invalid": 0, "first": 1,
        "to_person": 0}])


def test_a_ship_caught_by_the_upgrade_is_refused_and_counted_once_after(postgres, tmp_path):
    """A ship() that starts while the upgrade runs keeps v3's function to its end: it must not
    add visits the fill has not seen. It waits for the upgrade, finds its mark moved, and the
    shipper sends the visits again through v4's function."""
    dsn = v3_centre(postgres)
    login = add_test_branch(postgres, dsn, "b1")
    outcome = {}

    def ship_during_upgrade():
        with connect(login) as branch:
            try:
                branch.execute("SELECT ship('ivr_visits', 0, 1, %s::jsonb, NULL)",
                               (visit_row(1, "c-early"),))
                branch.commit()
                outcome["result"] = "stored"
            except psycopg.Error as exc:
                outcome["result"] = type(map_pg_error(exc, "shipping")).__name__

    with connect(dsn) as upgrade, connect(dsn, autocommit=True) as watch:
        for statement in MIGRATIONS[3]:
            upgrade.execute(statement)
        upgrade.execute("UPDATE central_schema SET version = 4")
        shipping = threading.Thread(target=ship_during_upgrade)
        shipping.start()
        wait_for(lambda: not shipping.is_alive() or watch.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE 'SELECT ship(%%'").fetchone()[0], "the ship() ended or waiting")
        upgrade.commit()
        shipping.join(60)
    assert outcome == {"result": ShipMarkMoved.__name__}
    with connect(login) as branch:
        assert branch.execute("SELECT ship('ivr_visits', 0, 1, %s::jsonb, NULL)",
                              (visit_row(1, "c-early"),)).fetchone() == (1,)
        branch.commit()
    with connect(dsn) as conn:
        months, days = months_from_days(conn)
        assert months == days and [m[5] for m in months] == [1]


@pytest.mark.parametrize(("since", "until", "sources"), [
    (D(2026, 1, 1), D(2026, 12, 31), [("ivr_node_months", D(2026, 1, 1), D(2026, 12, 31))]),
    (D(2026, 1, 2), D(2026, 12, 30), [("ivr_node_months", D(2026, 2, 1), D(2026, 11, 30)),
                                      ("ivr_node_days", D(2026, 1, 2), D(2026, 1, 31)),
                                      ("ivr_node_days", D(2026, 12, 1), D(2026, 12, 30))]),
    (D(2024, 2, 1), D(2024, 2, 29), [("ivr_node_months", D(2024, 2, 1), D(2024, 2, 29))]),
    (D(2024, 2, 1), D(2024, 2, 28), [("ivr_node_days", D(2024, 2, 1), D(2024, 2, 28))]),
    (D(2026, 1, 31), D(2026, 2, 1), [("ivr_node_days", D(2026, 1, 31), D(2026, 2, 1))]),
])
def test_which_rollup_covers_which_part_of_a_period(since, until, sources):
    assert [(t, a, b) for t, _column, a, b in _sources(since, until)] == sources
