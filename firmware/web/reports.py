"""Reports for the web service, read from the records database (never from the media loop).

``Reports(db_path, document, zone, now_epoch, worker)``; ``document()`` gives the configuration
in force (its queues and agents), ``now_epoch()`` the wall clock as UTC epoch seconds. The
range is checked here; the reading and folding (a year of events is minutes of CPU on a small
board) run in the worker process (``worker.run``, ``config.web.worker``), which opens the
database itself and hands back the finished dict or text.

* ``kpis(start, end, interval_s)``: ``branchline.acd.kpis_from_log`` over the ACD events stored
  in [start, end) (``call_cdr.queue_event`` turns rows back into queue events; times stay UTC
  epoch seconds, so intervals start at whole quarter hours of UTC, which are whole quarter
  hours of every zone a branch is in). Per queue, per agent, and per interval when asked;
  ``dispositions``: calls per wrap-up code given on the agent desktop in the range;
  ``quality``: the SIP calls' media quality (``records.quality.quality_summary``);
  ``hold``: hold time (``records.holds.hold_summary``), and each queue's and agent's
  ``average_hold_s`` (per answered call; per hold for an agent).
  Agent time counts from the first state change inside the range.
* ``export_csv(kind, start, end)``: ``calls`` (one row per call record started in the range;
  a SIP call's loss, jitter, round trip, R and MOS in its last five columns, empty otherwise),
  ``intervals`` (``ops_report.queue_rows``: per queue and interval, then the whole range),
  ``agents`` (``ops_report.agent_rows``).
* ``queue_log(start, end)``: ``branchline.acd.queue_log`` lines (Asterisk's format).

Every report opens its own read connection (WAL: the writer thread goes on writing).
A bad range or interval raises ``config.web.link.Refused`` saying what would be right.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from branchline.acd import kpis_from_log
from branchline.acd.kpis import INTERVAL_S
from branchline.acd.queue_log import queue_log_lines
from branchline.config.web.link import EXPORT_KINDS, Refused
from branchline.config.web.worker import Worker
from branchline.firmware.ops.report import AGENT_COLUMNS, QUEUE_COLUMNS, agent_rows, queue_rows
from branchline.firmware.records.cdr import queue_event
from branchline.firmware.records.database import Records
from branchline.firmware.records.dispositions import disposition_counts
from branchline.firmware.records.holds import hold_summary
from branchline.firmware.records.quality import quality_summary

__all__ = ["CALL_COLUMNS", "INTERVALS", "MAX_RANGE_S", "Reports", "export_csv", "kpis_report",
           "queue_log_text"]

INTERVALS = (900, 1800, 3600, 86400)  # seconds a report interval may have
MAX_RANGE_S = 366 * 86400.0  # a year and a day: the longest range one report reads
CALL_COLUMNS = ("call_id", "started", "ended", "caller", "dialled", "port", "config_version",
                "outcome", "hangup_side", "hangup_reason", "language", "queue",
                "priority_class", "agent_id", "wait_s", "talk_s", "wrapup_s", "survey_score",
                "loss_percent", "jitter_ms", "rtt_ms", "r", "mos", "hold_s")


def _figure(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _queue_figures(k) -> dict:
    return {
        "offered": k.offered, "answered": k.answered, "answered_in_sl": k.answered_in_sl,
        "abandoned": k.abandoned, "short_abandoned": k.short_abandoned,
        "timed_out": k.timed_out, "refused": k.refused,
        "callbacks_requested": k.callbacks_requested,
        "service_level": _figure(k.service_level, 4),
        "abandon_rate": _figure(k.abandon_rate, 4),
        "asa_s": _figure(k.asa), "average_wait_s": _figure(k.average_wait),
        "aht_s": _figure(k.aht),
    }


def _agent_figures(k) -> dict:
    return {
        "answered": k.answered, "completed": k.completed, "login_s": round(k.login_s, 1),
        "state_s": {state: round(s, 1) for state, s in sorted(k.state_s.items())},
        "occupancy": _figure(k.occupancy, 4), "aht_s": _figure(k.aht),
    }


class Reports:
    def __init__(self, db_path: Path, document: Callable[[], object], zone: ZoneInfo,
                 now_epoch: Callable[[], float], worker: Worker):
        self.db_path = Path(db_path)
        self.document = document
        self.zone = zone
        self.now_epoch = now_epoch
        self.worker = worker

    def _range(self, start: float, end: float) -> tuple[float, float]:
        if not (math.isfinite(start) and math.isfinite(end)):
            raise Refused(f"report range {start}..{end}: start and end must be epoch seconds",
                          code="bad_range")
        if end <= start:
            raise Refused(f"report range: end ({end}) is not after start ({start}); give "
                          "start < end in UTC epoch seconds", code="bad_range")
        if end - start > MAX_RANGE_S:
            raise Refused(f"report range: {(end - start) / 86400:.0f} days; at most "
                          f"{MAX_RANGE_S / 86400:.0f} days per report, split the range",
                          code="bad_range")
        return start, end

    def kpis(self, start_epoch: float, end_epoch: float, interval_s: int | None) -> dict:
        start, end = self._range(start_epoch, end_epoch)
        if interval_s is not None and interval_s not in INTERVALS:
            raise Refused(f"interval {interval_s!r} s: use one of "
                          f"{', '.join(map(str, INTERVALS))} s, or none", code="bad_interval")
        return self.worker.run("report", kpis_report, self.db_path,
                               self.document().acd.queues, self.now_epoch(), start, end,
                               interval_s)

    def export_csv(self, kind: str, start: float, end: float) -> str:
        start, end = self._range(start, end)
        if kind not in EXPORT_KINDS:
            raise Refused(f"export kind {kind!r}: use one of {', '.join(EXPORT_KINDS)}",
                          code="bad_kind")
        return self.worker.run("export", export_csv, self.db_path,
                               self.document().acd.queues, self.zone, self.now_epoch(), kind,
                               start, end)

    def queue_log(self, start: float, end: float) -> str:
        start, end = self._range(start, end)
        agents = self.document().acd.agents
        memberships = {a.id: [m.queue for m in a.queues] for a in agents}
        return self.worker.run("queue log", queue_log_text, self.db_path, memberships,
                               start, end)


# --- run by the worker process --------------------------------------------------------------

def _report(db_path: Path, queues, now_epoch: float, start: float, end: float,
            interval_s: float):
    now = min(end, now_epoch)
    with Records(db_path) as records:
        # Streamed: a year of events is folded without holding it in memory.
        events = (queue_event(row, 0.0) for row in records.iter_events(start, end))
        return kpis_from_log(events, queues, max(now, start), interval_s=interval_s)


def kpis_report(db_path: Path, queues, now_epoch: float, start: float, end: float,
                interval_s: int | None) -> dict:
    """The KPIs of [start, end) per queue, per agent and per interval when asked."""
    report = _report(db_path, queues, now_epoch, start, end, interval_s or INTERVAL_S)
    result = {
        "start": start, "end": end, "interval_s": interval_s,
        "queues": [{"name": q.name, **_targets(q), **_queue_figures(report.queues[q.name])}
                   for q in queues if q.name in report.queues],
        "agents": [{"id": agent, **_agent_figures(k)}
                   for agent, k in sorted(report.agents.items())],
    }
    with Records(db_path) as records:
        result["dispositions"] = disposition_counts(records, start, end)
        result["quality"] = quality_summary(records, start, end)
        hold = result["hold"] = hold_summary(records, start, end)
    for q in result["queues"]:
        q["average_hold_s"] = hold["queues"].get(q["name"], {}).get("average_hold_s")
    for a in result["agents"]:
        a["average_hold_s"] = hold["agents"].get(a["id"], {}).get("average_hold_s")
    if interval_s is not None:
        result["intervals"] = [
            {"start": at, "queue": queue, **_queue_figures(k)}
            for (at, queue), k in sorted(report.queue_intervals.items())]
        result["agent_intervals"] = [
            {"start": at, "agent": agent, **_agent_figures(k)}
            for (at, agent), k in sorted(report.agent_intervals.items())]
    return result


def export_csv(db_path: Path, queues, zone: ZoneInfo, now_epoch: float, kind: str,
               start: float, end: float) -> str:
    """``calls``, ``intervals`` or ``agents`` of [start, end) as CSV text."""
    out = io.StringIO()
    if kind == "calls":
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CALL_COLUMNS)
        with Records(db_path) as records:
            for c in records.iter_calls(start, end):
                writer.writerow(_call_row(c, zone))
        return out.getvalue()
    report = _report(db_path, queues, now_epoch, start, end, INTERVAL_S)
    if kind == "intervals":
        columns = QUEUE_COLUMNS
        rows = queue_rows(report, queues, dt.datetime.fromtimestamp(0, zone))
    else:
        columns, rows = AGENT_COLUMNS, agent_rows(report)
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _call_row(c, zone: ZoneInfo) -> list:
    def stamp(epoch: float) -> str:
        return dt.datetime.fromtimestamp(epoch, zone).isoformat(timespec="seconds")

    return [c.call_id, stamp(c.started_at), stamp(c.ended_at), c.caller, c.dialled, c.port,
            c.config_version, str(c.outcome), str(c.hangup_side), c.hangup_reason,
            c.language, c.queue or "", c.priority_class or "", c.agent_id or "",
            c.wait_seconds, c.talk_seconds, c.wrapup_seconds,
            "" if c.survey_score is None else c.survey_score, *_quality_cells(c.quality),
            c.hold_seconds]


def _quality_cells(quality) -> list:
    if quality is None:
        return [""] * 5
    return [quality.loss_percent, quality.jitter_ms,
            "" if quality.rtt_ms is None else quality.rtt_ms, quality.r, quality.mos]


def queue_log_text(db_path: Path, memberships: dict[str, list[str]], start: float,
                   end: float) -> str:
    """The queue_log lines of [start, end)."""
    with Records(db_path) as records:
        events = (queue_event(row, 0.0) for row in records.iter_events(start, end))
        return "".join(line + "\n" for line in queue_log_lines(events, memberships))


def _targets(queue) -> dict:
    default = next(c for c in queue.classes if c.name == queue.default_class)
    return {"target_percent": default.service_level_pct,
            "target_s": default.service_level_s}
