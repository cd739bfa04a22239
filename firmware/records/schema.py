"""The records database schema and its migrations, versioned by ``PRAGMA user_version``.

``MIGRATIONS[i]`` takes the schema from version i to i + 1. A new database runs them all; an
old one runs those it lacks, each in its own transaction together with the user_version bump,
so a crash mid-migration leaves the previous version intact. Migrations are only ever
appended: a released one is never edited. A step is an SQL statement, or a function given the
connection (inside the same transaction) for what SQL alone cannot do.

Times are stored twice: ``*_epoch`` (REAL, UTC seconds, used for queries and ordering) and
``*_utc`` (TEXT, ISO 8601 with a Z, for people reading the file with the sqlite3 shell).
Log tables have an INTEGER PRIMARY KEY ``seq`` given in append order: ordering by it replays
events exactly as they were written, even when two share a timestamp.
"""

import json

from branchline.firmware.records.dispositions import DISPOSITIONS_SCHEMA
from branchline.firmware.records.quality import QUALITY_SCHEMA
from branchline.firmware.records.visits import (
    ADD_HOUR,
    ADD_HOUR_TIME,
    INSERT_CALL_PATH,
    INSERT_VISIT,
    call_path_row,
    hour_row,
    hour_time_row,
    visit_rows,
)

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


def _visits_of_stored_calls(db):
    for call_id, version, started, caller, dialled, path, outcome, queue in db.execute(
            "SELECT call_id, config_version, started_epoch, caller, dialled, ivr_path, "
            "outcome, queue FROM calls").fetchall():
        rows = visit_rows(version, started, call_id, dialled, json.loads(path))
        db.execute(INSERT_CALL_PATH, call_path_row(call_id, started, caller, version, dialled,
                                                   outcome, queue, rows))
        db.executemany(INSERT_VISIT, rows)
        db.executemany(ADD_HOUR, [hour_row(row) for row in rows])
        db.executemany(ADD_HOUR_TIME, [hour_time_row(row) for row in rows])


# Version 3: each call's IVR path as node visits (visits.py), for the menus' funnel: kept in
# order of version and time, so one version's period is one range of the table. Calls already
# stored get their visits.
_V3 = (
    """
    CREATE TABLE ivr_visits (
        config_version  INTEGER NOT NULL,
        started_epoch   REAL NOT NULL,    -- the call's start
        call_id         TEXT NOT NULL,
        step            INTEGER NOT NULL, -- the visit's place in the call, from 0
        dialled         TEXT NOT NULL,    -- the line, so one flow's calls can be chosen
        node            TEXT NOT NULL,
        kind            TEXT NOT NULL,
        seconds         REAL NOT NULL,
        exit            TEXT NOT NULL,
        next_node       TEXT NOT NULL,    -- '' for the call's last visit
        no_input        INTEGER NOT NULL,
        invalid         INTEGER NOT NULL,
        first           INTEGER NOT NULL, -- 1: the call's first visit of this node
        to_person       INTEGER NOT NULL, -- 1: after this visit the call first reached a person
        PRIMARY KEY (config_version, started_epoch, call_id, step)
    ) WITHOUT ROWID
    """,
    # The same visits summed per UTC hour (hour = floor(epoch / 3600)), so a year's funnel
    # reads a few hundred thousand rows instead of millions: how many left each node by each
    # exit to each next node, and how many stayed each whole second (for the percentiles).
    """
    CREATE TABLE ivr_hours (
        config_version  INTEGER NOT NULL,
        hour            INTEGER NOT NULL,
        dialled         TEXT NOT NULL,
        node            TEXT NOT NULL,
        kind            TEXT NOT NULL,
        exit            TEXT NOT NULL,
        next_node       TEXT NOT NULL,
        visits          INTEGER NOT NULL,
        first           INTEGER NOT NULL,
        timed_out       INTEGER NOT NULL, -- visits with at least one no-input
        invalid         INTEGER NOT NULL, -- visits with at least one invalid entry
        to_person       INTEGER NOT NULL, -- visits after which the call first reached a person
        PRIMARY KEY (config_version, hour, dialled, node, exit, next_node)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE ivr_hour_times (
        config_version  INTEGER NOT NULL,
        hour            INTEGER NOT NULL,
        dialled         TEXT NOT NULL,
        node            TEXT NOT NULL,
        seconds         INTEGER NOT NULL, -- time in the node, whole seconds rounded down
        visits          INTEGER NOT NULL,
        PRIMARY KEY (config_version, hour, dialled, node, seconds)
    ) WITHOUT ROWID
    """,
    # One row per call, in the order of its caller's calls: repeat calls and containment
    # look at the same number's next calls without sorting.
    """
    CREATE TABLE ivr_calls (
        caller          TEXT NOT NULL,
        started_epoch   REAL NOT NULL,
        call_id         TEXT NOT NULL,
        config_version  INTEGER NOT NULL,
        dialled         TEXT NOT NULL,
        path            TEXT NOT NULL,    -- the last play node heard, '' for none
        served          INTEGER NOT NULL, -- 1: self-served, never queued
        person          INTEGER NOT NULL, -- 1: queued or transferred
        PRIMARY KEY (caller, started_epoch, call_id)
    ) WITHOUT ROWID
    """,
    _visits_of_stored_calls,
)


def _with_autoincrement(table):
    """The statements that rebuild a v1 log table with ``seq`` AUTOINCREMENT, indexes too."""
    create = next(s for s in _V1 if f"CREATE TABLE {table} (" in s)
    head, rest = create.split("INTEGER PRIMARY KEY", 1)
    return (
        head.replace(f"CREATE TABLE {table} (", f"CREATE TABLE {table}_v4 (")
        + "INTEGER PRIMARY KEY AUTOINCREMENT" + rest,
        f"INSERT INTO {table}_v4 SELECT * FROM {table}",
        f"DROP TABLE {table}",
        f"ALTER TABLE {table}_v4 RENAME TO {table}",
        *(s for s in _V1 if s.startswith("CREATE INDEX") and f" ON {table} (" in s),
    )


# Version 4: positions for shipping records to the centre (firmware/fleet/). A log's seq must
# never be given twice, even after retention deleted the newest rows, so the log tables get
# AUTOINCREMENT; calls get their order of arrival in call_ship_order, kept by triggers.
_V4 = (
    *_with_autoincrement("acd_events"),
    *_with_autoincrement("agent_states"),
    *_with_autoincrement("audit"),
    """
    CREATE TABLE call_ship_order (
        seq      INTEGER PRIMARY KEY AUTOINCREMENT,
        call_id  TEXT NOT NULL UNIQUE
    )
    """,
    "INSERT INTO call_ship_order (call_id) SELECT call_id FROM calls ORDER BY ended_epoch, call_id",
    """
    CREATE TRIGGER calls_ship_order AFTER INSERT ON calls
    BEGIN INSERT INTO call_ship_order (call_id) VALUES (NEW.call_id); END
    """,
    """
    CREATE TRIGGER calls_ship_order_gone AFTER DELETE ON calls
    BEGIN DELETE FROM call_ship_order WHERE call_id = OLD.call_id; END
    """,
)

# Version 5: the agent desktop's dispositions (wrap-up code and notes per call).
_V5 = DISPOSITIONS_SCHEMA

# Version 6: a SIP call's media quality (loss, jitter, round trip, R, MOS) with its record.
_V6 = QUALITY_SCHEMA

MIGRATIONS = (_V1, _V2, _V3, _V4, _V5, _V6)
SCHEMA_VERSION = len(MIGRATIONS)
