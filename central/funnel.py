"""The menus seen from the callers' side, across branches: the centre's menu funnel.

    nodes = menu_funnel(conn, since, until, branch="sz-futian")   # or region=, or neither

Read from the rollups ``ship`` keeps of the branches' node visits, summed per branch, node,
kind and exit: whole calendar months from ``ivr_node_months`` (central/schema_v4.py), the days
of a partial month at either end from ``ivr_node_days`` (central/schema_v3.py). A year reads
about 12 monthly rows and at most some 60 daily ones per branch, node and exit, not 365.
Per node: visits, calls that entered it, how they left it (the exits of
firmware/records/visits.py: ``key:1``, ``hung_up``, ``escalated``, ...), visits with a
time-out or an invalid entry, hang-ups and escalations there, visits after which the call
first reached a person, and the average time in the node. Nodes with the
most calls first. Across several branches, nodes of the same name are added up: that is the
funnel of a menu the branches share through a template (docs/fleet.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import asdict, dataclass, field, fields

from branchline.central.reports import check_period, run_query

__all__ = ["FunnelNode", "funnel_csv", "menu_funnel"]


@dataclass(frozen=True, slots=True)
class FunnelNode:
    node: str
    kind: str
    entered: int
    calls: int
    timed_out: int
    invalid: int
    to_person: int
    hung_up: int
    escalated: int
    hang_up_rate: float | None
    average_s: float | None
    exits: dict[str, int] = field(default_factory=dict)


def menu_funnel(conn, since: dt.date, until: dt.date, *, branch: str | None = None,
                region: str | None = None) -> list[FunnelNode]:
    """Every node's visits over the period, for one branch, one region or all branches."""
    check_period(since, until)
    where, filters = "", []
    if branch is not None:
        where, filters = " AND k.branch = %s", [branch]
    if region is not None:
        where += " AND k.branch IN (SELECT id FROM branches WHERE region = %s)"
        filters.append(region)
    parts, params = [], []
    # Summed in each rollup first: the planner then hashes a few groups per part instead of
    # sorting every row of the union (it cannot tell how few nodes the union holds).
    for table, column, first, last in _sources(since, until):
        parts.append(f"SELECT node, kind, exit, {_SUMS} FROM {table} k "
                     f"WHERE k.{column} BETWEEN %s AND %s{where} GROUP BY 1, 2, 3")
        params += [first, last, *filters]
    rows = run_query(conn, f"""
        SELECT node, kind, exit, {_SUMS}
          FROM ({" UNION ALL ".join(parts)}) k
         GROUP BY 1, 2, 3""", params, "menu funnel")
    nodes: dict[tuple[str, str], dict] = {}
    for node, kind, exit_, visits, calls, timed_out, invalid, to_person, seconds in rows:
        n = nodes.setdefault((node, kind), {"entered": 0, "calls": 0, "timed_out": 0,
                                            "invalid": 0, "to_person": 0, "seconds": 0.0,
                                            "exits": {}})
        n["entered"] += visits
        n["calls"] += calls
        n["timed_out"] += timed_out
        n["invalid"] += invalid
        n["to_person"] += to_person
        n["seconds"] += seconds
        n["exits"][exit_] = visits
    out = []
    for (node, kind), n in nodes.items():
        exits = dict(sorted(n["exits"].items()))
        hung_up = exits.get("hung_up", 0)
        out.append(FunnelNode(
            node=node, kind=kind, entered=n["entered"], calls=n["calls"],
            timed_out=n["timed_out"], invalid=n["invalid"], to_person=n["to_person"],
            hung_up=hung_up, escalated=exits.get("escalated", 0),
            hang_up_rate=hung_up / n["entered"] if n["entered"] else None,
            average_s=round(n["seconds"] / n["entered"], 2) if n["entered"] else None,
            exits=exits))
    return sorted(out, key=lambda r: (-r.calls, r.node, r.kind))


_SUMS = ("sum(visits)::int AS visits, sum(calls)::int AS calls, "
         "sum(timed_out)::int AS timed_out, sum(invalid)::int AS invalid, "
         "sum(to_person)::int AS to_person, sum(seconds_sum) AS seconds_sum")


def _sources(since: dt.date, until: dt.date) -> list[tuple[str, str, dt.date, dt.date]]:
    """(rollup, its date column, first, last) covering since..until: the whole months inside
    the period from the monthly rollup, the days before and after them from the daily one."""
    first_month = since if since.day == 1 else _next_month(since)
    day_after = until + dt.timedelta(days=1)
    after_months = day_after if day_after.day == 1 else until.replace(day=1)
    if first_month >= after_months:
        return [("ivr_node_days", "day", since, until)]
    sources = [("ivr_node_months", "month", first_month,
                after_months - dt.timedelta(days=1))]
    if since < first_month:
        sources.append(("ivr_node_days", "day", since, first_month - dt.timedelta(days=1)))
    if after_months <= until:
        sources.append(("ivr_node_days", "day", after_months, until))
    return sources


def _next_month(day: dt.date) -> dt.date:
    """The first day of the month after ``day``'s."""
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def funnel_csv(nodes: list[FunnelNode]) -> str:
    """One line per node and exit (the node's figures repeated), for a spreadsheet."""
    out = io.StringIO()
    names = [f.name for f in fields(FunnelNode) if f.name != "exits"]
    writer = csv.DictWriter(out, fieldnames=[*names, "exit", "exit_visits"],
                            lineterminator="\r\n")
    writer.writeheader()
    for node in nodes:
        row = {k: ("" if v is None else v) for k, v in asdict(node).items() if k != "exits"}
        for exit_, visits in node.exits.items():
            writer.writerow({**row, "exit": exit_, "exit_visits": visits})
    return out.getvalue()
