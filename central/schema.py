"""The centre's PostgreSQL schema and its migrations, versioned like the branch's SQLite ones.

``MIGRATIONS[i]`` takes the schema from version i to i + 1; ``central_schema.version`` holds
the version. Each migration runs in one transaction together with the version bump (DDL is
transactional in PostgreSQL), under an advisory lock so two services starting at once do not
both migrate. Migrations are only ever appended. Version 3 (schema_v3.py) adds the calls'
quality and the IVR visits; version 4 (schema_v4.py) their monthly rollup.

Branch rows carry the branch's id and the record's own key (call id, or the branch's log
``seq``): that key is the primary key, so shipping the same record twice stores it once.
``ship_marks`` holds, per branch and table, the highest shipping position the centre has; it
is advanced in the same transaction as the rows (the ``ship`` function), with a
compare-and-set on the old value, so a batch either lands whole with its mark or not at all.

Branches never touch the tables: each logs in as its own role (``branch_<id>``) and may only
EXECUTE ``ship`` and ``ship_marks_of_mine`` (v1), ``my_templates`` and ``report_template``
(v2), which are SECURITY DEFINER and take the branch from ``session_user``: a branch can write
only its own records and read only its own template assignments.

The KPI rollups (``interval_kpis`` per branch, queue and 15 minutes; ``daily_kpis`` per
branch, queue, agent and day in the centre's time zone; ``branch_days`` per branch and day)
are updated by ``ship`` from the calls it actually inserted, in the same statement, so they
count each call exactly once too. Service level is judged against the default class
thresholds (VIP 10 s, other classes 20 s); an abandon under 5 s is a short abandon (docs/kpis.md).
"""

from branchline.central.kpi_sql import ADD_UP as _ADD_UP
from branchline.central.kpi_sql import KPI_COLUMNS as _KPI_COLUMNS
from branchline.central.kpi_sql import KPI_SUMS as _KPI_SUMS
from branchline.central.schema_v3 import V3 as _V3
from branchline.central.schema_v4 import V4 as _V4

# The tables a branch ships, in shipping order: its SQLite table -> the centre's.
SHIPPED_TABLES = ("calls", "acd_events", "agent_states", "audit", "ivr_visits")

