"""What the live and report pages show, from the link's snapshot and KPI report. No HTML.

``queue_cards(snapshot)`` and ``agent_rows(...)`` are the wallboard's first paint (the
browser then updates them from ``/api/live/stream``; ``static/wallboard.js`` formats the same
way: whole seconds as m:ss, service level as a whole percent). ``kpi_view(report, t, zone)``
turns ``ApplianceLink.kpis`` into table rows and ``charts`` SVG. ``diff_lines`` classes a
unified diff's lines for colour.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from branchline.config.web.charts import bar_chart, line_chart

__all__ = ["agent_rows", "clock", "diff_lines", "kpi_view", "live_summary", "percent",
           "queue_cards"]

AGENT_STATES = ("logged_out", "ready", "not_ready", "reserved", "talking", "wrap_up")


def clock(seconds: float | None) -> str:
    """Seconds as m:ss (h:mm:ss from an hour); "—" for none."""
    if seconds is None:
        return "—"
    whole = max(int(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:.0f}%"


def live_summary(snapshot: Mapping[str, Any]) -> dict[str, int]:
    calls = snapshot.get("calls", [])
    return {"calls": len(calls),
            "waiting": sum(1 for c in calls if c.get("state") == "queued"),
            "ready": sum(1 for a in snapshot.get("agents", []) if a.get("state") == "ready")}


def queue_cards(snapshot: Mapping[str, Any]) -> list[dict[str, Any]]:
    cards = []
    for q in snapshot.get("queues", []):
        waiting = q.get("waiting") or {}
        target = q.get("target") or {}
        first = next(iter(target.values()), None)
        cards.append({
            "name": q.get("name", "?"),
            "waiting_total": sum(waiting.values()),
            "classes": " · ".join(f"{name} {n}" for name, n in waiting.items()),
            "oldest": clock(q.get("oldest_wait_s")),
            "sl": percent(q.get("service_level_today")),
            "target": (f"/ {first['percent']:.0f}% ≤ {first['seconds']:.0f}s"
                       if first else ""),
            "answered": q.get("answered_today", 0),
            "abandoned": q.get("abandoned_today", 0)})
    return cards


def agent_rows(snapshot: Mapping[str, Any], configured: Sequence[Any],
               t: Callable[..., str]) -> list[dict[str, Any]]:
    """Live agents (with configured ones the snapshot lacks, as logged out)."""
    live = {a.get("id"): a for a in snapshot.get("agents", [])}
    rows = []
    for a in configured:
        if a.id not in live:
            live[a.id] = {"id": a.id, "name": a.name, "station": a.station,
                          "state": "logged_out", "since_s": None, "calls_today": 0}
    skills = {a.id: ", ".join(f"{k} {v}" for k, v in a.skills.items()) for a in configured}
    for agent in live.values():
        state = agent.get("state") or "logged_out"
        known = state in AGENT_STATES
        rows.append({"id": agent.get("id"), "name": agent.get("name") or agent.get("id"),
                     "station": agent.get("station") or "—",
                     "skills": skills.get(agent.get("id"), ""),
                     "state": state, "state_known": known,
                     "state_label": t(f"state.{state}") if known else state,
                     "reason": agent.get("reason"), "since": clock(agent.get("since_s")),
                     "calls_today": agent.get("calls_today", 0)})
    return rows


def kpi_view(report: Mapping[str, Any], t: Callable[..., str], zone: ZoneInfo
             ) -> dict[str, Any]:
    queue_rows = [{"name": q["name"], "offered": q.get("offered", 0),
                   "answered": q.get("answered", 0), "abandoned": q.get("abandoned", 0),
                   "sl": percent(q.get("service_level")), "asa": clock(q.get("asa_s")),
                   "aht": clock(q.get("aht_s")), "hold": clock(q.get("average_hold_s"))}
                  for q in report.get("queues", [])]
    agent_rows_ = [{"name": a["id"], "answered": a.get("answered", 0),
                    "aht": clock(a.get("aht_s")), "occupancy": percent(a.get("occupancy")),
                    "hold": clock(a.get("average_hold_s"))}
                   for a in report.get("agents", [])]
    starts = sorted({i["start"] for i in report.get("intervals", [])})
    labels = [dt.datetime.fromtimestamp(s, zone).strftime("%H:%M") for s in starts]
    by_start: dict[float, dict[str, float]] = {s: {"offered": 0, "answered": 0,
                                                   "abandoned": 0} for s in starts}
    for i in report.get("intervals", []):
        for key in ("offered", "answered", "abandoned"):
            by_start[i["start"]][key] += i.get(key, 0)
    volume = line_chart(labels, {t(f"reports.{key}"): [by_start[s][key] for s in starts]
                                 for key in ("offered", "answered", "abandoned")},
                        title=t("reports.chart_volume"), unit="", empty=t("reports.no_calls"))
    first = report.get("queues", [{}])[0] if report.get("queues") else {}
    target = first.get("target_percent")
    sl = bar_chart({q["name"]: q.get("service_level") for q in report.get("queues", [])},
                   title=t("reports.chart_sl"), unit="%",
                   target=target / 100 if target is not None else None,
                   empty=t("reports.no_calls"))
    agents = bar_chart({a["id"]: float(a.get("answered", 0))
                        for a in report.get("agents", [])},
                       title=t("reports.chart_agents"), empty=t("reports.no_calls"))
    interval_rows = [{"start": dt.datetime.fromtimestamp(i["start"], zone).strftime("%H:%M"),
                      "queue": i.get("queue", "?"), "offered": i.get("offered", 0),
                      "answered": i.get("answered", 0), "abandoned": i.get("abandoned", 0),
                      "sl": percent(i.get("service_level")), "asa": clock(i.get("asa_s"))}
                     for i in sorted(report.get("intervals", []),
                                     key=lambda i: (i["start"], i.get("queue", "")))
                     if i.get("offered", 0)]
    return {"queue_rows": queue_rows, "agent_rows": agent_rows_, "interval_rows": interval_rows,
            "charts": {"volume": volume, "sl": sl, "agents": agents},
            "quality": quality_view(report.get("quality") or {}, zone)}


def quality_view(quality: Mapping[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """The SIP calls' media quality as the reports page shows it (blank where unknown)."""
    def figure(value, digits):
        return "" if value is None else f"{value:.{digits}f}"

    worst = [{"call_id": w["call_id"], "port": w["port"], "caller": w["caller"],
              "started": dt.datetime.fromtimestamp(w["started"], zone).strftime("%H:%M:%S"),
              "loss": figure(w["loss_percent"], 1), "jitter": figure(w["jitter_ms"], 1),
              "rtt": figure(w["rtt_ms"], 1), "r": figure(w["r"], 0),
              "mos": figure(w["mos"], 2)} for w in quality.get("worst", [])]
    return {"calls": quality.get("calls", 0), "mos_average": figure(quality.get("mos_average"), 2),
            "mos_lowest": figure(quality.get("mos_lowest"), 2),
            "loss": figure(quality.get("loss_average_percent"), 2),
            "jitter": figure(quality.get("jitter_average_ms"), 1), "worst": worst}


def diff_lines(text: str) -> list[dict[str, str]]:
    out = []
    for line in text.splitlines():
        if line.startswith(("+++", "---")):
            cls = "file"
        elif line.startswith("@@"):
            cls = "hunk"
        elif line.startswith("+"):
            cls = "add"
        elif line.startswith("-"):
            cls = "del"
        else:
            cls = "same"
        out.append({"cls": cls, "text": line})
    return out
