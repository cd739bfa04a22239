"""Call quality and IVR node visits at the centre (schema v3): a v2 centre upgraded under
branches that already shipped, the quality figures per branch, the menu funnel against the
branch's own visits."""

import datetime as dt

import psycopg
from fleet_kit import T0, add_test_branch, branch_rows, centre_rows, write_calls
from psycopg import sql

from branchline.central import reports
from branchline.central.db import connect, migrate, schema_version, scram_verifier
from branchline.central.funnel import funnel_csv, menu_funnel
from branchline.central.schema import MIGRATIONS, SCHEMA_VERSION
from branchline.firmware.fleet import Shipper
from branchline.firmware.records.database import Records

DAY = dt.datetime.fromtimestamp(T0, dt.timezone(dt.timedelta(hours=8))).date()


def v2_centre_with_branch(postgres, branch):
    """A centre as release v2 left it, with one branch registered the v2 way."""
    dsn = postgres.create_database()
    with connect(dsn) as conn:
        conn.execute("CREATE TABLE central_schema (version integer NOT NULL)")
        conn.execute("INSERT INTO central_schema VALUES (2)")
        for statement in (*MIGRATIONS[0], *MIGRATIONS[1]):
            conn.execute(statement)
        dbname = conn.info.dbname
        role = f"{dbname}:{branch}"
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE branchline_branch PASSWORD {}")
                     .format(sql.Identifier(role), sql.Literal(scram_verifier("pw-" + branch))))
        conn.execute("INSERT INTO branches (id, name, region, role) VALUES (%s, 'B', 'south', "
                     "%s)", (branch, role))
        conn.execute("INSERT INTO ship_marks (branch, tbl) SELECT %s, t FROM unnest(ARRAY["
                     "'calls', 'acd_events', 'agent_states', 'audit']) t", (branch,))
        conn.commit()
    login = postgres.dsn(dbname, user=role, password="pw-" + branch)
    return dsn, login


def test_a_v2_centre_takes_visits_after_its_upgrade_and_its_branches_catch_up(
        postgres, tmp_path):
    dsn, login = v2_centre_with_branch(postgres, "b1")
    db = tmp_path / "records.db"
    write_calls(db, range(30))
    with Shipper(db, login, batch=8) as shipper:  # a v2 centre has no mark for visits
        assert shipper.ship_available() == 30 + 60 + 30 + 3
        assert shipper.status().unshipped == 0
    with connect(dsn) as conn:
        assert migrate(conn) == SCHEMA_VERSION and schema_version(conn) == SCHEMA_VERSION
        assert conn.execute("SELECT seq FROM ship_marks WHERE branch = 'b1' "
                            "AND tbl = 'ivr_visits'").fetchone() == (0,)
    write_calls(db, range(30, 40))
    with Shipper(db, login, batch=8) as shipper:
        # Every call's visit (those shipped under v2 too), and the new records.
        assert shipper.ship_available() == 40 + 10 + 20 + 10 + 1
    assert centre_rows(dsn, "b1") == branch_rows(db)
    with connect(dsn) as conn:
        # Quality came only with the calls shipped after the upgrade (n = 30..39: 5 SIP).
        assert conn.execute("SELECT count(quality_mos) FROM calls").fetchone() == (5,)
        assert conn.execute("SELECT sum(quality_n)::int FROM branch_days").fetchone() == (5,)
        assert conn.execute("SELECT sum(visits) FROM ivr_node_days").fetchone() == (40,)


def test_quality_per_branch_and_the_funnel_match_the_branch(postgres, central, tmp_path):
    db = tmp_path / "records.db"
    write_calls(db, range(48), spacing=30.0)
    with Shipper(db, add_test_branch(postgres, central, "b1")) as shipper:
        shipper.ship_available()
    with Records(db) as records:
        c = records._conn()
        sip, poor, mos = c.execute(
            "SELECT count(quality_mos), count(*) FILTER (WHERE quality_mos < 3.6), "
            "avg(quality_mos) FROM calls").fetchone()
        visits = c.execute("SELECT node, kind, exit, count(*), sum(first) FROM ivr_visits "
                           "GROUP BY 1, 2, 3").fetchall()
    with connect(central) as conn:
        (row,) = reports.branch_kpis(conn, DAY, DAY)
        nodes = menu_funnel(conn, DAY, DAY, branch="b1")
        assert menu_funnel(conn, DAY, DAY, region="north") == []
    assert (row.sip_calls, round(row.mos_poor_share * sip), row.mos_average) == (
        sip, poor, round(mos, 3))
    assert (sip, poor) == (24, 6)
    assert [(n.node, n.kind, e, v, n.calls) for n in nodes for e, v in n.exits.items()] == [
        (node, kind, exit_, count, first) for node, kind, exit_, count, first in visits]
    assert funnel_csv(nodes).splitlines()[0].startswith("node,kind,entered,calls")


def test_a_branch_role_cannot_read_visits(postgres, central):
    with connect(add_test_branch(postgres, central, "b1")) as conn:
        try:
            conn.execute("SELECT * FROM ivr_visits")
        except psycopg.errors.InsufficientPrivilege:
            return
    raise AssertionError("a branch's role read the centre's ivr_visits")
