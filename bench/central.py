"""The centre's reports over a year of 500 branches: how long each report takes.

A real PostgreSQL (Debian's, started as the tests start it: tests/support/pg_harness.py)
holds 500 branches in 10 regions and a year of their KPI rollups, generated in SQL: per
branch and day, two queues and four agents (daily_kpis, what drill-downs read) and their sums
per branch and day (branch_days, what the fleet-wide period reports read); per branch,
quarter hour from 09:00 to 17:00 and the main queue (interval_kpis, what interval reports
read); per branch and day, six menu nodes with four exits each (ivr_node_days) and their sums
per month (ivr_node_months, filled by the upgrade's own SQL, schema_v4.FILL_MONTHS): the menu
funnel reads whole months from the second, the days of partial months from the first. Counts
are random but shaped like a branch's day (about 500 calls). The calls themselves are not
generated: no report reads them. Each report runs five times on one connection after a
warm-up run; the median is reported.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import time

from pg_harness import PostgresServer

from branchline.central import reports
from branchline.central.db import connect, migrate
from branchline.central.funnel import menu_funnel
from branchline.central.schema_v4 import FILL_MONTHS

BRANCHES, REGIONS, DAYS = 500, 10, 365
FIRST = dt.date(2026, 1, 1)


def _generate(conn) -> float:
    """Fills the rollups; returns how long the upgrade's fill of the monthly one took."""
    conn.execute("""
        INSERT INTO branches (id, name, region, role)
        SELECT 'b' || lpad(n::text, 4, '0'), 'Branch ' || n, 'region-' || (n %% %s),
               'bench:b' || n FROM generate_series(1, %s) n""", (REGIONS, BRANCHES))
    conn.execute("""
        INSERT INTO daily_kpis (branch, day, queue, agent, calls, self_served, offered,
               answered, answered_in_sl, abandoned, short_abandoned, timed_out, callbacks,
               wait_answered_s, handle_s, survey_sum, survey_n)
        SELECT b.id, %s::date + d, q, a, c, c / 3, c - c / 3, ans,
               (ans * (0.6 + random() * 0.35))::int, (c - c / 3 - ans) / 2, 1, 0, 1,
               ans * 25.0, ans * 210.0, ans * 4, ans / 2
          FROM branches b, generate_series(0, %s - 1) d,
               unnest(ARRAY['cards', 'loans']) q, unnest(ARRAY['a1', 'a2', 'a3', 'a4']) a,
               LATERAL (SELECT 40 + ((random() + d * 0) * 50)::int AS c) x,
               LATERAL (SELECT (x.c * 0.5)::int AS ans) y""", (FIRST, DAYS))
    conn.execute("""
        INSERT INTO branch_days
        SELECT branch, day, sum(calls), sum(self_served), sum(offered), sum(answered),
               sum(answered_in_sl), sum(abandoned), sum(short_abandoned), sum(timed_out),
               sum(callbacks), sum(wait_answered_s), sum(handle_s), sum(survey_sum),
               sum(survey_n)
          FROM daily_kpis GROUP BY branch, day""")
    conn.execute("""
        INSERT INTO interval_kpis (bucket, branch, queue, calls, self_served, offered,
               answered, answered_in_sl, abandoned, short_abandoned, timed_out, callbacks,
               wait_answered_s, handle_s, survey_sum, survey_n)
        SELECT ((%s::date + d)::timestamp + time '01:00' + q * interval '15 minutes')
                   AT TIME ZONE 'UTC', b.id, 'cards', c, c / 3, c - c / 3, c / 2, c / 3,
               c / 10, 0, 0, 0, c * 12.0, c * 100.0, c * 2, c / 4
          FROM branches b, generate_series(0, %s - 1) d, generate_series(0, 31) q,
               LATERAL (SELECT 5 + ((random() + d * 0 + q * 0) * 20)::int AS c) x""", (FIRST, DAYS))
    conn.execute("""
        INSERT INTO ivr_node_days
        SELECT b.id, %s::date + d, 'node' || n, 'menu', 'key:' || e,
               20 + (random() * 30)::int, 10, 1, 1, 2, 60.0
          FROM branches b, generate_series(0, %s - 1) d, generate_series(1, 6) n,
               generate_series(1, 4) e""", (FIRST, DAYS))
    t0 = time.perf_counter()
    conn.execute(FILL_MONTHS)
    fill = time.perf_counter() - t0
    conn.execute("ANALYZE")
    return fill


