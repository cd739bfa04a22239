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
from branchline.firmware.records.holds import HOLDS_SCHEMA
from branchline.firmware.records.quality import QUALITY_SCHEMA
from branchline.firmware.records.visits import (
    ADD_HOUR,
    ADD_HOUR_TIME,
    NEXT_HORIZON_S,
    call_path_row,
    hour_row,
    hour_time_row,
    older_mode,
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


# Version 3's statements as they were (visits.py's grew the columns of version 7).
_V3_INSERT_VISIT = (
    "INSERT INTO ivr_visits (config_version, started_epoch, call_id, step, dialled, node, "
    "kind, seconds, exit, next_node, no_input, invalid, first, to_person) "
    "VALUES (" + ", ".join("?" * 14) + ")"
)
_V3_ADD_HOUR = (
    "INSERT INTO ivr_hours (config_version, hour, dialled, node, kind, exit, next_node, "
    "visits, first, timed_out, invalid, to_person) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?) "
    "ON CONFLICT DO UPDATE SET visits = visits + 1, first = first + excluded.first, "
    "timed_out = timed_out + excluded.timed_out, invalid = invalid + excluded.invalid, "
    "to_person = to_person + excluded.to_person"
)
_V3_ADD_HOUR_TIME = (
    "INSERT INTO ivr_hour_times (config_version, hour, dialled, node, seconds, visits) "
    "VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT DO UPDATE SET visits = visits + 1"
)
_V3_INSERT_CALL_PATH = (
    "INSERT INTO ivr_calls (caller, started_epoch, call_id, config_version, dialled, path, "
    "served, person) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def _visits_of_stored_calls(db):
    for call_id, version, started, caller, dialled, path, outcome, queue in db.execute(
            "SELECT call_id, config_version, started_epoch, caller, dialled, ivr_path, "
            "outcome, queue FROM calls").fetchall():
        rows = visit_rows(version, started, call_id, dialled, json.loads(path))
        db.execute(_V3_INSERT_CALL_PATH, call_path_row(call_id, started, caller, version,
                                                       dialled, outcome, queue, rows))
        db.executemany(_V3_INSERT_VISIT, rows)
        db.executemany(_V3_ADD_HOUR, [hour_row(row) for row in rows])
        db.executemany(_V3_ADD_HOUR_TIME, [hour_time_row(row) for row in rows])


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


def _older_stored_calls(db):
    """Calls stored before version 7 that were in the older callers' mode: their visits and
    call rows say so, and their part of the hourly sums moves to the older callers' rows."""
    for call_id, version, started, dialled, path in db.execute(
            "SELECT call_id, config_version, started_epoch, dialled, ivr_path FROM calls "
            "WHERE ivr_path LIKE '%\"mode\"%'").fetchall():
        steps = json.loads(path)
        if not older_mode(steps):
            continue
        db.execute("UPDATE ivr_visits SET older = 1 WHERE config_version = ? "
                   "AND started_epoch = ? AND call_id = ?", (version, started, call_id))
        db.execute("UPDATE ivr_calls SET older = 1 WHERE call_id = ?", (call_id,))
        for row in visit_rows(version, started, call_id, dialled, steps):
            hour = hour_row(row)
            db.execute("UPDATE ivr_hours SET visits = visits - 1, first = first - ?, "
                       "timed_out = timed_out - ?, invalid = invalid - ?, "
                       "to_person = to_person - ? WHERE config_version = ? AND hour = ? "
                       "AND dialled = ? AND older = 0 AND node = ? AND exit = ? "
                       "AND next_node = ?", (*hour[7:], *hour[:3], hour[3], *hour[5:7]))
            db.execute(ADD_HOUR, (*hour, 1))
            time = hour_time_row(row)
            db.execute("UPDATE ivr_hour_times SET visits = visits - 1 WHERE config_version = ? "
                       "AND hour = ? AND dialled = ? AND node = ? AND seconds = ? "
                       "AND older = 0", time)
            db.execute(ADD_HOUR_TIME, (*time, 1))
    db.execute("DELETE FROM ivr_hours WHERE visits = 0")
    db.execute("DELETE FROM ivr_hour_times WHERE visits = 0")


def _rebuilt(table, create, select):
    """Statements that rebuild ``table`` as ``create`` (written for ``<table>_v7``), filled
    by ``select``."""
    return (create, f"INSERT INTO {table}_v7 {select}", f"DROP TABLE {table}",
            f"ALTER TABLE {table}_v7 RENAME TO {table}")


# Version 7: the caller's mode (older callers or standard) on every node visit, hourly sum and
# call, so the menus' reports can be had per mode; and, per call, how long until its number
# called again and next reached a person (visits.store_call keeps them as calls are written),
# so containment and repeats need no window over the calls at report time.
_V7 = (
    "ALTER TABLE ivr_visits ADD COLUMN older INTEGER NOT NULL DEFAULT 0",
    *_rebuilt("ivr_hours", """
    CREATE TABLE ivr_hours_v7 (
        config_version  INTEGER NOT NULL,
        hour            INTEGER NOT NULL,
        dialled         TEXT NOT NULL,
        older           INTEGER NOT NULL, -- 1: calls in the older callers' mode
        node            TEXT NOT NULL,
        kind            TEXT NOT NULL,
        exit            TEXT NOT NULL,
        next_node       TEXT NOT NULL,
        visits          INTEGER NOT NULL,
        first           INTEGER NOT NULL,
        timed_out       INTEGER NOT NULL,
        invalid         INTEGER NOT NULL,
        to_person       INTEGER NOT NULL,
        PRIMARY KEY (config_version, hour, dialled, older, node, exit, next_node)
    ) WITHOUT ROWID
    """, "SELECT config_version, hour, dialled, 0, node, kind, exit, next_node, visits, first, "
         "timed_out, invalid, to_person FROM ivr_hours"),
    *_rebuilt("ivr_hour_times", """
    CREATE TABLE ivr_hour_times_v7 (
        config_version  INTEGER NOT NULL,
        hour            INTEGER NOT NULL,
        dialled         TEXT NOT NULL,
        older           INTEGER NOT NULL,
        node            TEXT NOT NULL,
        seconds         INTEGER NOT NULL,
        visits          INTEGER NOT NULL,
        PRIMARY KEY (config_version, hour, dialled, older, node, seconds)
    ) WITHOUT ROWID
    """, "SELECT config_version, hour, dialled, 0, node, seconds, visits FROM ivr_hour_times"),
    *_rebuilt("ivr_calls", """
    CREATE TABLE ivr_calls_v7 (
        caller          TEXT NOT NULL,
        started_epoch   REAL NOT NULL,
        call_id         TEXT NOT NULL,
        config_version  INTEGER NOT NULL,
        dialled         TEXT NOT NULL,
        older           INTEGER NOT NULL,
        path            TEXT NOT NULL,
        served          INTEGER NOT NULL,
        person          INTEGER NOT NULL,
        next_call_s     REAL,             -- seconds to the number's next call (NULL: none
        next_person_s   REAL,             -- within a week, or withheld); to its next person
        PRIMARY KEY (caller, started_epoch, call_id)
    ) WITHOUT ROWID
    """, "SELECT caller, started_epoch, call_id, config_version, dialled, 0, path, served, "
         "person, CASE WHEN caller != '' THEN min(started_epoch) OVER later - started_epoch "
         "END, CASE WHEN caller != '' THEN min(CASE WHEN person THEN started_epoch END) "
         "OVER later - started_epoch END FROM ivr_calls WINDOW later AS (PARTITION BY caller "
         f"ORDER BY started_epoch RANGE BETWEEN 0.001 FOLLOWING AND {NEXT_HORIZON_S!r} "
         "FOLLOWING)"),
    _older_stored_calls,
)

# Version 8: hold time, the call's total and each hold (holds.py).
_V8 = HOLDS_SCHEMA

# Version 9: the menus' sums per UTC day (day = floor(hour / 24)) beside the hourly ones, so a
# year's funnel reads 365 days' rows per node and exit, not thousands of hours'.
_V9 = (
    """
    CREATE TABLE ivr_days (
        config_version  INTEGER NOT NULL,
        day             INTEGER NOT NULL,
        dialled         TEXT NOT NULL,
        older           INTEGER NOT NULL,
        node            TEXT NOT NULL,
        kind            TEXT NOT NULL,
        exit            TEXT NOT NULL,
        next_node       TEXT NOT NULL,
        visits          INTEGER NOT NULL,
        first           INTEGER NOT NULL,
        timed_out       INTEGER NOT NULL,
        invalid         INTEGER NOT NULL,
        to_person       INTEGER NOT NULL,
        PRIMARY KEY (config_version, day, dialled, older, node, exit, next_node)
    ) WITHOUT ROWID
    """,
    "INSERT INTO ivr_days SELECT config_version, hour / 24, dialled, older, node, kind, exit, "
    "next_node, sum(visits), sum(first), sum(timed_out), sum(invalid), sum(to_person) "
    "FROM ivr_hours GROUP BY config_version, hour / 24, dialled, older, node, exit, next_node",
    """
    CREATE TABLE ivr_day_times (
        config_version  INTEGER NOT NULL,
        day             INTEGER NOT NULL,
        dialled         TEXT NOT NULL,
        older           INTEGER NOT NULL,
        node            TEXT NOT NULL,
        seconds         INTEGER NOT NULL,
        visits          INTEGER NOT NULL,
        PRIMARY KEY (config_version, day, dialled, older, node, seconds)
    ) WITHOUT ROWID
    """,
    "INSERT INTO ivr_day_times SELECT config_version, hour / 24, dialled, older, node, seconds, "
    "sum(visits) FROM ivr_hour_times GROUP BY config_version, hour / 24, dialled, older, node, "
    "seconds",
)

MIGRATIONS = (_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, _V9)
SCHEMA_VERSION = len(MIGRATIONS)
