"""The centre's schema, migrations and per-branch credentials, on a real PostgreSQL."""

import json

import psycopg
import pytest
from fleet_kit import add_test_branch

from branchline.central.db import (
    add_branch,
    connect,
    migrate,
    rotate_branch_password,
    schema_version,
    scram_verifier,
)
from branchline.central.errors import (
    CentralInputError,
    CentralRefused,
    CentralTooNew,
    ShipMarkMoved,
)
from branchline.central.ingest import read_marks, ship
from branchline.central.schema import SCHEMA_VERSION

AUDIT = json.dumps([{"seq": 1, "at_epoch": 1.8e9, "who": "admin", "what": "x", "diff": ""}])


def test_migrate_is_versioned_idempotent_and_refuses_a_newer_schema(central):
    with connect(central) as conn:
        assert schema_version(conn) == SCHEMA_VERSION
        assert migrate(conn) == SCHEMA_VERSION
        conn.execute("UPDATE central_schema SET version = version + 1")
        conn.commit()
        with pytest.raises(CentralTooNew, match="newer than this software's"):
            migrate(conn)


def test_a_branch_writes_only_its_own_records_through_ship(postgres, central):
    b1 = add_test_branch(postgres, central, "b1")
    add_test_branch(postgres, central, "b2")
    with connect(b1) as conn:
        assert read_marks(conn) == {"acd_events": 0, "agent_states": 0, "audit": 0, "calls": 0,
                                    "ivr_visits": 0}
        assert ship(conn, "audit", 0, 1, AUDIT, None) == 1
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO audit VALUES ('b2', 9, now(), 'x', 'y', '')")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM calls")
        conn.rollback()
        # The same batch again: the mark has moved, nothing changes.
        with pytest.raises(ShipMarkMoved, match="ship mark of b1 audit is not 0"):
            ship(conn, "audit", 0, 1, AUDIT, None)
    with connect(central) as conn:
        assert conn.execute("SELECT branch, seq FROM audit").fetchall() == [("b1", 1)]
        assert dict(conn.execute("SELECT branch, seq FROM ship_marks WHERE tbl = 'audit'")) \
            == {"b1": 1, "b2": 0}


def test_credentials_are_per_branch_and_rotate(postgres, central):
    b1 = add_test_branch(postgres, central, "b1")
    wrong = psycopg.conninfo.make_conninfo(b1, password="not-the-password")
    with pytest.raises(CentralRefused, match="credentials"):
        connect(wrong)
    with connect(central) as conn:
        login = rotate_branch_password(conn, "b1")
        conn.commit()
        assert "password=<hidden>" in repr(login) and login.password not in repr(login)
    with pytest.raises(CentralRefused):
        connect(b1)
    with connect(psycopg.conninfo.make_conninfo(b1, password=login.password)) as conn:
        assert read_marks(conn)["calls"] == 0


def test_a_role_that_is_no_branch_cannot_ship(central):
    with connect(central) as conn, pytest.raises(CentralRefused, match="is not a branch"):
        read_marks(conn)


def test_branch_ids_are_checked(central):
    with connect(central) as conn:
        with pytest.raises(CentralInputError, match="lower-case letters"):
            add_branch(conn, "Bad Id", name="x", region="y")
        add_branch(conn, "b9", name="Nine", region="north")
        with pytest.raises(CentralInputError, match="exists already"):
            add_branch(conn, "b9", name="Nine", region="north")


def test_scram_verifier_has_postgresqls_form():
    v = scram_verifier("pencil", salt=b"0123456789abcdef", iterations=4096)
    assert v.startswith("SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$")
    assert len(v.split("$")[2].split(":")) == 2
