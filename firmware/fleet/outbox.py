"""What a branch has not shipped yet: rows of records.db past the centre's marks, as JSON.

Each shipped table has a shipping position that is never given twice (records schema v4):
``seq`` of the log tables (AUTOINCREMENT), ``call_ship_order.seq`` for calls and for their
IVR node visits (``ivr_visits``, shipped by call: a call's visits are never split between
batches). A batch is the rows of the next positions past a mark (at most ``limit``
positions), in that order, as the JSON array ``ship`` reads (central/ingest.py); it may
hold no rows (calls without visits) and still move the mark.
Columns that hold JSON in SQLite are spliced in as they are, not parsed and dumped again.

The connection is the shipper thread's own and only ever reads (``query_only``).
"""

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from branchline.firmware.records.quality import QUALITY_COLUMNS

__all__ = ["Batch", "Outbox"]

# Per table: the last position of the next batch (past a mark, at most ``limit`` positions);
# the rows at positions (after, last], in order, with the position first; the rows' JSON keys;
# which columns already hold JSON text.
_CALL_SPAN = ("SELECT max(seq) FROM (SELECT seq FROM call_ship_order WHERE seq > ? "
              "ORDER BY seq LIMIT ?)")
_CALLS = (
    _CALL_SPAN,
    "SELECT o.seq, c.call_id, c.started_epoch, c.answered_epoch, c.ended_epoch, c.caller, "
    "c.dialled, c.port, c.config_version, c.language, c.ivr_path, c.host_results, c.queue, "
    "c.priority_class, c.agent_id, c.wait_seconds, c.talk_seconds, c.wrapup_seconds, "
    "c.survey_score, c.recording, c.outcome, c.hangup_side, c.hangup_reason, "
    f"{', '.join('c.' + name for name in QUALITY_COLUMNS)} "
    "FROM call_ship_order o JOIN calls c ON c.call_id = o.call_id "
    "WHERE o.seq > ? AND o.seq <= ? ORDER BY o.seq",
    ("ship_seq", "call_id", "started", "answered", "ended", "caller", "dialled", "port",
     "config_version", "language", "ivr_path", "host_results", "queue", "priority_class",
     "agent_id", "wait_seconds", "talk_seconds", "wrapup_seconds", "survey_score",
     "recording", "outcome", "hangup_side", "hangup_reason", *QUALITY_COLUMNS),
    {"ivr_path", "host_results"},
)
# A call's visits go with its position: they were written in the call's own transaction.
# The join names ivr_visits' whole primary key (version, start, call), so it reads by key.
_VISITS_OF = (
    "FROM call_ship_order o JOIN calls c ON c.call_id = o.call_id "
    "JOIN ivr_visits v ON v.config_version = c.config_version "
    "AND v.started_epoch = c.started_epoch AND v.call_id = c.call_id ")
_VISITS = (
    _CALL_SPAN,
    "SELECT o.seq, v.call_id, v.step, v.config_version, v.started_epoch, v.dialled, v.node, "
    "v.kind, v.seconds, v.exit, v.next_node, v.no_input, v.invalid, v.first, v.to_person "
    + _VISITS_OF + "WHERE o.seq > ? AND o.seq <= ? ORDER BY o.seq, v.step",
    ("ship_seq", "call_id", "step", "config_version", "started", "dialled", "node", "kind",
     "seconds", "exit", "next_node", "no_input", "invalid", "first", "to_person"),
    set(),
)


def _log(table: str, columns: tuple[str, ...], raw: set[str]) -> tuple:
    return (f"SELECT max(seq) FROM (SELECT seq FROM {table} WHERE seq > ? ORDER BY seq "
            "LIMIT ?)",
            f"SELECT {', '.join(columns)} FROM {table} WHERE seq > ? AND seq <= ? ORDER BY seq",
            columns, raw)


_TABLES = {
    "calls": _CALLS,
    "acd_events": _log("acd_events", ("seq", "at_epoch", "call_id", "queue", "agent", "name",
                                      "data"), {"data"}),
    "agent_states": _log("agent_states", ("seq", "at_epoch", "agent", "from_state",
                                          "to_state", "reason"), set()),
    "audit": _log("audit", ("seq", "at_epoch", "who", "what", "diff"), set()),
    "ivr_visits": _VISITS,
}
_CALL_TIME = ("SELECT c.ended_epoch FROM call_ship_order o JOIN calls c "
              "ON c.call_id = o.call_id WHERE o.seq > ? ORDER BY o.seq LIMIT 1")
# The time of the first row past a mark, for the lag.
_FIRST_TIME = {
    "calls": _CALL_TIME,
    "acd_events": "SELECT at_epoch FROM acd_events WHERE seq > ? ORDER BY seq LIMIT 1",
    "agent_states": "SELECT at_epoch FROM agent_states WHERE seq > ? ORDER BY seq LIMIT 1",
    "audit": "SELECT at_epoch FROM audit WHERE seq > ? ORDER BY seq LIMIT 1",
    "ivr_visits": "SELECT c.ended_epoch " + _VISITS_OF + "WHERE o.seq > ? ORDER BY o.seq "
                  "LIMIT 1",
}
_COUNT = {
    "calls": "SELECT count(*) FROM call_ship_order WHERE seq > ?",
    "acd_events": "SELECT count(*) FROM acd_events WHERE seq > ?",
    "agent_states": "SELECT count(*) FROM agent_states WHERE seq > ?",
    "audit": "SELECT count(*) FROM audit WHERE seq > ?",
    "ivr_visits": "SELECT count(*) " + _VISITS_OF + "WHERE o.seq > ?",
}
TABLES = tuple(_TABLES)


@dataclass(frozen=True, slots=True)
class Batch:
    """The next rows of one table: positions ``(after, last]`` as a JSON array."""

    table: str
    after: int
    last: int
    count: int
    rows_json: str


class Outbox:
    """Reads records.db (already migrated by the records writer) for the shipper thread."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None,
                                       check_same_thread=True)
            self._db.execute("PRAGMA query_only = 1")
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def next_batch(self, table: str, after: int, limit: int) -> Batch | None:
        span, sql, keys, raw = _TABLES[table]
        last = self._conn().execute(span, (after, limit)).fetchone()[0]
        if last is None:
            return None
        rows = self._conn().execute(sql, (after, last)).fetchall()
        parts = []
        for row in rows:
            fields = (f"{json.dumps(k)}:{v if k in raw else json.dumps(v, ensure_ascii=False)}"
                      for k, v in zip(keys, row, strict=True))
            parts.append("{" + ",".join(fields) + "}")
        return Batch(table, after, last, len(rows), "[" + ",".join(parts) + "]")

    def first_unshipped_at(self, table: str, after: int) -> float | None:
        """When the first record past ``after`` happened (epoch seconds), or None."""
        row = self._conn().execute(_FIRST_TIME[table], (after,)).fetchone()
        return row[0] if row else None

    def unshipped(self, table: str, after: int) -> int:
        return self._conn().execute(_COUNT[table], (after,)).fetchone()[0]
