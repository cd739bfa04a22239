"""The menus seen from the callers' side, across branches: the centre's menu funnel.

    nodes = menu_funnel(conn, since, until, branch="sz-futian")   # or region=, or neither

Read from ``ivr_node_days`` (central/schema_v3.py), the branches' node visits summed per
branch, day, node, kind and exit by ``ship``. Per node: visits, calls that entered it, how
they left it (the exits of firmware/records/visits.py: ``key:1``, ``hung_up``, ``escalated``,
...), visits with a time-out or an invalid entry, hang-ups and escalations there, visits
after which the call first reached a person, and the average time in the node. Nodes with the
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
    where, params = "", [since, until]
    if branch is not None:
        where, params = " AND k.branch = %s", [*params, branch]
    if region is not None:
        where += " AND k.branch IN (SELECT id FROM branches WHERE region = %s)"
        params.append(region)
    rows = run_query(conn, f"""
        SELECT k.node, k.kind, k.exit, sum(k.visits)::int, sum(k.calls)::int,
               sum(k.timed_out)::int, sum(k.invalid)::int, sum(k.to_person)::int,
               sum(k.seconds_sum)
          FROM ivr_node_days k
         WHERE k.day BETWEEN %s AND %s{where}
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
