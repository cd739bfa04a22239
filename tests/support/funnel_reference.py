"""The menus' figures recomputed in plain Python from the calls' raw IVR paths, for the
tests of ``firmware.web.insight`` to compare with what the SQL gives."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from branchline.firmware.records.visits import visits

OFFSET = 8 * 3600
WEEK_HOUR = 3600


def nearest(values, share):
    ordered = sorted(values)
    return ordered[math.ceil(share * len(ordered) - 1e-9) - 1]


def week_hour(epoch):
    return (int(epoch + OFFSET) // WEEK_HOUR + 72) % 168


def chosen(records, scope):
    return [r for r in records if r.config_version == scope.version
            and r.dialled in scope.dialled and scope.start <= r.started_at < scope.end
            and (scope.week_hours is None or week_hour(r.started_at) in scope.week_hours)]


def reference_funnel(records, scope):
    nodes = {}
    edges = Counter()
    times = defaultdict(list)
    for r in chosen(records, scope):
        for v in visits(r.ivr_path):
            row = nodes.setdefault(v.node, {"node": v.node, "kind": v.kind, "entered": 0,
                                            "calls": 0, "exits": Counter(), "timed_out": 0,
                                            "invalid": 0})
            row["entered"] += 1
            row["calls"] += v.first
            row["timed_out"] += v.no_input > 0
            row["invalid"] += v.invalid > 0
            row["exits"][v.exit] += 1
            times[v.node].append(int(v.seconds))
            if v.next_node:
                edges[(v.node, v.next_node)] += 1
    for name, row in nodes.items():
        row["exits"] = dict(sorted(row["exits"].items()))
        row["hung_up"] = row["exits"].get("hung_up", 0)
        row["escalated"] = row["exits"].get("escalated", 0)
        row["hang_up_rate"] = round(row["hung_up"] / row["entered"], 4)
        row["escalation_rate"] = round(row["escalated"] / row["entered"], 4)
        row["median_s"] = nearest(times[name], 0.5)
        row["p90_s"] = nearest(times[name], 0.9)
    return nodes, edges


def later_calls(records, r, window):
    return [o for o in records if o.caller == r.caller and o.caller
            and r.started_at < o.started_at <= r.started_at + window]


def call_path(r):
    return next((v.node for v in reversed(visits(r.ivr_path)) if v.kind == "play"), "")
