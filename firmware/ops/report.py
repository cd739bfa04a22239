"""The simulate KPI report: a text table, CSV files and one self-contained HTML page of charts.

Input: the ACD's event log (``QueueEvent`` in loop time, as ``Distributor.take_log()`` gives it
or ``call_cdr.queue_event`` reads it back from the records), the queues' models, the loop time
the day ended, and ``epoch``: the site's wall-clock datetime of loop time 0 (``clock.wall(0)``).

Integration (``branchline simulate`` in ``firmware/cli/simulate.py``)::

    report = write_report(out_dir, events, queues, end, epoch, title="scenario_day.yaml")
    print(report.text)                 # the terminal table
    report.paths                       # queues.csv, agents.csv, report.html

``write_report`` computes the KPIs with ``branchline.acd.kpis_from_log`` (the same figures the
live ``Distributor.kpis`` keeps) and the waiting-calls series with ``waiting_series``; the
pieces (``text_report``, ``queue_rows`` / ``agent_rows``, ``html_report``) take a ``KpiReport``
and a ``WaitingSeries`` for callers who already have them.

Files:

* ``queues.csv``: one row per queue per 15-minute interval (``interval`` = its start, ISO 8601
  with the site's offset), then one row per queue for the whole day (``interval`` = ``day``).
* ``agents.csv``: one row per agent for the day.
* ``report.html``: tables and three inline SVG charts drawn here (no JavaScript, no external
  file, nothing fetched: the appliance is offline) — waiting calls over the day (the peak of
  each minute, one line per queue), service level per interval against the queue's target,
  agent states over the day (average agents in each state per interval, stacked).

A queue's target is its default class's ``service_level_pct`` within ``service_level_s``;
each call is judged against its own class's time (docs/kpis.md, variant A).
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from branchline.acd import KpiReport, QueueEvent, QueueEventKind, kpis_from_log
from branchline.acd.kpis import INTERVAL_S
from branchline.acd.models import QueueModel

__all__ = [
    "AGENT_COLUMNS",
    "QUEUE_COLUMNS",
    "ReportFiles",
    "WaitingSeries",
    "agent_rows",
    "html_report",
    "queue_rows",
    "text_report",
    "waiting_series",
    "write_report",
]

WAITING_STEP_S = 60.0
_LEAVE = frozenset({QueueEventKind.CONNECT, QueueEventKind.ABANDON,
                    QueueEventKind.EXITWITHTIMEOUT, QueueEventKind.EXITEMPTY,
                    QueueEventKind.EXITWITHKEY})
# Agent states in the stacked chart, bottom up, with their colours.
_STATES = (("talking", "#1b7837"), ("wrap_up", "#7fbf7b"), ("reserved", "#fdb863"),
           ("ready", "#92c5de"), ("not_ready", "#bababa"))
_PALETTE = ("#2166ac", "#b2182b", "#4d9221", "#8c510a", "#762a83", "#01665e")

QUEUE_COLUMNS = ("queue", "interval", "offered", "answered", "answered_in_sl", "abandoned",
                 "short_abandoned", "timed_out", "refused", "callbacks", "service_level",
                 "service_level_target", "abandon_rate", "asa_s", "average_wait_s", "aht_s")
AGENT_COLUMNS = ("agent", "answered", "completed", "login_s", "ready_s", "reserved_s",
                 "talking_s", "wrap_up_s", "not_ready_s", "occupancy", "aht_s")


@dataclass(frozen=True, slots=True)
class WaitingSeries:
    """Peak callers waiting in each queue in each ``step_s`` from ``start`` (loop time)."""

    start: float
    step_s: float
    peaks: dict[str, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class ReportFiles:
    text: str
    paths: tuple[Path, ...]


def waiting_series(events: Iterable[QueueEvent], queues: Sequence[str], start: float,
                   end: float, step_s: float = WAITING_STEP_S) -> WaitingSeries:
    """Callers waiting (entered a queue, not yet answered or gone) per step, the step's peak."""
    if end <= start or step_s <= 0:
        raise ValueError(f"waiting_series: start {start}, end {end}, step {step_s}; expected "
                         "end after start and a positive step")
    steps = math.ceil((end - start) / step_s)
    peaks = {q: [0] * steps for q in queues}
    level = {q: 0 for q in queues}
    filled = {q: 0 for q in queues}  # steps before this one have their starting level
    in_queue: dict[str, str] = {}
    for event in events:
        if event.kind is QueueEventKind.ENTERQUEUE:
            in_queue[event.call_id] = event.queue
            delta = 1
        elif event.kind in _LEAVE and in_queue.pop(event.call_id, None) is not None:
            delta = -1
        else:
            continue
        queue = event.queue
        if queue not in level:
            peaks[queue], level[queue], filled[queue] = [0] * steps, 0, 0
        i = int((event.time - start) // step_s)
        row = peaks[queue]
        # Every step up to this event's starts at the level before it (quiet steps keep it).
        while filled[queue] <= min(i, steps - 1):
            row[filled[queue]] = level[queue]
            filled[queue] += 1
        level[queue] += delta
        if 0 <= i < steps:
            row[i] = max(row[i], level[queue])
    for queue, row in peaks.items():
        for j in range(filled[queue], steps):
            row[j] = level[queue]
    return WaitingSeries(start, step_s, {q: tuple(p) for q, p in peaks.items()})


def _fmt(value: float | None, kind: str) -> str:
    if value is None:
        return ""
    if kind == "pct":
        return f"{100 * value:.1f}"
    return f"{value:.1f}"


def _target(queue: QueueModel) -> tuple[float, float]:
    cls = next(c for c in queue.classes if c.name == queue.default_class)
    return cls.service_level_pct, cls.service_level_s


def _queue_row(name: str, interval: str, k, target_pct: float) -> dict[str, str]:
    return {
        "queue": name, "interval": interval, "offered": str(k.offered),
        "answered": str(k.answered), "answered_in_sl": str(k.answered_in_sl),
        "abandoned": str(k.abandoned), "short_abandoned": str(k.short_abandoned),
        "timed_out": str(k.timed_out), "refused": str(k.refused),
        "callbacks": str(k.callbacks_requested),
        "service_level": _fmt(k.service_level, "pct"),
        "service_level_target": f"{target_pct:.1f}",
        "abandon_rate": _fmt(k.abandon_rate, "pct"), "asa_s": _fmt(k.asa, "s"),
        "average_wait_s": _fmt(k.average_wait, "s"), "aht_s": _fmt(k.aht, "s"),
    }


def queue_rows(report: KpiReport, queues: Sequence[QueueModel],
               epoch: dt.datetime) -> list[dict[str, str]]:
    """queues.csv: per queue, each interval in time order, then the day."""
    rows = []
    for queue in queues:
        target, _ = _target(queue)
        for start, name in sorted(k for k in report.queue_intervals if k[1] == queue.name):
            stamp = (epoch + dt.timedelta(seconds=start)).isoformat(timespec="minutes")
            rows.append(_queue_row(name, stamp, report.queue_intervals[(start, name)], target))
        if queue.name in report.queues:
            rows.append(_queue_row(queue.name, "day", report.queues[queue.name], target))
    return rows


def agent_rows(report: KpiReport) -> list[dict[str, str]]:
    """agents.csv: one row per agent for the day."""
    rows = []
    for agent_id, k in sorted(report.agents.items()):
        row = {"agent": agent_id, "answered": str(k.answered), "completed": str(k.completed),
               "login_s": f"{k.login_s:.1f}"}
        for state, _ in _STATES:
            row[f"{state}_s"] = f"{k.state_s.get(state, 0.0):.1f}"
        row["occupancy"] = _fmt(k.occupancy, "pct")
        row["aht_s"] = _fmt(k.aht, "s")
        rows.append({c: row[c] for c in AGENT_COLUMNS})
    return rows


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                     for i, (h, w) in enumerate(zip(header, widths, strict=True)))
    out = [line, "-" * len(line)]
    for r in rows:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths, strict=True))))
    return out


