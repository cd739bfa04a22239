"""The menus seen from the callers' side: SQL over the stored node visits (``ivr_visits``).

``MenuReports`` checks what the web service asks and runs the report in the worker process
(``config.web.worker``); the functions below each take an open
``Records`` and a ``Scope`` (one configuration version, the flow's lines, a period, and
optionally some hours of the week) and returns JSON-able dicts:

* ``funnel``: per node, visits and calls that entered it, how they left it (``exits``, see
  ``records.visits``), visits with a time-out or an invalid entry, hang-ups and escalations
  there, the time spent in it (whole seconds rounded down; median and 90th percentile,
  nearest rank); and the traffic on every edge (visits from a node to the next). Whole UTC
  days of the period are read from the daily sums (``ivr_days``, ``ivr_day_times``), the
  whole hours left at either end from the hourly sums (``ivr_hours``, ``ivr_hour_times``;
  all of them when the scope keeps some hours of the week), the pieces of an hour at either
  end from the visits, so any period is exact.
* ``containment``: calls served in the IVR (outcome ``self-served``, never queued) whose
  number did not reach a person (queued or transferred) within ``window_s`` afterwards; per
  path and per day. A withheld number cannot be followed: such a call counts as contained.
  It and ``repeats`` read each call's stored time to its number's next call and next person
  (``ivr_calls.next_call_s``, ``next_person_s``, kept as calls are written): one pass over
  the calls, no window function.
* ``person_reasons``: the node and exit after which calls first reached a person.
* ``repeats``: calls whose number called again within ``window_s``, per path.
* ``compare``: two versions' per-node rates over the hours of the week both took calls in.

A call's *path* is the last play node it heard (``records.visits.call_path_row``): where a
bank flow answers (``balance_said``, ``loss_said``, ``branch_info``); ``""`` for none.
A scope's ``mode`` keeps the calls of one caller mode: ``"older"`` (the older callers' mode
was on at some moment of the call) or ``"standard"`` (never); None keeps both.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo

from branchline.config.web.link import Refused
from branchline.config.web.worker import Worker
from branchline.firmware.records.database import Records
from branchline.firmware.records.visits import NEXT_HORIZON_S

__all__ = ["FUNNEL_COLUMNS", "MAX_RANGE_S", "MAX_WINDOW_S", "MODES", "MenuReports", "Scope",
           "compare",
           "compare_report", "containment", "funnel", "local_offset", "menus_csv",
           "menus_report", "person_reasons", "repeats", "week_hour_sql"]

MAX_RANGE_S = 366 * 86400.0  # a year and a day, as the KPI reports
MAX_WINDOW_S = NEXT_HORIZON_S  # the longest containment or repeat window
MODES = {"older": 1, "standard": 0}  # a caller mode and its ``older`` column
# 1970-01-01 was a Thursday: 72 hours after the Monday that starts its week.
_THURSDAY_H = 72
_EPOCH_DAY = dt.date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class Scope:
    version: int
    dialled: tuple[str, ...]
    start: float
    end: float
    offset_s: float = 0.0             # the branch's UTC offset (days and hours of the week)
    week_hours: tuple[int, ...] | None = None  # 0 = Monday 00:00-01:00 local time
    mode: str | None = None           # "older", "standard" or None (both)
    # With week_hours: UTC days all of whose calls fall in those hours, so their daily sums
    # can be read whole.
    plain_days: frozenset[int] = frozenset()


def week_hour_sql(column: str, offset_s: float) -> str:
    """SQL for the local hour of the week (0-167, Monday 00:00 first) of an epoch column."""
    return (f"((CAST(({column} + {float(offset_s)!r}) AS INTEGER) / 3600 + {_THURSDAY_H})"
            " % 168)")


def _where(scope: Scope, table: str, start: float | None = None, end: float | None = None,
           *, period: str | None = None) -> tuple[str, list]:
    """The scope as a WHERE clause on ``table`` (calls, ivr_visits or, with ``period``
    "hour" or "day", the hourly or daily sums), optionally over [start, end) instead of the
    scope's period (whole hours or days, as their numbers, with ``period``)."""
    column = f"{table}.{period}" if period else f"{table}.started_epoch"
    sql = f"{table}.config_version = ? AND {column} >= ? AND {column} < ?"
    params: list = [scope.version, scope.start if start is None else start,
                    scope.end if end is None else end]
    if scope.dialled:
        sql += f" AND {table}.dialled IN ({', '.join('?' * len(scope.dialled))})"
        params += scope.dialled
    if scope.mode is not None:
        sql += f" AND {table}.older = ?"
        params.append(MODES[scope.mode])
    if scope.week_hours is not None:
        if period == "day":
            raise ValueError("hours of the week are read from the hourly sums, not the daily")
        hours_in = ", ".join(str(int(h)) for h in sorted(scope.week_hours)) or "-1"
        epoch = f"({column} * 3600)" if period == "hour" else column
        sql += f" AND {week_hour_sql(epoch, scope.offset_s)} IN ({hours_in})"
    return sql, params


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _pieces(scope: Scope) -> list[tuple[str, str, list]]:
    """(source, WHERE, params) covering the period: its whole UTC days from the daily sums
    (unless the scope keeps some hours of the week), the whole hours left at either end from
    the hourly sums, the pieces of an hour at either end from the visits themselves."""
    first_h, last_h = math.ceil(scope.start / 3600), math.floor(scope.end / 3600)
    if first_h >= last_h:
        return [("visits", *_where(scope, "v"))]
    out = []
    hours = [(first_h, last_h)]
    first_d, last_d = math.ceil(first_h / 24), math.floor(last_h / 24)
    if scope.week_hours is None and first_d < last_d:
        out.append(("days", *_where(scope, "v", first_d, last_d, period="day")))
        hours = [(first_h, first_d * 24), (last_d * 24, last_h)]
    plain = sorted(d for d in scope.plain_days if first_d <= d < last_d)
    if scope.week_hours is not None and plain:
        listed = ", ".join(str(int(d)) for d in plain)
        where, params = _where(replace(scope, week_hours=None), "v", first_d, last_d,
                               period="day")
        out.append(("days", f"{where} AND v.day IN ({listed})", params))
        hours, after = [], first_h  # the hours between the plain days
        for day in plain:
            if after < day * 24:
                hours.append((after, day * 24))
            after = (day + 1) * 24
        hours.append((after, last_h))
    out += [("hours", *_where(scope, "v", a, b, period="hour")) for a, b in hours if a < b]
    for a, b in ((scope.start, first_h * 3600.0), (last_h * 3600.0, scope.end)):
        if a < b:
            out.append(("visits", *_where(scope, "v", a, b)))
    return out


