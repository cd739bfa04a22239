"""The call records database: CDRs, the ACD event log, agent state history, the audit log.

One SQLite file in the data directory (``records.db``), in WAL mode with ``synchronous=FULL``:
a write is acknowledged only after its transaction committed, and a committed transaction
survives a power cut; an interrupted one leaves nothing behind. See docs/records.md for the
schema, the durability argument and the measured cost.

    with Records(DataDir(data_dir).records_db) as records:
        records.append_many([call_record, acd_event, ...])   # one transaction
        for cdr in records.calls(since, until, queue="loans"): ...

The intended pattern on the device: the media loop never touches SQLite. It puts finished
records on a queue; one writer thread owns a ``Records`` (a connection belongs to the thread
that opened it), drains whatever the queue holds, writes it with one ``append_many`` (one
commit, one fsync of the WAL for the whole batch) and only then acknowledges those records
(acknowledged = committed); ``records_writer.RecordWriter`` is that thread. Readers (the web
service, exports) open their own ``Records`` on the same file; WAL lets them read while the
writer writes.

Errors: every sqlite3 exception is turned into one of ours in ``records_errors`` (the tree is in
its docstring) with ``raise ... from``; a refused batch is rolled back as a whole. Before any
write, every text field (JSON included) is checked for a full card number (``records_rows``
applies ``records_guard``); if one is found the batch is refused with SensitiveDataRefused.
"""

import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from branchline.config.data_dir import DataDir
from branchline.firmware.records.dispositions import Disposition, disposition_row
from branchline.firmware.records.errors import (
    DuplicateRecord,
    RecordRefused,
    RecordsClosed,
    RecordsCorrupt,
    RecordsDiskFull,
    RecordsError,
    RecordsLocked,
    RecordsReadOnly,
    RecordsTooNew,
    RecordsUnavailable,
    SensitiveDataRefused,
    map_sqlite_error,
)
from branchline.firmware.records.rows import (
    CALL_COLUMNS,
    CLOSE_OPEN,
    INSERT_CALL,
    OPEN_COLUMNS,
    call_from_row,
    event_from_row,
    opened_from_row,
    row_for,
    state_from_row,
    store_call_ivr,
)
from branchline.firmware.records.schema import MIGRATIONS, SCHEMA_VERSION
from branchline.firmware.records.types import (
    AcdEvent,
    AgentStateChange,
    AuditEntry,
    CallOpened,
    CallRecord,
    Expired,
    HangupSide,
    Outcome,
    Record,
    RetentionPolicy,
    TraceStep,
    check_recording_path,
)

__all__ = [
    "DB_FILENAME",
    "AcdEvent",
    "AgentStateChange",
    "AuditEntry",
    "CallOpened",
    "CallRecord",
    "DuplicateRecord",
    "Expired",
    "HangupSide",
    "Outcome",
    "Record",
    "RecordRefused",
    "Records",
    "RecordsClosed",
    "RecordsCorrupt",
    "RecordsDiskFull",
    "RecordsError",
    "RecordsLocked",
    "RecordsReadOnly",
    "RecordsTooNew",
    "RecordsUnavailable",
    "RetentionPolicy",
    "SensitiveDataRefused",
    "TraceStep",
    "remove_recordings",
]

# The file's name inside the data directory.
DB_FILENAME = "records.db"
DAY = 86400.0
_FETCH = 500