def text_report(report: KpiReport, queues: Sequence[QueueModel]) -> str:
    """The terminal table: per queue for the day, then per agent."""
    qrows = []
    for queue in queues:
        k = report.queues.get(queue.name)
        if k is None:
            continue
        pct, secs = _target(queue)
        qrows.append([queue.name, str(k.offered), str(k.answered),
                      str(k.abandoned + k.short_abandoned), str(k.timed_out),
                      _fmt(k.service_level, "pct") or "-", f"{pct:.0f}/{secs:.0f}s",
                      _fmt(k.asa, "s") or "-", _fmt(k.aht, "s") or "-"])
    arows = [[r["agent"], r["answered"], f"{float(r['login_s']) / 60:.1f}",
              r["occupancy"] or "-", r["aht_s"] or "-"] for r in agent_rows(report)]
    lines = ["Queues", *_table(["queue", "offered", "answered", "abandoned", "timed out",
                                "SL %", "target", "ASA s", "AHT s"], qrows),
             "", "Agents", *_table(["agent", "answered", "login min", "occupancy %",
                                    "AHT s"], arows)]
    return "\n".join(lines) + "\n"


# --- SVG charts ---------------------------------------------------------------------------

_W, _H = 760, 250
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 160, 22, 28


class _Axes:
    """Maps data (x: loop seconds, y: value) into the plot area of one chart."""

    def __init__(self, x0: float, x1: float, y_max: float):
        self.x0, self.x1 = x0, x1 if x1 > x0 else x0 + 1
        self.y_max = y_max if y_max > 0 else 1.0

    def x(self, t: float) -> float:
        return _LEFT + (t - self.x0) / (self.x1 - self.x0) * (_W - _LEFT - _RIGHT)

    def y(self, v: float) -> float:
        return _H - _BOTTOM - v / self.y_max * (_H - _TOP - _BOTTOM)

    def point(self, t: float, v: float) -> str:
        return f"{self.x(t):.1f},{self.y(v):.1f}"