_SUMS = {"hours": ("ivr_hours", "ivr_hour_times"), "days": ("ivr_days", "ivr_day_times")}
_COUNTS = {
    **{source: f"SELECT node, kind, exit, next_node, sum(visits), sum(first), sum(timed_out), "
               f"sum(invalid) FROM {table} v WHERE {{}} GROUP BY node, exit, next_node"
       for source, (table, _) in _SUMS.items()},
    "visits": "SELECT node, kind, exit, next_node, count(*), sum(first), sum(no_input > 0), "
              "sum(invalid > 0) FROM ivr_visits v WHERE {} GROUP BY node, exit, next_node",
}
_TIMES = {
    **{source: f"SELECT node, seconds, sum(visits) FROM {table} v WHERE {{}} "
               "GROUP BY node, seconds" for source, (_, table) in _SUMS.items()},
    "visits": "SELECT node, CAST(seconds AS INTEGER), count(*) FROM ivr_visits v WHERE {} "
              "GROUP BY 1, 2",
}


def _nearest_rank(histogram: dict[int, int], share: float) -> int:
    """The ceil(share * n)-th smallest value of the histogram {value: count}."""
    rank = math.ceil(share * sum(histogram.values()) - 1e-9)
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    raise ValueError("empty histogram")


def funnel(records: Records, scope: Scope) -> dict:
    nodes: dict[str, dict] = {}
    edges: dict[tuple[str, str], int] = {}
    times: dict[str, dict[int, int]] = {}
    for source, where, params in _pieces(scope):
        for node, kind, exit_, target, visits, calls, timed_out, invalid in records.rows(
                _COUNTS[source].format(where), params):
            row = nodes.setdefault(node, {"node": node, "kind": kind, "entered": 0,
                                          "calls": 0, "exits": {}, "timed_out": 0,
                                          "invalid": 0})
            row["entered"] += visits
            row["calls"] += calls
            row["timed_out"] += timed_out
            row["invalid"] += invalid
            row["exits"][exit_] = row["exits"].get(exit_, 0) + visits
            if target:
                edges[(node, target)] = edges.get((node, target), 0) + visits
        for node, seconds, n in records.rows(_TIMES[source].format(where), params):
            histogram = times.setdefault(node, {})
            histogram[seconds] = histogram.get(seconds, 0) + n
    for name, row in nodes.items():
        row["exits"] = dict(sorted(row["exits"].items()))
        row["hung_up"] = row["exits"].get("hung_up", 0)
        row["escalated"] = row["exits"].get("escalated", 0)
        row["hang_up_rate"] = _rate(row["hung_up"], row["entered"])
        row["escalation_rate"] = _rate(row["escalated"], row["entered"])
        row["median_s"] = _nearest_rank(times[name], 0.5)
        row["p90_s"] = _nearest_rank(times[name], 0.9)
    where, params = _where(scope, "c")
    calls = records.rows(f"SELECT count(*) FROM ivr_calls c WHERE {where}", params)[0][0]
    return {"version": scope.version, "start": scope.start, "end": scope.end, "calls": calls,
            "nodes": sorted(nodes.values(), key=lambda r: (-r["calls"], r["node"])),
            "edges": [{"source": s, "target": t, "visits": n}
                      for (s, t), n in sorted(edges.items())]}


