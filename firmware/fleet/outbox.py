"""What a branch has not shipped yet: rows of records.db past the centre's marks, as JSON.

Each shipped table has a shipping position that is never given twice (records schema v4):
``seq`` of the log tables (AUTOINCREMENT), ``call_ship_order.seq`` for calls. A batch is the
next rows past a mark, in that order, as the JSON array ``ship`` reads (central/ingest.py).
Columns that hold JSON in SQLite are spliced in as they are, not parsed and dumped again.

The connection is the shipper thread's own and only ever reads (``query_only``).
"""

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Batch", "Outbox"]

# Per table: (SELECT of the rows past a mark, ordered; the columns' JSON keys; which columns
# already hold JSON text; the row's time column for the lag).
_CALLS = (
    "SELECT o.seq, c.call_id, c.started_epoch, c.answered_epoch, c.ended_epoch, c.caller, "
    "c.dialled, c.port, c.config_version, c.language, c.ivr_path, c.host_results, c.queue, "
    "c.priority_class, c.agent_id, c.wait_seconds, c.talk_seconds, c.wrapup_seconds, "
    "c.survey_score, c.recording, c.outcome, c.hangup_side, c.hangup_reason "
    "FROM call_ship_order o JOIN calls c ON c.call_id = o.call_id "
    "WHERE o.seq > ? ORDER BY o.seq LIMIT ?",
    ("ship_seq", "call_id", "started", "answered", "ended", "caller", "dialled", "port",
     "config_version", "language", "ivr_path", "host_results", "queue", "priority_class",
     "agent_id", "wait_seconds", "talk_seconds", "wrapup_seconds", "survey_score",
     "recording", "outcome", "hangup_side", "hangup_reason"),
    {"ivr_path", "host_results"},
)
_TABLES = {
    "calls": _CALLS,
    "acd_events": (
        "SELECT seq, at_epoch, call_id, queue, agent, name, data FROM acd_events "
        "WHERE seq > ? ORDER BY seq LIMIT ?",
        ("seq", "at_epoch", "call_id", "queue", "agent", "name", "data"), {"data"}),
    "agent_states": (
        "SELECT seq, at_epoch, agent, from_state, to_state, reason FROM agent_states "
        "WHERE seq > ? ORDER BY seq LIMIT ?",
        ("seq", "at_epoch", "agent", "from_state", "to_state", "reason"), set()),
    "audit": (
        "SELECT seq, at_epoch, who, what, diff FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
        ("seq", "at_epoch", "who", "what", "diff"), set()),
}
# The time of the first row past a mark, for the lag.
_FIRST_TIME = {
    "calls": "SELECT c.ended_epoch FROM call_ship_order o JOIN calls c "
             "ON c.call_id = o.call_id WHERE o.seq > ? ORDER BY o.seq LIMIT 1",
    "acd_events": "SELECT at_epoch FROM acd_events WHERE seq > ? ORDER BY seq LIMIT 1",
    "agent_states": "SELECT at_epoch FROM agent_states WHERE seq > ? ORDER BY seq LIMIT 1",
    "audit": "SELECT at_epoch FROM audit WHERE seq > ? ORDER BY seq LIMIT 1",
}
_COUNT = {
    "calls": "SELECT count(*) FROM call_ship_order WHERE seq > ?",
    "acd_events": "SELECT count(*) FROM acd_events WHERE seq > ?",
    "agent_states": "SELECT count(*) FROM agent_states WHERE seq > ?",
    "audit": "SELECT count(*) FROM audit WHERE seq > ?",
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
        sql, keys, raw = _TABLES[table]
        rows = self._conn().execute(sql, (after, limit)).fetchall()
        if not rows:
            return None
        parts = []
        for row in rows:
            fields = (f"{json.dumps(k)}:{v if k in raw else json.dumps(v, ensure_ascii=False)}"
                      for k, v in zip(keys, row, strict=True))
            parts.append("{" + ",".join(fields) + "}")
        return Batch(table, after, rows[-1][0], len(rows), "[" + ",".join(parts) + "]")

    def first_unshipped_at(self, table: str, after: int) -> float | None:
        """When the first record past ``after`` happened (epoch seconds), or None."""
        row = self._conn().execute(_FIRST_TIME[table], (after,)).fetchone()
        return row[0] if row else None

    def unshipped(self, table: str, after: int) -> int:
        return self._conn().execute(_COUNT[table], (after,)).fetchone()[0]
