"""The centre's schema version 4: the IVR node visits per month, for the menu funnel.

* ``ivr_node_months``: the same sums as ``ivr_node_days`` per branch, month (its first day, in
  the centre's time zone), node, kind and exit. A year of 500 branches is some 150,000 rows
  instead of 4.4 million: the funnel reads whole months here and only the days of the
  partial months at the ends of a period from ``ivr_node_days`` (central/funnel.py).
* ``ship`` is replaced (same signature, same grants): an ``ivr_visits`` batch adds the visits it
  actually inserted to both rollups in the same statement, so each visit is counted once in
  each. The function is v3's with that one addition.
* The upgrade fills the months from ``ivr_node_days``. Ship calls already under way keep the
  old function to their end, so before filling, the upgrade deletes and re-inserts the
  ``ivr_visits`` marks (unchanged): it waits for the calls that hold them, and a call that
  waits on them afterwards finds its mark gone, changes nothing and raises "mark moved"
  (the shipper reads the marks again and ships with the new function).
"""

from branchline.central.schema_v3 import V3

__all__ = ["FILL_MONTHS", "V4"]

_MONTHS_IN_SHIP = """, m AS (
                INSERT INTO ivr_node_months AS t
                SELECT b, date_trunc('month', v.started_at AT TIME ZONE tz)::date, v.node,
                       v.kind, v.exit, count(*), count(*) FILTER (WHERE v.first),
                       count(*) FILTER (WHERE v.no_input > 0),
                       count(*) FILTER (WHERE v.invalid > 0),
                       count(*) FILTER (WHERE v.to_person), sum(v.seconds)
                  FROM v GROUP BY 2, 3, 4, 5
                ON CONFLICT (month, branch, node, kind, exit) DO UPDATE SET
                    visits = t.visits + excluded.visits, calls = t.calls + excluded.calls,
                    timed_out = t.timed_out + excluded.timed_out,
                    invalid = t.invalid + excluded.invalid,
                    to_person = t.to_person + excluded.to_person,
                    seconds_sum = t.seconds_sum + excluded.seconds_sum
                RETURNING 1
            )"""
_AFTER_NODE_DAYS = "\n            SELECT count(*) INTO stored FROM v;"


def _ship_with_months() -> str:
    ship = V3[-1]
    if ship.count(_AFTER_NODE_DAYS) != 1:
        raise RuntimeError("schema v4: v3's ship() is not the text v4 was written against")
    return ship.replace(_AFTER_NODE_DAYS, _MONTHS_IN_SHIP + _AFTER_NODE_DAYS)


# What the upgrade fills the months with; the bench fills its generated year the same way.
FILL_MONTHS = """
    INSERT INTO ivr_node_months
    SELECT branch, date_trunc('month', day::timestamp)::date, node, kind, exit,
           sum(visits), sum(calls), sum(timed_out), sum(invalid), sum(to_person),
           sum(seconds_sum)
      FROM ivr_node_days GROUP BY 1, 2, 3, 4, 5
    """


V4 = (
    """
    CREATE TABLE ivr_node_months (
        branch       text NOT NULL REFERENCES branches,
        month        date NOT NULL CHECK (extract(day FROM month) = 1),
        node         text NOT NULL,
        kind         text NOT NULL,
        exit         text NOT NULL,
        visits       integer NOT NULL,
        calls        integer NOT NULL,
        timed_out    integer NOT NULL,
        invalid      integer NOT NULL,
        to_person    integer NOT NULL,
        seconds_sum  double precision NOT NULL,
        PRIMARY KEY (month, branch, node, kind, exit)
    )
    """,
    "CREATE INDEX ivr_node_months_branch ON ivr_node_months (branch, month)",
    """
    WITH marks AS (DELETE FROM ship_marks WHERE tbl = 'ivr_visits' RETURNING *)
    INSERT INTO ship_marks SELECT * FROM marks
    """,
    FILL_MONTHS,
    _ship_with_months(),
)