class Records:
    """The records database at ``path``; use as a context manager or call open()/close().

    ``busy_timeout`` is how long (seconds) a write waits for another writer before it raises
    RecordsLocked. One instance belongs to the thread that opened it.
    """

    def __init__(self, path, *, busy_timeout=5.0):
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._db = None

    # -- lifecycle -------------------------------------------------------------------------

    def open(self):
        """Open the file (creating it and its schema on first use) and migrate it; returns self."""
        if self._db is not None:
            return self
        if not self.path.parent.is_dir():
            raise RecordsReadOnly(
                f"call records {self.path}: opening: the data directory {self.path.parent} "
                "does not exist; create it (owned by the branchline user) or fix the path"
            )
        try:
            db = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise map_sqlite_error(exc, self.path, "opening") from exc
        try:
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise RecordsError(
                    f"call records {self.path}: SQLite refused WAL mode (got {mode!r}); the "
                    "data directory must be on a local file system that supports shared memory"
                )
            db.execute("PRAGMA synchronous=FULL")
            self._migrate(db)
        except sqlite3.Error as exc:
            db.close()
            raise map_sqlite_error(exc, self.path, "opening") from exc
        except RecordsError:
            db.close()
            raise
        self._db = db
        return self

    def close(self):
        """Close the connection (idempotent). Everything acknowledged is already on disk."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc_info):
        self.close()

    @property
    def durability(self) -> tuple[str, str]:
        """(journal mode, synchronous level) of this connection: ("wal", "full")."""
        db = self._conn()
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
        level = db.execute("PRAGMA synchronous").fetchone()[0]
        return mode, {0: "off", 1: "normal", 2: "full", 3: "extra"}[level]

    @property
    def schema_version(self):
        return self._conn().execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self, db):
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RecordsTooNew(
                f"call records {self.path}: schema version {version} is newer than this "
                f"software's {SCHEMA_VERSION}; run the Branchline release that wrote it, or "
                "restore the database that matches this release"
            )
        if version == 0 and db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]:
            raise RecordsCorrupt(
                f"call records {self.path}: the file holds tables but no Branchline schema "
                "version; it is not a records database, move it aside"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            db.execute("BEGIN IMMEDIATE")
            try:
                for statement in MIGRATIONS[target - 1]:
                    if callable(statement):
                        statement(db)
                    else:
                        db.execute(statement)
                # PRAGMA takes no parameters; target is our own integer.
                db.execute(f"PRAGMA user_version = {target:d}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _conn(self):
        if self._db is None:
            raise RecordsClosed(
                f"call records {self.path}: used while closed; call open() or use `with`"
            )
        return self._db

    # -- writing ---------------------------------------------------------------------------

    def append_many(self, records: Iterable[Record]) -> int:
        """Store all ``records`` in one transaction; returns how many. All or nothing.

        When it returns, the records are committed (acknowledge them then, not before). Any
        refusal (bad value, duplicate call id, card number) stores none of them.
        """
        rows = [row_for(record) for record in records]
        if not rows:
            return 0
        db = self._conn()
        try:
            db.execute("BEGIN IMMEDIATE")
            for sql, params in rows:
                db.execute(sql, params)
                if sql is INSERT_CALL:
                    db.execute(CLOSE_OPEN, (params[0],))
                    store_call_ivr(db, params)
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.IntegrityError) and "calls.call_id" in str(exc):
                raise self._duplicate(rows) from exc
            raise map_sqlite_error(exc, self.path, f"writing {len(rows)} records") from exc
        return len(rows)

    def add_call(self, record: CallRecord):
        """Store one call record in its own transaction."""
        self._append_one(record, CallRecord)

    def add_event(self, event: AcdEvent):
        """Append one ACD event in its own transaction."""
        self._append_one(event, AcdEvent)

    def add_agent_state(self, change: AgentStateChange):
        """Append one agent state change in its own transaction."""
        self._append_one(change, AgentStateChange)

    def add_audit(self, entry: AuditEntry):
        """Append one audit entry in its own transaction."""
        self._append_one(entry, AuditEntry)

    def add_disposition(self, disposition: Disposition):
        """Store (or replace) one call's disposition (dispositions.py), committed on return."""
        sql, params = disposition_row(disposition)
        db = self._conn()
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute(sql, params)
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise map_sqlite_error(exc, self.path, "writing a disposition") from exc

    def _append_one(self, record, kind):
        if not isinstance(record, kind):
            raise RecordRefused(
                f"call records: expected a {kind.__name__}, got {type(record).__name__}"
            )
        self.append_many([record])

    def _duplicate(self, rows):
        ids = [params[0] for sql, params in rows if sql is INSERT_CALL]
        seen, repeated = set(), []
        for call_id in ids:
            if call_id in seen:
                repeated.append(call_id)
            seen.add(call_id)
        marks = ", ".join("?" * len(ids))
        stored = [row[0] for row in self._conn().execute(
            f"SELECT call_id FROM calls WHERE call_id IN ({marks})", ids)]
        clash = sorted(set(repeated) | set(stored))
        return DuplicateRecord(
            f"call records {self.path}: call id(s) {', '.join(clash)} already stored; a call "
            "has exactly one record, nothing of this batch was stored"
        )

    # -- reading ---------------------------------------------------------------------------

    def call(self, call_id) -> CallRecord | None:
        """The record of one call, or None."""
        rows = list(self._select(
            f"SELECT {CALL_COLUMNS} FROM calls WHERE call_id = ?", (call_id,), call_from_row))
        return rows[0] if rows else None

    def calls(self, since, until, *, queue=None, agent=None) -> list[CallRecord]:
        """Calls that started in [since, until), oldest first, optionally of one queue/agent."""
        sql = f"SELECT {CALL_COLUMNS} FROM calls WHERE started_epoch >= ? AND started_epoch < ?"
        params = [since, until]
        if queue is not None:
            sql += " AND queue = ?"
            params.append(queue)
        if agent is not None:
            sql += " AND agent_id = ?"
            params.append(agent)
        return list(self._select(sql + " ORDER BY started_epoch, call_id", params,
                                 call_from_row))

    def open_calls(self) -> list[CallOpened]:
        """Calls answered and not recorded yet: in progress, or lost when the appliance died."""
        return list(self._select(f"SELECT {OPEN_COLUMNS} FROM open_calls ORDER BY "
                                 "started_epoch, call_id", (), opened_from_row))

    def recorded(self, call_ids) -> set[str]:
        """Which of ``call_ids`` have a call record."""
        ids, found = list(call_ids), set()
        for i in range(0, len(ids), _FETCH):
            chunk = ids[i:i + _FETCH]
            found.update(row[0] for row in self._conn().execute(
                f"SELECT call_id FROM calls WHERE call_id IN ({', '.join('?' * len(chunk))})",
                chunk))
        return found

    def unfinished_event_calls(self, finished: Iterable[str]) -> list[str]:
        """Calls with ACD events but no record, and calls whose last ACD event (ring and
        agent-state events aside) is not in ``finished`` (nor a call back given up): what a
        crash leaves open."""
        finished = tuple(finished)
        sql = f"""
            SELECT call_id FROM acd_events WHERE seq IN (
                SELECT max(seq) FROM acd_events WHERE call_id IS NOT NULL
                AND name NOT IN ('AGENTSTATE', 'RINGNOANSWER', 'RINGCANCELED')
                GROUP BY call_id)
            AND ((name NOT IN ({", ".join("?" * len(finished))})
                  AND NOT (name = 'CALLBACKFAILED'
                           AND json_extract(data, '$.reason') = 'gave up'))
                 OR NOT EXISTS (SELECT 1 FROM calls WHERE calls.call_id = acd_events.call_id))
            ORDER BY seq"""
        return [row[0] for row in self._conn().execute(sql, finished)]

    def call_events(self, call_id) -> list[AcdEvent]:
        """Every ACD event of one call, in log order."""
        return list(self._select(
            "SELECT at_epoch, name, call_id, queue, agent, data FROM acd_events "
            "WHERE call_id = ? ORDER BY seq", (call_id,), event_from_row))

    def last_moment(self, call_prefix: str | None = None) -> float | None:
        """The latest time the records hold, or the latest of the calls whose id starts with
        ``call_prefix``: the appliance was alive at least until then."""
        sources = [("calls", "ended_epoch"), ("acd_events", "at_epoch"),
                   ("open_calls", "answered_epoch")]
        where, params = "", ()
        if call_prefix:
            # A prefix as a range, so the call_id indexes serve it.
            where = "WHERE call_id >= ? AND call_id < ?"
            params = (call_prefix, call_prefix[:-1] + chr(ord(call_prefix[-1]) + 1))
        else:
            sources.append(("agent_states", "at_epoch"))
        db = self._conn()
        times = [db.execute(f"SELECT max({column}) FROM {table} {where}", params).fetchone()[0]
                 for table, column in sources]
        known = [t for t in times if t is not None]
        return max(known) if known else None

    def iter_calls(self, since=0.0, until=float("inf")) -> Iterator[CallRecord]:
        """Every call that started in [since, until), oldest first, fetched in chunks."""
        return self._select(
            f"SELECT {CALL_COLUMNS} FROM calls WHERE started_epoch >= ? AND started_epoch < ?"
            " ORDER BY started_epoch, call_id", (since, until), call_from_row)

    def events(self, since, until, *, call_id=None, queue=None) -> list[AcdEvent]:
        """ACD events stamped in [since, until), in the order they were appended (replay)."""
        sql = ("SELECT at_epoch, name, call_id, queue, agent, data FROM acd_events "
               "WHERE at_epoch >= ? AND at_epoch < ?")
        params = [since, until]
        if call_id is not None:
            sql += " AND call_id = ?"
            params.append(call_id)
        if queue is not None:
            sql += " AND queue = ?"
            params.append(queue)
        return list(self._select(sql + " ORDER BY seq", params, event_from_row))

    def iter_events(self, since=0.0, until=float("inf")) -> Iterator[AcdEvent]:
        """Every ACD event stamped in [since, until), in append order."""
        return self._select(
            "SELECT at_epoch, name, call_id, queue, agent, data FROM acd_events "
            "WHERE at_epoch >= ? AND at_epoch < ? ORDER BY seq", (since, until), event_from_row)

    def agent_history(self, agent, since=0.0, until=float("inf")) -> list[AgentStateChange]:
        """One agent's state changes stamped in [since, until), in append order."""
        return list(self._select(
            "SELECT at_epoch, agent, from_state, to_state, reason FROM agent_states "
            "WHERE agent = ? AND at_epoch >= ? AND at_epoch < ? ORDER BY seq",
            (agent, since, until), state_from_row))

    def latest_agent_states(self) -> dict[str, AgentStateChange]:
        """The last state change of every agent, by agent id."""
        rows = self._select(
            "SELECT at_epoch, agent, from_state, to_state, reason FROM agent_states "
            "WHERE seq IN (SELECT max(seq) FROM agent_states GROUP BY agent) ORDER BY agent",
            (), state_from_row)
        return {change.agent: change for change in rows}

    def iter_agent_states(self, since=0.0, until=float("inf")) -> Iterator[AgentStateChange]:
        """Every agent state change stamped in [since, until), in append order."""
        return self._select(
            "SELECT at_epoch, agent, from_state, to_state, reason FROM agent_states "
            "WHERE at_epoch >= ? AND at_epoch < ? ORDER BY seq", (since, until), state_from_row)

    def audit(self, since=0.0, until=float("inf")) -> list[AuditEntry]:
        """Audit entries stamped in [since, until), in append order."""
        return list(self.iter_audit(since, until))

    def iter_audit(self, since=0.0, until=float("inf")) -> Iterator[AuditEntry]:
        return self._select(
            "SELECT at_epoch, who, what, diff FROM audit WHERE at_epoch >= ? AND at_epoch < ? "
            "ORDER BY seq", (since, until), lambda row: AuditEntry(*row))

    def rows(self, sql, params=()) -> list[tuple]:
        """The rows of one read-only query (reports over the tables, such as ivr_visits)."""
        return list(self._select(sql, params, tuple))

    def _select(self, sql, params, convert):
        db = self._conn()
        try:
            cursor = db.execute(sql, params)
        except sqlite3.Error as exc:
            raise map_sqlite_error(exc, self.path, "reading") from exc
        return _rows(cursor, convert, self.path)

    # -- maintenance -----------------------------------------------------------------------

    def expire(self, now, policy: RetentionPolicy) -> Expired:
        """Delete what ``policy`` says is too old at ``now`` (epoch seconds), in one transaction.

        Age is counted from a call's start and an entry's timestamp. Returns the counts and
        the recording files no record points at any more (relative to the data directory):
        delete them after this returns, with ``remove_recordings``. In that order a crash can
        at worst leave an orphan file, never a record pointing at a deleted recording.
        """
        cut = {
            name: (now - days * DAY if days is not None else None)
            for name, days in (
                ("calls", policy.calls_days),
                ("events", policy.events_days),
                ("states", policy.agent_states_days),
                ("recordings", policy.recordings_days),
                ("audit", policy.audit_days),
            )
        }
        # A recording goes when it is old enough itself or when its call record goes.
        recording_cut = max(c for c in (cut["recordings"], cut["calls"], -1.0) if c is not None)
        db = self._conn()
        try:
            db.execute("BEGIN IMMEDIATE")
            recordings = tuple(row[0] for row in db.execute(
                "SELECT recording FROM calls WHERE recording IS NOT NULL AND started_epoch < ? "
                "ORDER BY started_epoch, call_id", (recording_cut,)))
            db.execute("UPDATE calls SET recording = NULL WHERE recording IS NOT NULL "
                       "AND started_epoch < ?", (recording_cut,))
            counts = {}
            if cut["calls"] is not None:
                # An hour's or a day's sums go with its last call.
                db.execute("DELETE FROM ivr_visits WHERE started_epoch < ?", (cut["calls"],))
                db.execute("DELETE FROM ivr_calls WHERE started_epoch < ?", (cut["calls"],))
                for table in ("ivr_hours", "ivr_hour_times"):
                    db.execute(f"DELETE FROM {table} WHERE (hour + 1) * 3600 <= ?",
                               (cut["calls"],))
                for table in ("ivr_days", "ivr_day_times"):
                    db.execute(f"DELETE FROM {table} WHERE (day + 1) * 86400 <= ?",
                               (cut["calls"],))
            for name, sql in (
                ("calls", "DELETE FROM calls WHERE started_epoch < ?"),
                ("events", "DELETE FROM acd_events WHERE at_epoch < ?"),
                ("states", "DELETE FROM agent_states WHERE at_epoch < ?"),
                ("audit", "DELETE FROM audit WHERE at_epoch < ?"),
            ):
                counts[name] = (
                    db.execute(sql, (cut[name],)).rowcount if cut[name] is not None else 0
                )
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise map_sqlite_error(exc, self.path, "expiring old records") from exc
        return Expired(calls=counts["calls"], events=counts["events"],
                       agent_states=counts["states"], audit=counts["audit"],
                       recordings=recordings)

    def integrity_problems(self) -> list[str]:
        """What ``PRAGMA integrity_check`` finds wrong; empty when the file is sound."""
        try:
            rows = [row[0] for row in self._conn().execute("PRAGMA integrity_check")]
        except sqlite3.Error as exc:
            raise map_sqlite_error(exc, self.path, "checking integrity") from exc
        return [] if rows == ["ok"] else rows


def remove_recordings(data_dir, paths) -> list[str]:
    """Delete expired recording files; returns the paths deleted (missing ones are skipped).

    Each path must be relative to ``data_dir`` and resolve, symlinks followed, inside
    ``data_dir/recordings``; anything else is refused (RecordRefused) before any file is touched.
    """
    data = DataDir.of(data_dir)
    root = data.recordings.resolve()
    targets = []
    for path in paths:
        check_recording_path(path, "removing a recording")
        target = (data.root / path).resolve()
        if not target.is_relative_to(root):
            raise RecordRefused(
                f"removing a recording: {path!r} resolves to {target}, outside {root}; "
                "a symlink points out of the recordings directory, remove it by hand"
            )
        targets.append((path, target))
    removed = []
    for path, target in targets:
        try:
            os.remove(target)
        except FileNotFoundError:
            continue
        removed.append(path)
    return removed


def _rows(cursor, convert, path):
    try:
        while chunk := cursor.fetchmany(_FETCH):
            yield from (convert(row) for row in chunk)
    except sqlite3.Error as exc:
        raise map_sqlite_error(exc, path, "reading") from exc
    finally:
        cursor.close()
