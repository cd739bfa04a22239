"""`branchline plan ...`: the workforce plan from the records (docs/planning.md).

    branchline plan show [--day YYYY-MM-DD] [--queue NAME] [--data DIR]
    branchline plan check [--day YYYY-MM-DD] [--roster N] [--seed N] [--data DIR]
    branchline plan adherence [--day YYYY-MM-DD] [--roster N] [--worst N] [--data DIR]

``show`` prints, per queue, the forecast for the day (default: tomorrow, local time) per
15-minute interval with calls: calls, handle time, Erlangs, agents on the phones by Erlang C
and Erlang A, agents on shift after shrinkage; then the forecast's error on the last two weeks
of history beside the naive forecast's.

``check`` tests the roster in force (or version N of the rosters) on the day: per interval
with calls, the forecast, agents on the phones by Erlang C and A, on shift needed, scheduled,
the gap, Erlang C and A's service level and Erlang A's abandon rate for the scheduled agents,
and the service level and abandon rate of the day simulated in event mode
(firmware/planning/check.py). For a day the records already hold, what happened follows each
interval: calls offered, service level, abandon rate.

``adherence`` sets a past day's roster against the agents' states in the records: per agent,
adherence per interval of their shift and over the day, then the largest deviations
(acd/planning/adherence.py has the definition).

Exit status 0; 2 when the command could not run (a bad date, an unknown queue, no roster or no
such version, no shift that day), with the reason on stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from importlib import resources
from zoneinfo import ZoneInfo

from branchline.acd.planning import slot_label
from branchline.acd.planning.adherence import AdherenceRow, adherence, worst
from branchline.config.data_dir import DataDir
from branchline.config.document.loading import check_document, open_config_store
from branchline.firmware.planning import Plan, make_plan
from branchline.firmware.planning.check import (
    CheckRow,
    Happened,
    check_roster_day,
    what_happened,
)
from branchline.firmware.planning.history import read_history
from branchline.firmware.planning.roster import (
    check_roster,
    open_roster_store,
    scheduled_seconds,
)
from branchline.hw import load_scenario

__all__ = ["add_plan_commands", "adherence_lines", "check_lines", "plan_lines"]


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
    check = commands.add_parser("check", help="test a roster before (and after) the day")
    check.add_argument("--day", type=_day, help="the day to check (default: tomorrow)")
    check.add_argument("--roster", type=int, help="roster version (default: the one in force)")
    check.add_argument("--seed", type=int, help="the simulation's seed (default: the "
                       "shipped branch day's)")
    check.add_argument("--data", help="data directory (default $BRANCHLINE_DATA or ./var)")
    check.set_defaults(func=_check)
    adhere = commands.add_parser("adherence", help="a day's roster against what agents did")
    adhere.add_argument("--day", type=_day, help="the day (default: today)")
    adhere.add_argument("--roster", type=int, help="roster version (default: the one in force)")
    adhere.add_argument("--worst", type=int, default=10, help="deviations listed (default 10)")
    adhere.add_argument("--data", help="data directory (default $BRANCHLINE_DATA or ./var)")
    adhere.set_defaults(func=_adherence)
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


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def check_lines(rows: list[CheckRow], happened: dict[int, Happened]) -> list[str]:
    """The check's table; with `happened`, what the records say beside each interval."""
    head = (f"{'interval':<9}{'calls':>6}{'Erl C':>6}{'Erl A':>6}{'need':>5}{'sched':>6}"
            f"{'gap':>5}{'SL C':>6}{'SL A':>6}{'ab A':>6}{'SL sim':>7}{'ab sim':>7}")
    if happened:
        head += f" |{'offered':>8}{'SL':>6}{'ab':>6}"
    lines = [head]
    for r in rows:
        line = (f"{slot_label(r.slot):<9}{r.calls:>6.1f}{r.erlang_c:>6}{r.erlang_a:>6}"
                f"{r.needed:>5}{r.scheduled:>6}{r.gap:>+5}{_rate(r.sl_c):>6}{_rate(r.sl_a):>6}"
                f"{_rate(r.abandon_a):>6}{_rate(r.sl_sim):>7}{_rate(r.abandon_sim):>7}")
        if happened:
            h = happened.get(r.slot)
            line += (f" |{h.offered:>8}{_rate(h.service_level):>6}{_rate(h.abandon_rate):>6}"
                     if h else f" |{0:>8}{'-':>6}{'-':>6}")
        lines.append(line)
    return lines


