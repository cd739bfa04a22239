"""The centre's KPI reports, from the rollups the ``ship`` function keeps (central/schema.py).

    rows = branch_kpis(conn, since, until, region="south")   # worst service level first
    regions = region_kpis(conn, since, until)
    intervals = interval_kpis(conn, day, branch="sz-futian")  # 96 quarter hours of one day
    queues = branch_queues(conn, "sz-futian", since, until); agents = branch_agents(...)

Periods are whole days, ``since`` to ``until`` inclusive, in the centre's time zone (the
daily rollup's days). Every report reads a rollup, never the calls themselves: a year of 500
branches is about 180,000 rows per branch and day (``branch_days``), read through its day-first key.
The figures follow docs/kpis.md: service level A_T / (A + B + O), abandon rate
B / (A + B + O), ASA, AHT, and the survey's average score; for the SIP calls (those with a
call quality) the average MOS, the share below MOS 3.6 (``kpi_sql.POOR_MOS``), the average
loss and jitter.
"""

import csv
import datetime as dt
import io
from dataclasses import asdict, dataclass, fields

import psycopg

from branchline.central.errors import CentralInputError, map_pg_error

__all__ = ["Kpis", "branch_agents", "branch_kpis", "branch_queues", "check_period",
           "interval_kpis", "region_kpis", "run_query", "to_csv"]

_SUMS = ("sum(calls)::int, sum(self_served)::int, sum(offered)::int, sum(answered)::int, "
         "sum(answered_in_sl)::int, sum(abandoned)::int, sum(short_abandoned)::int, "
         "sum(timed_out)::int, sum(callbacks)::int, sum(wait_answered_s), sum(handle_s), "
         "sum(survey_sum)::int, sum(survey_n)::int, sum(quality_n)::int, sum(mos_sum), "
         "sum(mos_poor)::int, sum(loss_sum), sum(jitter_sum)")
MAX_DAYS = 366 * 2


@dataclass(frozen=True, slots=True)
class Kpis:
    """One row of a report: what it is about, the counts, and the figures."""

    key: str
    label: str
    region: str
    calls: int
    self_served: int
    offered: int
    answered: int
    abandoned: int
    timed_out: int
    callbacks: int
    service_level: float | None
    abandon_rate: float | None
    asa_s: float | None
    aht_s: float | None
    survey: float | None
    sip_calls: int
    mos_average: float | None
    mos_poor_share: float | None
    loss_average_percent: float | None
    jitter_average_ms: float | None


def _kpis(key, label, region, row) -> Kpis:
    (calls, self_served, offered, answered, in_sl, abandoned, _short, timed_out, callbacks,
     wait_s, handle_s, survey_sum, survey_n, sip, mos_sum, poor, loss_sum, jitter_sum) = (
        v or 0 for v in row)
    waited = answered + abandoned + timed_out
    return Kpis(
        key=key, label=label, region=region, calls=calls, self_served=self_served,
        offered=offered, answered=answered, abandoned=abandoned, timed_out=timed_out,
        callbacks=callbacks,
        service_level=in_sl / waited if waited else None,
        abandon_rate=abandoned / waited if waited else None,
        asa_s=wait_s / answered if answered else None,
        aht_s=handle_s / answered if answered else None,
        survey=survey_sum / survey_n if survey_n else None, sip_calls=sip,
        mos_average=round(mos_sum / sip, 3) if sip else None,
        mos_poor_share=poor / sip if sip else None,
        loss_average_percent=round(loss_sum / sip, 3) if sip else None,
        jitter_average_ms=round(jitter_sum / sip, 2) if sip else None)


def check_period(since: dt.date, until: dt.date) -> None:
    if until < since:
        raise CentralInputError(f"report: the period ends ({until}) before it starts "
                                f"({since}); give since <= until")
    if (until - since).days >= MAX_DAYS:
        raise CentralInputError(f"report: {since}..{until} is longer than {MAX_DAYS} days; "
                                "ask for two years at most")


def run_query(conn, sql, params, doing):
    try:
        with conn.transaction():
            return conn.execute(sql, params).fetchall()
    except psycopg.Error as exc:
        raise map_pg_error(exc, doing) from exc