def _within(column: str, window_s: float) -> str:
    """SQL: 1 when the call's stored time ``column`` (to its number's next call or next
    person; NULL for none within a week or a withheld number) is at most ``window_s``."""
    return f"coalesce(c.{column} <= {float(window_s)!r}, 0)"


def containment(records: Records, scope: Scope, window_s: float) -> dict:
    where, params = _where(scope, "c")
    # The local day's number, named in Python: cheaper than date() on every call.
    day = f"CAST((c.started_epoch + {float(scope.offset_s)!r}) / 86400 AS INTEGER)"
    paths: dict[str, list[int]] = {}
    days: dict[str, list[int]] = {}
    for path, number, n, served, contained in records.rows(
            f"SELECT path, {day}, count(*), sum(served), "
            f"sum(served AND NOT {_within('next_person_s', window_s)}) "
            f"FROM ivr_calls c WHERE {where} GROUP BY 1, 2", params):
        when = (_EPOCH_DAY + dt.timedelta(days=number)).isoformat()
        for key, table in ((path, paths), (when, days)):
            row = table.setdefault(key, [0, 0, 0])
            row[0] += n
            row[1] += served
            row[2] += contained

    def rows(table: dict[str, list[int]], name: str) -> list[dict]:
        return [{name: key, "calls": n, "served": s, "contained": k,
                 "containment": _rate(k, n)} for key, (n, s, k) in sorted(table.items())]

    total, served, contained = (sum(r[i] for r in paths.values()) for i in range(3))
    return {"window_s": window_s, "calls": total, "served": served, "contained": contained,
            "containment": _rate(contained, total), "paths": rows(paths, "path"),
            "days": rows(days, "day")}


