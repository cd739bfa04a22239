"""The branch's side of the centre's contract: read its ship marks, ship one batch.

A branch connects as its own role (central/db.py) and may do exactly these two things:

    marks = read_marks(conn)                    # {"calls": 1200, "acd_events": 9800, ...}
    stored = ship(conn, "calls", 1200, 1700, rows_json, oldest_unshipped)

``ship`` is one transaction on the server: the rows are inserted (a row already there is
left alone), the KPI rollups grow by the calls actually inserted, and the mark moves from
``from_seq`` to ``to_seq`` only if it still is ``from_seq`` (else ShipMarkMoved and nothing
changed). ``rows_json`` is a JSON array of objects whose keys are those ``ship`` reads for the
table (central/schema.py); times are UTC epoch seconds.
"""

import psycopg

from branchline.central.errors import map_pg_error
from branchline.central.schema import SHIPPED_TABLES

__all__ = ["SHIPPED_TABLES", "read_marks", "ship"]


def read_marks(conn) -> dict[str, int]:
    """The centre's mark for each of this branch's tables."""
    try:
        with conn.transaction():
            rows = conn.execute("SELECT tbl, seq FROM ship_marks_of_mine()").fetchall()
    except psycopg.Error as exc:
        raise map_pg_error(exc, "reading the ship marks") from exc
    return {table: seq for table, seq in rows}


def ship(conn, table: str, from_seq: int, to_seq: int, rows_json: str,
         oldest_unshipped: float | None) -> int:
    """Store one batch and move the mark, in one transaction; returns the rows newly stored."""
    if table not in SHIPPED_TABLES:
        raise ValueError(f"ship: table {table!r} is not one of {', '.join(SHIPPED_TABLES)}")
    try:
        with conn.transaction():
            return conn.execute(
                "SELECT ship(%s, %s, %s, %s::jsonb, %s)",
                (table, from_seq, to_seq, rows_json, oldest_unshipped)).fetchone()[0]
    except psycopg.Error as exc:
        raise map_pg_error(exc, f"shipping {table} {from_seq + 1}..{to_seq}") from exc
