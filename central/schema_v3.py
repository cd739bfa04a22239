"""The centre's schema version 3: the calls' media quality and the IVR's node visits.

* ``calls`` gains the branch's call quality columns (records schema v6: loss, jitter, round
  trip, R, MOS; NULL for analog calls and for calls shipped before), and the three KPI
  rollups gain quality counters (``kpi_sql.QUALITY_NAMES``): SIP calls, their MOS sum, those
  below MOS 3.6, loss and jitter sums.
* ``ivr_visits``: the branch's node visits (records ``ivr_visits``), keyed by branch, call and
  step, shipped as their own table with their own mark. A visit's shipping position is its
  call's (``call_ship_order.seq``): a call and its visits are written in one transaction at
  the branch, so every visit of a call is there as soon as its call's position is.
* ``ivr_node_days``: the visits summed per branch, day (the centre's time zone), node, kind and
  exit, what the menu funnel reads.
* ``ship`` is replaced (same signature, same grants): the calls' quality goes in with them
  and into the rollups; ``ivr_visits`` batches go in and into ``ivr_node_days``, each visit
  once, in the same transaction as the mark.
"""

from branchline.central.kpi_sql import (
    ADD_UP,
    ADD_UP_QUALITY,
    KPI_SUMS,
    QUALITY_COLUMNS,
    QUALITY_NAMES,
    QUALITY_SUMS,
)

__all__ = ["V3"]

_QUALITY_ROLLUP = ",\n".join(
    f"ADD COLUMN {n} {'integer' if n in ('quality_n', 'mos_poor') else 'double precision'} "
    "NOT NULL DEFAULT 0" for n in QUALITY_NAMES)

_SHIP = f"""
    CREATE OR REPLACE FUNCTION ship(p_tbl text, p_from bigint, p_to bigint, p_rows jsonb,
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
                    hangup_reason text, quality_loss_percent double precision,
                    quality_jitter_ms double precision, quality_rtt_ms double precision,
                    quality_r double precision, quality_mos double precision)
            ), c AS (
                INSERT INTO calls SELECT b, call_id, ship_seq, to_timestamp(started),
                    to_timestamp(answered), to_timestamp(ended), caller, dialled, port,
                    config_version, language, ivr_path, host_results, queue,
                    priority_class, agent_id, wait_seconds, talk_seconds, wrapup_seconds,
                    survey_score, recording, outcome, hangup_side, hangup_reason,
                    {', '.join(QUALITY_COLUMNS)} FROM r
                ON CONFLICT DO NOTHING RETURNING *
            ), i AS (
                INSERT INTO interval_kpis AS t
                SELECT b, date_bin('15 minutes', c.started_at, '2000-01-01 00:00Z'),
                       coalesce(c.queue, ''),{KPI_SUMS},{QUALITY_SUMS}
                  FROM c GROUP BY 2, 3
                ON CONFLICT (branch, bucket, queue) DO UPDATE SET {ADD_UP}, {ADD_UP_QUALITY}
                RETURNING 1
            ), d AS (
                INSERT INTO daily_kpis AS t
                SELECT b, (c.started_at AT TIME ZONE tz)::date, coalesce(c.queue, ''),
                       coalesce(c.agent_id, ''),{KPI_SUMS},{QUALITY_SUMS}
                  FROM c GROUP BY 2, 3, 4
                ON CONFLICT (branch, day, queue, agent) DO UPDATE SET {ADD_UP}, {ADD_UP_QUALITY}
                RETURNING 1
            ), bd AS (
                INSERT INTO branch_days AS t
                SELECT b, (c.started_at AT TIME ZONE tz)::date,{KPI_SUMS},{QUALITY_SUMS}
                  FROM c GROUP BY 2
                ON CONFLICT (day, branch) DO UPDATE SET {ADD_UP}, {ADD_UP_QUALITY}
                RETURNING 1
            )
            -- PostgreSQL runs every data-modifying WITH to completion, read or not.
            SELECT count(*) INTO stored FROM c;
        ELSIF p_tbl = 'ivr_visits' THEN
            WITH v AS (
                INSERT INTO ivr_visits
                SELECT b, call_id, step, ship_seq, config_version, to_timestamp(started),
                       dialled, node, kind, seconds, exit, next_node, no_input, invalid,
                       first = 1, to_person = 1
                  FROM jsonb_to_recordset(p_rows) AS x(ship_seq bigint, call_id text,
                       step integer, config_version integer, started double precision,
                       dialled text, node text, kind text, seconds double precision,
                       exit text, next_node text, no_input integer, invalid integer,
                       first integer, to_person integer)
                ON CONFLICT DO NOTHING RETURNING *
            ), n AS (
                INSERT INTO ivr_node_days AS t
                SELECT b, (v.started_at AT TIME ZONE tz)::date, v.node, v.kind, v.exit,
                       count(*), count(*) FILTER (WHERE v.first),
                       count(*) FILTER (WHERE v.no_input > 0),
                       count(*) FILTER (WHERE v.invalid > 0),
                       count(*) FILTER (WHERE v.to_person), sum(v.seconds)
                  FROM v GROUP BY 2, 3, 4, 5
                ON CONFLICT (day, branch, node, kind, exit) DO UPDATE SET
                    visits = t.visits + excluded.visits, calls = t.calls + excluded.calls,
                    timed_out = t.timed_out + excluded.timed_out,
                    invalid = t.invalid + excluded.invalid,
                    to_person = t.to_person + excluded.to_person,
                    seconds_sum = t.seconds_sum + excluded.seconds_sum
                RETURNING 1
            )
            SELECT count(*) INTO stored FROM v;
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
    """