def person_reasons(records: Records, scope: Scope, top: int = 10) -> dict:
    found: dict[tuple[str, str], int] = {}
    for source, where, params in _pieces(scope):
        table, count = ((_SUMS[source][0], "sum(to_person)") if source in _SUMS
                        else ("ivr_visits", "count(*)"))
        for node, exit_, n in records.rows(
                f"SELECT node, exit, {count} FROM {table} v WHERE {where} AND to_person > 0 "
                f"GROUP BY node, exit", params):
            found[(node, exit_)] = found.get((node, exit_), 0) + n
    total = sum(found.values())
    ranked = sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return {"calls": total, "reasons": [{"node": node, "exit": exit_, "calls": n,
                                         "share": _rate(n, total)}
                                        for (node, exit_), n in ranked]}


def repeats(records: Records, scope: Scope, window_s: float) -> dict:
    where, params = _where(scope, "c")
    paths = [{"path": path, "calls": n, "repeated": r, "repeat_rate": _rate(r, n)}
             for path, n, r in records.rows(
                 f"SELECT path, count(*), sum({_within('next_call_s', window_s)}) "
                 f"FROM ivr_calls c WHERE {where} GROUP BY 1 ORDER BY 1", params)]
    total, repeated = sum(p["calls"] for p in paths), sum(p["repeated"] for p in paths)
    return {"window_s": window_s, "calls": total, "repeated": repeated,
            "repeat_rate": _rate(repeated, total), "paths": paths}


def shared_week_hours(records: Records, before: Scope, after: Scope
                      ) -> tuple[tuple[int, ...], tuple[frozenset[int], frozenset[int]]]:
    """The local hours of the week in which both scopes' versions took calls; and for each
    scope, the UTC days on which all its calls fell in those hours."""
    def hours(scope: Scope) -> dict[int, set[int]]:
        where, params = _where(replace(scope, week_hours=None), "c")
        found: dict[int, set[int]] = {}
        for day, hour in records.rows(
                f"SELECT DISTINCT CAST(c.started_epoch / 86400 AS INTEGER), "
                f"{week_hour_sql('c.started_epoch', scope.offset_s)} "
                f"FROM ivr_calls c WHERE {where}", params):
            found.setdefault(day, set()).add(hour)
        return found

    sides = [hours(before), hours(after)]
    shared = set.union(set(), *sides[0].values()) & set.union(set(), *sides[1].values())
    return tuple(sorted(shared)), tuple(frozenset(day for day, seen in side.items()
                                                  if seen <= shared) for side in sides)


def compare(records: Records, before: Scope, after: Scope) -> dict:
    """Per node, the rates of ``before`` and ``after`` over the hours of the week both had
    calls in (so a change is not mistaken for the difference between mornings and nights)."""
    hours, plain = shared_week_hours(records, before, after)
    sides = [funnel(records, replace(s, week_hours=hours, plain_days=days))
             for s, days in zip((before, after), plain, strict=True)]
    names = sorted({n["node"] for side in sides for n in side["nodes"]})
    rows = []
    for name in names:
        pair = [next((n for n in side["nodes"] if n["node"] == name), None) for side in sides]
        rows.append({"node": name, **{
            f"{key}_{label}": (None if n is None else n.get(key))
            for label, n in zip(("before", "after"), pair, strict=True)
            for key in ("calls", "entered", "hang_up_rate", "escalation_rate", "median_s",
                        "p90_s")}})
    return {"before": before.version, "after": after.version, "mode": before.mode,
            "week_hours": list(hours),
            "calls_before": sides[0]["calls"], "calls_after": sides[1]["calls"],
            "nodes": rows}


def local_offset(zone, epoch: float) -> float:
    """The zone's UTC offset at ``epoch``, in seconds (China keeps one all year)."""
    return dt.datetime.fromtimestamp(epoch, zone).utcoffset().total_seconds()