def _frame(axes: _Axes, epoch: dt.datetime, y_label: str, y_ticks: Sequence[float],
           y_fmt: str) -> list[str]:
    out = [f'<line x1="{_LEFT}" y1="{_H - _BOTTOM}" x2="{_W - _RIGHT}" y2="{_H - _BOTTOM}" '
           'stroke="#444"/>',
           f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_H - _BOTTOM}" stroke="#444"/>',
           f'<text x="4" y="12" font-size="10">{html.escape(y_label)}</text>']
    for v in y_ticks:
        y = axes.y(v)
        out.append(f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_W - _RIGHT}" y2="{y:.1f}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{_LEFT - 4}" y="{y + 3:.1f}" font-size="10" '
                   f'text-anchor="end">{format(v, y_fmt)}</text>')
    hour = 3600.0
    t = math.ceil(axes.x0 / hour) * hour
    while t <= axes.x1:
        label = (epoch + dt.timedelta(seconds=t)).strftime("%H:%M")
        out.append(f'<text x="{axes.x(t):.1f}" y="{_H - 10}" font-size="10" '
                   f'text-anchor="middle">{label}</text>')
        t += hour
    return out


def _legend(entries: Sequence[tuple[str, str]]) -> list[str]:
    out = []
    for i, (name, colour) in enumerate(entries):
        y = _TOP + 14 * i
        out.append(f'<rect x="{_W - _RIGHT + 10}" y="{y}" width="10" height="10" '
                   f'fill="{colour}"/>')
        out.append(f'<text x="{_W - _RIGHT + 24}" y="{y + 9}" font-size="10">'
                   f'{html.escape(name)}</text>')
    return out


def _svg(chart_id: str, title: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart_id}" width="{_W}" '
            f'height="{_H}" viewBox="0 0 {_W} {_H}" role="img">'
            f"<title>{html.escape(title)}</title>" + "".join(body) + "</svg>")


