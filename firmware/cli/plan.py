"""`branchline plan ...`: the workforce plan from the records (docs/planning.md).

    branchline plan show [--day YYYY-MM-DD] [--queue NAME] [--data DIR]

``show`` prints, per queue, the forecast for the day (default: tomorrow, local time) per
15-minute interval with calls: calls, handle time, Erlangs, agents on the phones by Erlang C
and Erlang A, agents on shift after shrinkage; then the forecast's error on the last two weeks
of history beside the naive forecast's. Exit status 0; 2 when the command could not run (a
bad date, an unknown queue), with the reason on stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from zoneinfo import ZoneInfo

from branchline.acd.planning import slot_label
from branchline.config.data_dir import DataDir
from branchline.config.document.loading import check_document, open_config_store
from branchline.firmware.planning import Plan, make_plan

__all__ = ["add_plan_commands", "plan_lines"]


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-24") from None


def add_plan_commands(subparsers) -> argparse.ArgumentParser:
    plan = subparsers.add_parser("plan", help="forecast, staffing and roster checks",
                                 description="Workforce planning: see docs/planning.md.")
    commands = plan.add_subparsers(dest="plan_command", required=True, metavar="COMMAND")
    show = commands.add_parser("show", help="a day's forecast and agents needed per interval")
    show.add_argument("--day", type=_day, help="the day to plan (default: tomorrow)")
    show.add_argument("--queue", help="only this queue")
    show.add_argument("--data", help="data directory (default $BRANCHLINE_DATA or ./var)")
    show.set_defaults(func=_show)
    return plan


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def plan_lines(plan: Plan, queue: str | None = None) -> list[str]:
    lines = [f"plan for {plan.day} ({plan.kind}), from {plan.history_days} days of records; "
             f"shrinkage {_pct(plan.shrinkage)} (not ready / logged in)"]
    for q in plan.queues:
        if queue is not None and q.queue != queue:
            continue
        fc = q.forecast
        basis = ", ".join(str(d) for d in fc.basis) or "none"
        lines += [
            "",
            f"queue {q.queue}: target {q.target_pct:g} % in {q.target_s:g} s; patience "
            f"{fc.patience_s:.0f} s; trend x{fc.trend:.3f}/week; from {basis}",
            f"  {'interval':<9}{'calls':>7}{'AHT s':>7}{'Erlangs':>9}{'Erlang C':>10}"
            f"{'Erlang A':>10}{'on shift':>10}",
        ]
        for row in q.staffing:
            if row.calls > 0:
                lines.append(f"  {slot_label(row.slot):<9}{row.calls:>7.1f}{row.aht_s:>7.0f}"
                             f"{row.erlangs:>9.2f}{row.erlang_c:>10}{row.erlang_a:>10}"
                             f"{row.on_shift:>10}")
        if not any(row.calls > 0 for row in q.staffing):
            lines.append("  no calls forecast")
        a = q.accuracy
        lines.append(
            f"  forecast error on held-out days ({len(a.days)} scored): MAPE {_pct(a.mape)}, "
            f"WAPE {_pct(a.wape)}, bias {_pct(a.bias)}; naive (last same weekday): MAPE "
            f"{_pct(a.naive_mape)}, WAPE {_pct(a.naive_wape)}, bias {_pct(a.naive_bias)}")
    return lines


def _show(args) -> int:
    data = DataDir.from_option(args.data)
    document = check_document(open_config_store(data).current().text)[0]
    names = [q.name for q in document.acd.queues]
    if args.queue is not None and args.queue not in names:
        print(f"branchline plan: no queue {args.queue!r}; the queues are {', '.join(names)}",
              file=sys.stderr)
        return 2
    day = args.day or dt.datetime.now(ZoneInfo(document.site.timezone)).date() + \
        dt.timedelta(days=1)
    print("\n".join(plan_lines(make_plan(data, document, day), args.queue)))
    return 0