class MenuReports:
    """What the web service asks (through the link), checked here and run in the worker.

    ``dialled`` are the flow's lines in that version (the web service reads them from the
    stored document); periods are [start, end) in UTC epoch seconds, at most ``MAX_RANGE_S``.
    """

    def __init__(self, db_path: Path, zone: ZoneInfo, worker: Worker):
        self.db_path = Path(db_path)
        self.zone = zone
        self.worker = worker

    def scope(self, version: int, dialled: Sequence[str], start: float, end: float,
              mode: str | None = None) -> Scope:
        if not (math.isfinite(start) and math.isfinite(end)) or end <= start:
            raise Refused(f"report range {start}..{end}: give start < end in UTC epoch "
                          "seconds", code="bad_range")
        if end - start > MAX_RANGE_S:
            raise Refused(f"report range: {(end - start) / 86400:.0f} days; at most "
                          f"{MAX_RANGE_S / 86400:.0f} days per report, split the range",
                          code="bad_range")
        if mode is not None and mode not in MODES:
            raise Refused(f"caller mode {mode!r}: give one of {', '.join(MODES)}, or none "
                          "for every caller", code="bad_mode")
        return Scope(int(version), tuple(dialled), start, end, local_offset(self.zone, start),
                     mode=mode)

    def menus(self, version: int, dialled: Sequence[str], start: float, end: float,
              window_s: float, repeat_s: float, mode: str | None = None) -> dict:
        for name, value in (("window", window_s), ("repeat", repeat_s)):
            if not (math.isfinite(value) and 0 < value <= MAX_WINDOW_S):
                raise Refused(f"{name} {value!r} s: give seconds from 1 to {MAX_WINDOW_S:.0f} "
                              "(a week)", code="bad_window")
        return self.worker.run("menus report", menus_report, self.db_path,
                               self.scope(version, dialled, start, end, mode), window_s,
                               repeat_s)

    def menus_csv(self, version: int, dialled: Sequence[str], start: float,
                  end: float, mode: str | None = None) -> str:
        return self.worker.run("menus export", menus_csv, self.db_path,
                               self.scope(version, dialled, start, end, mode))

    def compare(self, before: tuple[int, Sequence[str]], after: tuple[int, Sequence[str]],
                start: float, end: float, mode: str | None = None) -> dict:
        return self.worker.run("menus comparison", compare_report, self.db_path,
                               self.scope(*before, start, end, mode),
                               self.scope(*after, start, end, mode))


# --- run by the worker process ----------------------------------------------------------------

FUNNEL_COLUMNS = ("node", "kind", "entered", "calls", "timed_out", "invalid", "hung_up",
                  "escalated", "hang_up_rate", "escalation_rate", "median_s", "p90_s", "exits")


def menus_report(db_path, scope: Scope, window_s: float, repeat_s: float) -> dict:
    """The funnel, containment, reasons for a person and repeat calls of one scope."""
    with Records(db_path) as records:
        return {"mode": scope.mode, "funnel": funnel(records, scope),
                "containment": containment(records, scope, window_s),
                "reasons": person_reasons(records, scope),
                "repeats": repeats(records, scope, repeat_s)}


def menus_csv(db_path, scope: Scope) -> str:
    """The funnel as CSV: one row per node, its exits as ``exit=count`` pairs."""
    with Records(db_path) as records:
        nodes = funnel(records, scope)["nodes"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FUNNEL_COLUMNS)
    for n in nodes:
        writer.writerow([*(("" if n[c] is None else n[c]) for c in FUNNEL_COLUMNS[:-1]),
                         " ".join(f"{k}={v}" for k, v in n["exits"].items())])
    return out.getvalue()


def compare_report(db_path, before: Scope, after: Scope) -> dict:
    with Records(db_path) as records:
        return compare(records, before, after)