def _roster(data, document, number, day):
    """The roster version asked for and its shifts on `day`, or an error message."""
    store = open_roster_store(data, document)
    numbers = [v.number for v in store.history()]
    if not numbers:
        return None, None, ("no roster published yet; publish one with the versioned roster "
                            "store (docs/planning.md)")
    if number is not None and number not in numbers:
        return None, None, (f"no roster version {number}; the versions are "
                            f"{numbers[0]}..{numbers[-1]}")
    version = store.current() if number is None else store.get(number)
    roster = check_roster(version.text, {a.id for a in document.acd.agents})[0]
    if not any(s.day == day for s in roster.shifts):
        return None, None, (f"roster v{version.info.number} has no shift on {day}; add the "
                            "day's shifts or pick another --day")
    return version, roster, None


def _check(args) -> int:
    data = DataDir.from_option(args.data)
    document = check_document(open_config_store(data).current().text)[0]
    day = args.day or dt.datetime.now(ZoneInfo(document.site.timezone)).date() + \
        dt.timedelta(days=1)
    version, roster, problem = _roster(data, document, args.roster, day)
    if problem:
        print(f"branchline plan: {problem}", file=sys.stderr)
        return 2
    plan = make_plan(data, document, day)
    template = load_scenario(resources.files("branchline.config") / "defaults" /
                             "scenario_day.yaml")
    rows = check_roster_day(data, document, plan, roster, template, seed=args.seed)
    print(f"roster v{version.info.number} on {day} ({plan.kind}): forecast and Erlang per "
          f"interval, simulated in event mode; shrinkage {_pct(plan.shrinkage)}")
    print("\n".join(check_lines(rows, what_happened(data, document, day))))
    return 0


def adherence_lines(rows: list[AdherenceRow], n: int) -> list[str]:
    lines = []
    for agent in sorted({r.agent for r in rows}):
        mine = [r for r in rows if r.agent == agent]
        total = sum(r.in_adherence_s for r in mine) / sum(r.scheduled_s for r in mine)
        lines.append(f"agent {agent}: adherence {_rate(total)} over "
                     f"{sum(r.scheduled_s for r in mine) / 3600:.2f} h scheduled")
        lines.append("  " + "  ".join(f"{slot_label(r.slot)} {_rate(r.adherence)}"
                                      for r in mine))
    lines.append(f"largest deviations ({n} at most):")
    for r in worst(rows, n):
        lines.append(f"  {slot_label(r.slot):<6} agent {r.agent}: scheduled "
                     f"{r.scheduled_phones_s:.0f} s on the phones, {r.scheduled_break_s:.0f} s "
                     f"break; was {r.phones_s:.0f} s on the phones, {r.not_ready_s:.0f} s not "
                     f"ready ({r.deviation_s:.0f} s out of adherence)")
    return lines


def _adherence(args) -> int:
    data = DataDir.from_option(args.data)
    document = check_document(open_config_store(data).current().text)[0]
    day = args.day or dt.datetime.now(ZoneInfo(document.site.timezone)).date()
    version, roster, problem = _roster(data, document, args.roster, day)
    if problem:
        print(f"branchline plan: {problem}", file=sys.stderr)
        return 2
    history = read_history(data, document, day, day + dt.timedelta(days=1))
    actual = {(agent, slot): states for (d, slot, agent), states in history.agent_states.items()
              if d == day}
    rows = adherence(scheduled_seconds(roster, day), actual)
    print(f"adherence on {day}, roster v{version.info.number}")
    print("\n".join(adherence_lines(rows, args.worst)))
    return 0