_V1 = (
    """
    CREATE TABLE central_settings (
        key    text PRIMARY KEY,
        value  text NOT NULL
    )
    """,
    "INSERT INTO central_settings VALUES ('time_zone', 'Asia/Shanghai')",
    """
    CREATE TABLE branches (
        id       text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
        name     text NOT NULL,
        region   text NOT NULL,
        role     text NOT NULL UNIQUE,
        created  timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX branches_region ON branches (region, id)",
    """
    CREATE TABLE ship_marks (
        branch      text NOT NULL REFERENCES branches,
        tbl         text NOT NULL CHECK (tbl IN ('calls', 'acd_events', 'agent_states',
                                                  'audit')),
        seq         bigint NOT NULL DEFAULT 0,
        oldest_unshipped_at timestamptz,
        shipped_at  timestamptz,
        PRIMARY KEY (branch, tbl)
    )
    """,
    """
    CREATE TABLE calls (
        branch          text NOT NULL REFERENCES branches,
        call_id         text NOT NULL,
        ship_seq        bigint NOT NULL,
        started_at      timestamptz NOT NULL,
        answered_at     timestamptz,
        ended_at        timestamptz NOT NULL,
        caller          text NOT NULL,
        dialled         text NOT NULL,
        port            text NOT NULL,
        config_version  integer NOT NULL,
        language        text NOT NULL,
        ivr_path        jsonb NOT NULL,
        host_results    jsonb NOT NULL,
        queue           text,
        priority_class  text,
        agent_id        text,
        wait_seconds    double precision NOT NULL,
        talk_seconds    double precision NOT NULL,
        wrapup_seconds  double precision NOT NULL,
        survey_score    smallint,
        recording       text,
        outcome         text NOT NULL,
        hangup_side     text NOT NULL,
        hangup_reason   text NOT NULL,
        PRIMARY KEY (branch, call_id)
    )
    """,
    "CREATE INDEX calls_started ON calls (started_at)",
    "CREATE INDEX calls_branch_started ON calls (branch, started_at)",
    """
    CREATE TABLE acd_events (
        branch   text NOT NULL REFERENCES branches,
        seq      bigint NOT NULL,
        at       timestamptz NOT NULL,
        call_id  text,
        queue    text,
        agent    text,
        name     text NOT NULL,
        data     jsonb NOT NULL,
        PRIMARY KEY (branch, seq)
    )
    """,
    "CREATE INDEX acd_events_at ON acd_events (at)",
    """
    CREATE TABLE agent_states (
        branch      text NOT NULL REFERENCES branches,
        seq         bigint NOT NULL,
        at          timestamptz NOT NULL,
        agent       text NOT NULL,
        from_state  text NOT NULL,
        to_state    text NOT NULL,
        reason      text NOT NULL,
        PRIMARY KEY (branch, seq)
    )
    """,
    "CREATE INDEX agent_states_branch_agent ON agent_states (branch, agent, at)",
    """
    CREATE TABLE audit (
        branch  text NOT NULL REFERENCES branches,
        seq     bigint NOT NULL,
        at      timestamptz NOT NULL,
        who     text NOT NULL,
        what    text NOT NULL,
        diff    text NOT NULL,
        PRIMARY KEY (branch, seq)
    )
    """,
    "CREATE INDEX audit_at ON audit (at)",
    f"""
    CREATE TABLE interval_kpis (
        branch  text NOT NULL REFERENCES branches,
        bucket  timestamptz NOT NULL,
        queue   text NOT NULL,{_KPI_COLUMNS},
        PRIMARY KEY (branch, bucket, queue)
    )
    """,
    "CREATE INDEX interval_kpis_bucket ON interval_kpis (bucket)",
    f"""
    CREATE TABLE daily_kpis (
        branch  text NOT NULL REFERENCES branches,
        day     date NOT NULL,
        queue   text NOT NULL,
        agent   text NOT NULL,{_KPI_COLUMNS},
        PRIMARY KEY (branch, day, queue, agent)
    )
    """,
    "CREATE INDEX daily_kpis_day ON daily_kpis (day)",
    # The same per branch and day alone: what the fleet-wide period reports read.
    f"""
    CREATE TABLE branch_days (
        branch  text NOT NULL REFERENCES branches,
        day     date NOT NULL,{_KPI_COLUMNS},
        PRIMARY KEY (day, branch)
    )
    """,
    # Who changed what at the centre (its web users, branches added, credentials issued).
    """
    CREATE TABLE centre_audit (
        seq   bigserial PRIMARY KEY,
        at    timestamptz NOT NULL DEFAULT now(),
        who   text NOT NULL,
        what  text NOT NULL,
        diff  text NOT NULL
    )
    """,
    # The caller's branch, from the role it logged in as; refuses a role that is no branch.
    """
    CREATE FUNCTION my_branch() RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DECLARE b text;
    BEGIN
        SELECT id INTO b FROM branches WHERE role = session_user;
        IF b IS NULL THEN
            RAISE EXCEPTION 'role % is not a branch', session_user USING ERRCODE = '42501';
        END IF;
        RETURN b;
    END $$
    """,
    """
    CREATE FUNCTION ship_marks_of_mine() RETURNS TABLE (tbl text, seq bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT tbl, seq FROM ship_marks WHERE branch = my_branch() ORDER BY tbl
    $$
    """,
    f"""
    CREATE FUNCTION ship(p_tbl text, p_from bigint, p_to bigint, p_rows jsonb,
                         p_oldest_unshipped double precision)
    RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DECLARE
        b text := my_branch();
        tz text := (SELECT value FROM central_settings WHERE key = 'time_zone');
        stored integer;
    BEGIN
        UPDATE ship_marks SET seq = p_to, shipped_at = now(),
               oldest_unshipped_at = to_timestamp(p_oldest_unshipped)
         WHERE branch = b AND tbl = p_tbl AND seq = p_from;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'ship mark of % % is not %', b, p_tbl, p_from
                USING ERRCODE = 'BL001';
        END IF;
        IF p_tbl = 'calls' THEN
            WITH r AS (
                SELECT * FROM jsonb_to_recordset(p_rows) AS x(
                    ship_seq bigint, call_id text, started double precision,
                    answered double precision, ended double precision, caller text,
                    dialled text, port text, config_version integer, language text,
                    ivr_path jsonb, host_results jsonb, queue text, priority_class text,
                    agent_id text, wait_seconds double precision,
                    talk_seconds double precision, wrapup_seconds double precision,
                    survey_score smallint, recording text, outcome text, hangup_side text,
                    hangup_reason text)
            ), c AS (
                INSERT INTO calls SELECT b, call_id, ship_seq, to_timestamp(started),
                    to_timestamp(answered), to_timestamp(ended), caller, dialled, port,
                    config_version, language, ivr_path, host_results, queue,
                    priority_class, agent_id, wait_seconds, talk_seconds, wrapup_seconds,
                    survey_score, recording, outcome, hangup_side, hangup_reason FROM r
                ON CONFLICT DO NOTHING RETURNING *
            ), i AS (
                INSERT INTO interval_kpis AS t
                SELECT b, date_bin('15 minutes', c.started_at, '2000-01-01 00:00Z'),
                       coalesce(c.queue, ''),{_KPI_SUMS}
                  FROM c GROUP BY 2, 3
                ON CONFLICT (branch, bucket, queue) DO UPDATE SET {_ADD_UP}
                RETURNING 1
            ), d AS (
                INSERT INTO daily_kpis AS t
                SELECT b, (c.started_at AT TIME ZONE tz)::date, coalesce(c.queue, ''),
                       coalesce(c.agent_id, ''),{_KPI_SUMS}
                  FROM c GROUP BY 2, 3, 4
                ON CONFLICT (branch, day, queue, agent) DO UPDATE SET {_ADD_UP}
                RETURNING 1
            ), bd AS (
                INSERT INTO branch_days AS t
                SELECT b, (c.started_at AT TIME ZONE tz)::date,{_KPI_SUMS}
                  FROM c GROUP BY 2
                ON CONFLICT (day, branch) DO UPDATE SET {_ADD_UP}
                RETURNING 1
            )
            -- PostgreSQL runs every data-modifying WITH to completion, read or not.
            SELECT count(*) INTO stored FROM c;
        ELSIF p_tbl = 'acd_events' THEN
            INSERT INTO acd_events
            SELECT b, seq, to_timestamp(at_epoch), call_id, queue, agent, name, data
              FROM jsonb_to_recordset(p_rows) AS x(seq bigint, at_epoch double precision,
                   call_id text, queue text, agent text, name text, data jsonb)
            ON CONFLICT DO NOTHING;
            GET DIAGNOSTICS stored = ROW_COUNT;
        ELSIF p_tbl = 'agent_states' THEN
            INSERT INTO agent_states
            SELECT b, seq, to_timestamp(at_epoch), agent, from_state, to_state, reason
              FROM jsonb_to_recordset(p_rows) AS x(seq bigint, at_epoch double precision,
                   agent text, from_state text, to_state text, reason text)
            ON CONFLICT DO NOTHING;
            GET DIAGNOSTICS stored = ROW_COUNT;
        ELSE
            INSERT INTO audit
            SELECT b, seq, to_timestamp(at_epoch), who, what, diff
              FROM jsonb_to_recordset(p_rows) AS x(seq bigint, at_epoch double precision,
                   who text, what text, diff text)
            ON CONFLICT DO NOTHING;
            GET DIAGNOSTICS stored = ROW_COUNT;
        END IF;
        RETURN stored;
    END $$
    """,
    "REVOKE ALL ON FUNCTION ship(text, bigint, bigint, jsonb, double precision) FROM PUBLIC",
    "REVOKE ALL ON FUNCTION ship_marks_of_mine() FROM PUBLIC",
    "REVOKE ALL ON FUNCTION my_branch() FROM PUBLIC",
    # Branch roles are members of this one, which may call the two functions and nothing else.
    """
    DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'branchline_branch') THEN
            CREATE ROLE branchline_branch NOLOGIN;
        END IF;
    END $$
    """,
    "GRANT EXECUTE ON FUNCTION ship(text, bigint, bigint, jsonb, double precision) "
    "TO branchline_branch",
    "GRANT EXECUTE ON FUNCTION ship_marks_of_mine() TO branchline_branch",
)

# Configuration templates (docs/fleet.md): shared parts of the document, versioned, assigned
# to branches; each branch reports what it did with the newest version and which parts its
# admin overrides. A branch reads only its own assignments, through my_templates().
_V2 = (
    """
    CREATE TABLE templates (
        name     text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
        version  integer NOT NULL CHECK (version > 0),
        body     text NOT NULL,
        parts    text[] NOT NULL,
        note     text NOT NULL,
        who      text NOT NULL,
        at       timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (name, version)
    )
    """,
    """
    CREATE TABLE template_assignments (
        branch    text NOT NULL REFERENCES branches,
        template  text NOT NULL,
        who       text NOT NULL,
        at        timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (branch, template)
    )
    """,
    """
    CREATE TABLE template_results (
        branch     text NOT NULL,
        template   text NOT NULL,
        version    integer NOT NULL,
        outcome    text NOT NULL CHECK (outcome IN ('applied', 'refused')),
        reason     text NOT NULL,
        overrides  text[] NOT NULL,
        at         timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (branch, template),
        FOREIGN KEY (branch, template) REFERENCES template_assignments ON DELETE CASCADE
    )
    """,
    """
    CREATE FUNCTION my_templates()
    RETURNS TABLE (name text, version integer, note text, body text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT DISTINCT ON (t.name) t.name, t.version, t.note, t.body
          FROM template_assignments a JOIN templates t ON t.name = a.template
         WHERE a.branch = my_branch()
         ORDER BY t.name, t.version DESC
    $$
    """,
    """
    CREATE FUNCTION report_template(p_name text, p_version integer, p_outcome text,
                                    p_reason text, p_overrides text[])
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DECLARE b text := my_branch();
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM template_assignments
                        WHERE branch = b AND template = p_name) THEN
            RAISE EXCEPTION 'template % is not assigned to branch %', p_name, b
                USING ERRCODE = '42501';
        END IF;
        INSERT INTO template_results AS r
        VALUES (b, p_name, p_version, p_outcome, left(coalesce(p_reason, ''), 4000),
                coalesce(p_overrides, '{}'), now())
        ON CONFLICT (branch, template) DO UPDATE SET version = excluded.version,
            outcome = excluded.outcome, reason = excluded.reason,
            overrides = excluded.overrides, at = excluded.at;
    END $$
    """,
    "REVOKE ALL ON FUNCTION my_templates() FROM PUBLIC",
    "REVOKE ALL ON FUNCTION report_template(text, integer, text, text, text[]) FROM PUBLIC",
    "GRANT EXECUTE ON FUNCTION my_templates() TO branchline_branch",
    "GRANT EXECUTE ON FUNCTION report_template(text, integer, text, text, text[]) "
    "TO branchline_branch",
)

MIGRATIONS = (_V1, _V2, _V3, _V4)
SCHEMA_VERSION = len(MIGRATIONS)