def _timed(report) -> tuple[float, int]:
    rows = len(report())
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        report()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), rows


def run() -> str:
    server = PostgresServer.start()
    try:
        dsn = server.create_database()
        with connect(dsn) as conn:
            migrate(conn)
            t0 = time.perf_counter()
            fill = _generate(conn)
            conn.commit()
            generated = time.perf_counter() - t0
            daily = conn.execute("SELECT count(*) FROM daily_kpis").fetchone()[0]
            quarter = conn.execute("SELECT count(*) FROM interval_kpis").fetchone()[0]
            visits = conn.execute("SELECT count(*) FROM ivr_node_days").fetchone()[0]
            months = conn.execute("SELECT count(*) FROM ivr_node_months").fetchone()[0]
            size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))"
                                ).fetchone()[0]
            last = FIRST + dt.timedelta(days=DAYS - 1)
            month = last - dt.timedelta(days=29)
            # The most days a year's funnel reads from the daily rollup: 30 + 30.
            cut_since, cut_until = FIRST + dt.timedelta(days=1), last - dt.timedelta(days=1)
            figures = [
                ("every branch, the year, worst first",
                 _timed(lambda: reports.branch_kpis(conn, FIRST, last))),
                ("every branch, one day (today)",
                 _timed(lambda: reports.branch_kpis(conn, last, last))),
                ("one region's branches, 30 days",
                 _timed(lambda: reports.branch_kpis(conn, month, last, region="region-3"))),
                ("every region, the year",
                 _timed(lambda: reports.region_kpis(conn, FIRST, last))),
                ("quarter hours of a day, all branches",
                 _timed(lambda: reports.interval_kpis(conn, last))),
                ("quarter hours of a day, one region",
                 _timed(lambda: reports.interval_kpis(conn, last, region="region-3"))),
                ("one branch's queues, the year",
                 _timed(lambda: reports.branch_queues(conn, "b0042", FIRST, last))),
                ("one branch's agents, the year",
                 _timed(lambda: reports.branch_agents(conn, "b0042", FIRST, last))),
                ("CSV of every branch, the year",
                 _timed(lambda: reports.to_csv(reports.branch_kpis(conn, FIRST, last))
                        .splitlines())),
                ("menu funnel, one branch, the year",
                 _timed(lambda: menu_funnel(conn, FIRST, last, branch="b0042"))),
                ("menu funnel, one region, 30 days",
                 _timed(lambda: menu_funnel(conn, month, last, region="region-3"))),
                ("menu funnel, every branch, 30 days",
                 _timed(lambda: menu_funnel(conn, month, last))),
                ("menu funnel, every branch, the year",
                 _timed(lambda: menu_funnel(conn, FIRST, last))),
                ("menu funnel, one region, the year",
                 _timed(lambda: menu_funnel(conn, FIRST, last, region="region-3"))),
                (f"menu funnel, every branch, {cut_since:%-d %b} to {cut_until:%-d %b} "
                 "(10 whole months, 60 days)",
                 _timed(lambda: menu_funnel(conn, cut_since, cut_until))),
                (f"menu funnel, one branch, {cut_since:%-d %b} to {cut_until:%-d %b}",
                 _timed(lambda: menu_funnel(conn, cut_since, cut_until, branch="b0042"))),
            ]
            load = os.getloadavg()[0]
    finally:
        server.stop()
    lines = [
        "## Centre reports (PostgreSQL, 500 branches, a year)",
        "",
        f"{BRANCHES} branches in {REGIONS} regions, {DAYS} days: {daily:,} daily rollup rows "
        f"(2 queues x 4 agents per branch and day) and {quarter:,} quarter-hour rows "
        f"(09:00-17:00, main queue), {visits:,} menu node rows (6 nodes x 4 exits per branch "
        f"and day) and {months:,} monthly ones (filled from the days by the v4 upgrade's SQL in "
        f"{fill:.1f} s), {size} on disk, generated in {generated:.0f} s. "
        "Reports run through `branchline.central.reports` on one connection; median of five "
        "after a warm-up (bench/central.py). PostgreSQL "
        "runs with fsync off, as in the tests; reads do not depend on it. Load average "
        f"{load:.1f} at the end (a shared machine: upper bounds).",
        "",
        "| report | rows | time |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {rows} | {seconds * 1000:.0f} ms |"
              for name, (seconds, rows) in figures]
    return "\n".join(lines)