def _nice_ticks(top: float) -> list[float]:
    if top <= 0:
        return [0.0, 1.0]
    step = 10 ** math.floor(math.log10(top))
    for m in (1, 2, 5, 10):
        if top / (m * step) <= 5:
            step *= m
            break
    return [i * step for i in range(int(top // step) + 2)]


def waiting_chart(series: WaitingSeries, epoch: dt.datetime) -> str:
    """One polyline per queue, one point per step (the step's peak)."""
    steps = max((len(p) for p in series.peaks.values()), default=0)
    top = max((max(p, default=0) for p in series.peaks.values()), default=0)
    ticks = _nice_ticks(top)
    axes = _Axes(series.start, series.start + steps * series.step_s, ticks[-1])
    body = _frame(axes, epoch, "callers", ticks, ".0f")
    legend = []
    for i, (queue, peaks) in enumerate(sorted(series.peaks.items())):
        colour = _PALETTE[i % len(_PALETTE)]
        points = " ".join(axes.point(series.start + (j + 0.5) * series.step_s, v)
                          for j, v in enumerate(peaks))
        body.append(f'<polyline class="series" data-queue="{html.escape(queue)}" '
                    f'fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/>')
        legend.append((queue, colour))
    return _svg("chart-waiting", "Callers waiting (peak per minute)", body + _legend(legend))


def service_level_chart(report: KpiReport, queues: Sequence[QueueModel],
                        epoch: dt.datetime, interval_s: float = INTERVAL_S) -> str:
    """Per queue: service level of each interval with calls, and the queue's target."""
    starts = sorted({s for s, _ in report.queue_intervals})
    x0 = starts[0] if starts else 0.0
    x1 = (starts[-1] + interval_s) if starts else interval_s
    axes = _Axes(x0, x1, 100.0)
    body = _frame(axes, epoch, "SL %", [0, 20, 40, 60, 80, 100], ".0f")
    legend = []
    for i, queue in enumerate(queues):
        colour = _PALETTE[i % len(_PALETTE)]
        target, _ = _target(queue)
        body.append(f'<line class="target" data-queue="{html.escape(queue.name)}" '
                    f'x1="{axes.x(x0):.1f}" y1="{axes.y(target):.1f}" x2="{axes.x(x1):.1f}" '
                    f'y2="{axes.y(target):.1f}" stroke="{colour}" stroke-dasharray="4 3"/>')
        values = [(s + interval_s / 2, report.queue_intervals[(s, queue.name)].service_level)
                  for s in starts if (s, queue.name) in report.queue_intervals]
        shown = [(t, 100 * v) for t, v in values if v is not None]
        points = " ".join(axes.point(t, v) for t, v in shown)
        body.append(f'<polyline class="series" data-queue="{html.escape(queue.name)}" '
                    f'fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/>')
        # Markers: an interval between two without calls would otherwise be a bare corner.
        body.extend(f'<circle cx="{axes.x(t):.1f}" cy="{axes.y(v):.1f}" r="2.5" '
                    f'fill="{colour}"/>' for t, v in shown)
        legend.append((f"{queue.name} (target {target:.0f} %)", colour))
    return _svg("chart-service-level", "Service level per 15 minutes vs target",
                body + _legend(legend))


def agent_states_chart(report: KpiReport, epoch: dt.datetime,
                       interval_s: float = INTERVAL_S) -> str:
    """Average agents in each state per interval, stacked (one polygon per state)."""
    starts = sorted({s for s, _ in report.agent_intervals})
    totals = {s: {state: 0.0 for state, _ in _STATES} for s in starts}
    for (s, _agent), k in report.agent_intervals.items():
        for state, _ in _STATES:
            totals[s][state] += k.state_s.get(state, 0.0) / interval_s
    top = max((sum(v.values()) for v in totals.values()), default=0.0)
    ticks = _nice_ticks(top)
    x0 = starts[0] if starts else 0.0
    axes = _Axes(x0, (starts[-1] + interval_s) if starts else interval_s, ticks[-1])
    body = _frame(axes, epoch, "agents", ticks, "g")
    base = [0.0] * len(starts)
    for state, colour in _STATES:
        upper = [b + totals[s][state] for b, s in zip(base, starts, strict=True)]
        mids = [s + interval_s / 2 for s in starts]
        top_edge = [axes.point(t, v) for t, v in zip(mids, upper, strict=True)]
        bottom_edge = [axes.point(t, v) for t, v in zip(mids, base, strict=True)][::-1]
        body.append(f'<polygon class="series" data-state="{state}" fill="{colour}" '
                    f'stroke="none" points="{" ".join(top_edge + bottom_edge)}"/>')
        base = upper
    return _svg("chart-agent-states", "Agent states over the day (average agents)",
                body + _legend([(s.replace("_", " "), c) for s, c in _STATES][::-1]))


def _html_table(columns: Sequence[str], rows: Sequence[dict[str, str]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(r[c])}</td>" for c in columns) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """body{font:14px/1.4 sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 24px}td,th{border:1px solid #ccc;padding:2px 6px;
text-align:right}td:first-child,th:first-child{text-align:left}svg{display:block;margin:8px 0}"""


def html_report(report: KpiReport, series: WaitingSeries, queues: Sequence[QueueModel],
                epoch: dt.datetime, *, title: str = "Branchline KPI report") -> str:
    """One self-contained page (well-formed XML too, so each chart parses on its own)."""
    day_rows = [r for r in queue_rows(report, queues, epoch) if r["interval"] == "day"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"/>',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Day starting {html.escape(epoch.isoformat(timespec='minutes'))}.</p>",
        "<h2>Queues</h2>", _html_table(QUEUE_COLUMNS, day_rows),
        "<h2>Callers waiting</h2>", waiting_chart(series, epoch),
        "<h2>Service level</h2>", service_level_chart(report, queues, epoch),
        "<h2>Agent states</h2>", agent_states_chart(report, epoch),
        "<h2>Agents</h2>", _html_table(AGENT_COLUMNS, agent_rows(report)),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_report(out_dir: str | Path, events: Sequence[QueueEvent],
                 queues: Sequence[QueueModel], end: float, epoch: dt.datetime, *,
                 start: float = 0.0, title: str = "Branchline KPI report") -> ReportFiles:
    """Compute the day's KPIs from ``events`` and write queues.csv, agents.csv, report.html."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = kpis_from_log(events, queues, end)
    series = waiting_series(events, [q.name for q in queues], start, end)
    paths = (
        _write_csv(out / "queues.csv", QUEUE_COLUMNS, queue_rows(report, queues, epoch)),
        _write_csv(out / "agents.csv", AGENT_COLUMNS, agent_rows(report)),
        out / "report.html",
    )
    paths[2].write_text(html_report(report, series, queues, epoch, title=title),
                        encoding="utf-8")
    return ReportFiles(text_report(report, queues), paths)