def _worst_first(rows: list[Kpis]) -> list[Kpis]:
    # No calls waited: nothing to judge, last. Then the lowest service level first.
    return sorted(rows, key=lambda k: (k.service_level is None, k.service_level or 0.0,
                                       -(k.abandon_rate or 0.0), k.key))


def branch_kpis(conn, since: dt.date, until: dt.date, *, region: str | None = None
                ) -> list[Kpis]:
    """Every branch (of one region) over the period, worst service level first."""
    check_period(since, until)
    where, params = "", [since, until]
    if region is not None:
        where, params = " AND b.region = %s", [*params, region]
    rows = run_query(conn, f"""
        SELECT b.id, b.name, b.region, {_SUMS}
          FROM branches b JOIN branch_days k ON k.branch = b.id
         WHERE k.day BETWEEN %s AND %s{where}
         GROUP BY b.id, b.name, b.region""", params, "branch report")
    return _worst_first([_kpis(r[0], r[1], r[2], r[3:]) for r in rows])


def region_kpis(conn, since: dt.date, until: dt.date) -> list[Kpis]:
    """Every region over the period, worst service level first."""
    check_period(since, until)
    rows = run_query(conn, f"""
        SELECT b.region, {_SUMS}
          FROM branch_days k JOIN branches b ON b.id = k.branch
         WHERE k.day BETWEEN %s AND %s GROUP BY b.region""", (since, until), "region report")
    return _worst_first([_kpis(r[0], r[0], r[0], r[1:]) for r in rows])


def interval_kpis(conn, day: dt.date, *, branch: str | None = None,
                  region: str | None = None) -> list[Kpis]:
    """The day's quarter hours (centre's time zone) with calls, for one branch, one region
    or all; ``key`` is the interval's start as HH:MM."""
    tz = run_query(conn, "SELECT value FROM central_settings WHERE key = 'time_zone'", (),
                "interval report")[0][0]
    where, params = "", [tz, day, tz, day, tz]
    if branch is not None:
        where, params = where + " AND k.branch = %s", [*params, branch]
    if region is not None:
        where += " AND k.branch IN (SELECT id FROM branches WHERE region = %s)"
        params.append(region)
    rows = run_query(conn, f"""
        SELECT to_char(k.bucket AT TIME ZONE %s, 'HH24:MI'), {_SUMS}
          FROM interval_kpis k
         WHERE k.bucket >= (%s::date)::timestamp AT TIME ZONE %s
           AND k.bucket < (%s::date + 1)::timestamp AT TIME ZONE %s{where}
         GROUP BY 1 ORDER BY 1""", params, "interval report")
    return [_kpis(r[0], r[0], region or "", r[1:]) for r in rows]


def branch_queues(conn, branch: str, since: dt.date, until: dt.date) -> list[Kpis]:
    """One branch's queues over the period ('' is calls that never queued)."""
    check_period(since, until)
    rows = run_query(conn, f"""
        SELECT k.queue, {_SUMS} FROM daily_kpis k
         WHERE k.branch = %s AND k.day BETWEEN %s AND %s GROUP BY k.queue ORDER BY k.queue""",
        (branch, since, until), "queue report")
    return [_kpis(r[0], r[0] or "(IVR only)", "", r[1:]) for r in rows]


def branch_agents(conn, branch: str, since: dt.date, until: dt.date) -> list[Kpis]:
    """One branch's agents over the period (calls they answered)."""
    check_period(since, until)
    rows = run_query(conn, f"""
        SELECT k.agent, {_SUMS} FROM daily_kpis k
         WHERE k.branch = %s AND k.day BETWEEN %s AND %s AND k.agent <> ''
         GROUP BY k.agent ORDER BY k.agent""", (branch, since, until), "agent report")
    return [_kpis(r[0], r[0], "", r[1:]) for r in rows]


def to_csv(rows: list[Kpis]) -> str:
    out = io.StringIO()
    names = [f.name for f in fields(Kpis)]
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in asdict(row).items()})
    return out.getvalue()