V3 = (
    *(f"ALTER TABLE calls ADD COLUMN {n} double precision" for n in QUALITY_COLUMNS),
    *(f"ALTER TABLE {t}\n{_QUALITY_ROLLUP}" for t in ("interval_kpis", "daily_kpis",
                                                     "branch_days")),
    "ALTER TABLE ship_marks DROP CONSTRAINT ship_marks_tbl_check",
    "ALTER TABLE ship_marks ADD CONSTRAINT ship_marks_tbl_check CHECK (tbl IN ('calls', "
    "'acd_events', 'agent_states', 'audit', 'ivr_visits'))",
    "INSERT INTO ship_marks (branch, tbl) SELECT id, 'ivr_visits' FROM branches",
    """
    CREATE TABLE ivr_visits (
        branch          text NOT NULL REFERENCES branches,
        call_id         text NOT NULL,
        step            integer NOT NULL,
        ship_seq        bigint NOT NULL,
        config_version  integer NOT NULL,
        started_at      timestamptz NOT NULL,
        dialled         text NOT NULL,
        node            text NOT NULL,
        kind            text NOT NULL,
        seconds         double precision NOT NULL,
        exit            text NOT NULL,
        next_node       text NOT NULL,
        no_input        integer NOT NULL,
        invalid         integer NOT NULL,
        first           boolean NOT NULL,
        to_person       boolean NOT NULL,
        PRIMARY KEY (branch, call_id, step)
    )
    """,
    "CREATE INDEX ivr_visits_started ON ivr_visits (started_at)",
    """
    CREATE TABLE ivr_node_days (
        branch       text NOT NULL REFERENCES branches,
        day          date NOT NULL,
        node         text NOT NULL,
        kind         text NOT NULL,
        exit         text NOT NULL,
        visits       integer NOT NULL,
        calls        integer NOT NULL,
        timed_out    integer NOT NULL,
        invalid      integer NOT NULL,
        to_person    integer NOT NULL,
        seconds_sum  double precision NOT NULL,
        PRIMARY KEY (day, branch, node, kind, exit)
    )
    """,
    # One branch's funnel over a long period reads its own rows, not every branch's days.
    "CREATE INDEX ivr_node_days_branch ON ivr_node_days (branch, day)",
    _SHIP,
)
