"""Call records: the SQLite database, its writer thread, CDRs, recordings and retention.

- ``cdr``: From what happened on a call to its one ``CallRecord``; ACD log entries to rows and back.
- ``database``: The call records database: CDRs, the ACD event log, agent state history, the audit
  log.
- ``errors``: The exceptions of the call records database, and the one place sqlite3 errors become
  ours.
- ``guard``: Last line of defence against storing a card number: find full PANs in text.
- ``recorder``: Call recordings: WAV files written by one thread so the media loop never waits on a
  disk.
- ``retention``: Retention: old call records, events and recordings expire by the document's policy.
- ``rows``: How records become table rows and back: the INSERT statements, JSON and ISO time
  columns,
- ``schema``: The records database schema and its migrations, versioned by ``PRAGMA user_version``.
- ``types``: The four kinds of record the call records database keeps, and the retention policy.
- ``writer``: The records writer thread: the media loop hands records over without ever touching
  SQLite.
"""

from branchline.firmware.records.database import (
    DB_FILENAME,
    AcdEvent,
    AgentStateChange,
    AuditEntry,
    CallRecord,
    DuplicateRecord,
    Expired,
    HangupSide,
    Outcome,
    Record,
    RecordRefused,
    Records,
    RecordsClosed,
    RecordsCorrupt,
    RecordsDiskFull,
    RecordsError,
    RecordsLocked,
    RecordsReadOnly,
    RecordsTooNew,
    RecordsUnavailable,
    RetentionPolicy,
    SensitiveDataRefused,
    TraceStep,
    remove_recordings,
)

__all__ = [
    "DB_FILENAME",
    "AcdEvent",
    "AgentStateChange",
    "AuditEntry",
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
