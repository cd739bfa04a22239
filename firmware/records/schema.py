"""The records database schema and its migrations, versioned by ``PRAGMA user_version``.

``MIGRATIONS[i]`` takes the schema from version i to i + 1. A new database runs them all; an
old one runs those it lacks, each in its own transaction together with the user_version bump,
so a crash mid-migration leaves the previous version intact. Migrations are only ever
appended: a released one is never edited.

Times are stored twice: ``*_epoch`` (REAL, UTC seconds, used for queries and ordering) and
``*_utc`` (TEXT, ISO 8601 with a Z, for people reading the file with the sqlite3 shell).
Log tables have an INTEGER PRIMARY KEY ``seq`` given in append order: ordering by it replays
events exactly as they were written, even when two share a timestamp.
"""

_V1 = (
    """
    CREATE TABLE calls (
        call_id         TEXT PRIMARY KEY,
        started_epoch   REAL NOT NULL,
        started_utc     TEXT NOT NULL,
        answered_epoch  REAL,
        answered_utc    TEXT,
        ended_epoch     REAL NOT NULL,
        ended_utc       TEXT NOT NULL,
        caller          TEXT NOT NULL,
        dialled         TEXT NOT NULL,
        port            TEXT NOT NULL,
        config_version  INTEGER NOT NULL,
        language        TEXT NOT NULL,
        ivr_path        TEXT NOT NULL,    -- JSON: [{"at": epoch, "node": ..., "digits": ...}]
        host_results    TEXT NOT NULL,    -- JSON object, masked by the IVR
        queue           TEXT,
        priority_class  TEXT,
        agent_id        TEXT,
        wait_seconds    REAL NOT NULL,
        talk_seconds    REAL NOT NULL,
        wrapup_seconds  REAL NOT NULL,
        survey_score    INTEGER,
        recording       TEXT,             -- relative to the data directory, under recordings/
        outcome         TEXT NOT NULL CHECK (outcome IN ('self-served', 'answered',
                            'abandoned-in-ivr', 'abandoned-in-queue', 'overflowed',
                            'callback', 'transferred', 'error')),
        hangup_side     TEXT NOT NULL CHECK (hangup_side IN ('caller', 'agent', 'system')),
        hangup_reason   TEXT NOT NULL
    ) WITHOUT ROWID
    """,
    "CREATE INDEX calls_started ON calls (started_epoch)",
    "CREATE INDEX calls_queue ON calls (queue, started_epoch)",
    "CREATE INDEX calls_agent ON calls (agent_id, started_epoch)",
    """
    CREATE TABLE acd_events (
        seq       INTEGER PRIMARY KEY,
        at_epoch  REAL NOT NULL,
        at_utc    TEXT NOT NULL,
        call_id   TEXT,
        queue     TEXT,
        agent     TEXT,
        name      TEXT NOT NULL,
        data      TEXT NOT NULL           -- JSON object
    )
    """,
    "CREATE INDEX acd_events_at ON acd_events (at_epoch)",
    "CREATE INDEX acd_events_call ON acd_events (call_id)",
    """
    CREATE TABLE agent_states (
        seq         INTEGER PRIMARY KEY,
        at_epoch    REAL NOT NULL,
        at_utc      TEXT NOT NULL,
        agent       TEXT NOT NULL,
        from_state  TEXT NOT NULL,
        to_state    TEXT NOT NULL,
        reason      TEXT NOT NULL
    )
    """,
    "CREATE INDEX agent_states_agent ON agent_states (agent, seq)",
    "CREATE INDEX agent_states_at ON agent_states (at_epoch)",
    """
    CREATE TABLE audit (
        seq       INTEGER PRIMARY KEY,
        at_epoch  REAL NOT NULL,
        at_utc    TEXT NOT NULL,
        who       TEXT NOT NULL,
        what      TEXT NOT NULL,
        diff      TEXT NOT NULL
    )
    """,
    "CREATE INDEX audit_at ON audit (at_epoch)",
)

# Version 2: the outcome 'appliance-restarted' (SQLite cannot change a CHECK in place, so the
# calls table is rebuilt), and open_calls: a call answered and not yet recorded.
_V2 = (
    _V1[0].replace("CREATE TABLE calls (", "CREATE TABLE calls_v2 (").replace(
        "'callback', 'transferred', 'error')", "'callback', 'transferred', 'error', "
        "'appliance-restarted')"),
    "INSERT INTO calls_v2 SELECT * FROM calls",
    "DROP TABLE calls",
    "ALTER TABLE calls_v2 RENAME TO calls",
    *_V1[1:4],
    """
    CREATE TABLE open_calls (
        call_id         TEXT PRIMARY KEY,
        started_epoch   REAL NOT NULL,
        started_utc     TEXT NOT NULL,
        answered_epoch  REAL NOT NULL,
        answered_utc    TEXT NOT NULL,
        caller          TEXT NOT NULL,
        dialled         TEXT NOT NULL,
        port            TEXT NOT NULL,
        config_version  INTEGER NOT NULL
    ) WITHOUT ROWID
    """,
)

MIGRATIONS = (_V1, _V2)
SCHEMA_VERSION = len(MIGRATIONS)
