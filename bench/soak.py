"""A day without drift: 24 hours of a busy branch on the board emulator, on the virtual clock.

The shipped branch day (config/defaults/scenario_day.yaml) scaled up to run around the clock:
its lines, agents and callers, 120 calls an hour for 24 hours, agents on shift all day. The
board is the emulator behind a real pty (tests/support/emu_harness.py) with a fault plan:
noise on the serial line, lost and late audio frames, and a board reset every 6 hours. The
virtual callers who are gone are counted and let go (``keep_callers=False``): the test's own
people would otherwise be the one thing that grows.

Each virtual hour: RSS, open fds, threads, records.db and its WAL. At the end, after the
drain: every call the virtual callers made has exactly one call record. tracemalloc makes
every allocation about three times dearer (a 24-hour audio run would take most of a working
day), so it traces two runs: the emulator run's last two hours (what the appliance allocated
then and still holds at the end), and a second 24 hours of the same scenario on the
event-mode sim board (``simulate --media events``: the same appliance, engines and records,
key events instead of audio), traced from hour 2 to the end.

``SOAK_HOURS`` shortens the run (for trying it out); docs/BENCHMARKS.md holds a 24-hour run.
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from importlib import resources
from pathlib import Path

import yaml
from emu_harness import EmuHarness
from runtime_harness import RuntimeHarness

from branchline.config.data_dir import DataDir
from branchline.config.document.loading import open_config_store
from branchline.firmware.appliance import build_prompts
from branchline.firmware.bankhost import BankHostSimulator
from branchline.firmware.records.database import Records

HOURS = float(os.environ.get("SOAK_HOURS", "24"))
WARM_H = 2
TRACE_FROM_H = max(WARM_H, int(HOURS) - 2)
PER_HOUR = 120
FAULTS = "noise:0.00002,drop:0.001,late:0.0005," + ",".join(
    f"reset@{h * 3600}" for h in (6, 12, 18))
# The virtual callers and agents, and the emulated board's firmware, are the test's, not the
# appliance's: their memory is reported apart.
NOT_APPLIANCE = (f"{os.sep}hw{os.sep}sim{os.sep}", f"{os.sep}hw{os.sep}emulator{os.sep}")


def scenario_text() -> str:
    day = yaml.safe_load((resources.files("branchline.config") / "defaults" /
                          "scenario_day.yaml").read_text())
    day["name"] = "soak"
    day["day"] = {"start": "00:00", "end": "24:00"}
    day["arrivals"] = {"default_per_hour": PER_HOUR}
    for agent in day["agents"]["roster"]:
        agent["shift"] = {"start": "00:00", "end": "24:00"}
    return yaml.safe_dump(day, allow_unicode=True)


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def traced() -> tuple[int, int]:
    """(bytes traced in the appliance, bytes traced in the virtual people and board)."""
    snapshot = tracemalloc.take_snapshot()
    sim = total = 0
    for stat in snapshot.statistics("filename"):
        total += stat.size
        if any(part in stat.traceback[0].filename for part in NOT_APPLIANCE):
            sim += stat.size
    return total - sim, sim


def soak(work: Path) -> tuple[list[dict], dict]:
    data = work / "data"
    prompts = work / "prompts"
    prompts.mkdir()
    build_prompts(prompts, open_config_store(prompts))
    rows = []
    with BankHostSimulator(seed=11) as bank:
        h = EmuHarness(data, scenario_text(), prompts_dir=prompts, bank_url=bank.base_url,
                       seed=11, faults=FAULTS, keep_callers=False)
        started = time.perf_counter()
        for hour in range(1, int(HOURS) + 1):
            h.run(3600)
            if hour == TRACE_FROM_H:
                tracemalloc.start()
            gc.collect()
            app_bytes, _ = traced() if tracemalloc.is_tracing() else (0, 0)
            db = DataDir(data).records_db
            own = tracemalloc.get_tracemalloc_memory() if tracemalloc.is_tracing() else 0
            rows.append({"hour": hour, "rss": rss(), "own": own, "traced": app_bytes,
                         "fds": len(os.listdir("/proc/self/fd")),
                         "threads": threading.active_count(),
                         "db": size(db), "wal": size(db.with_name(db.name + "-wal")),
                         "late": h.app.loop.stats.late, "wall": time.perf_counter() - started})
            print(f"soak: {rows[-1]}", file=sys.stderr, flush=True)
        tracemalloc.stop()
        counters = h.sim.counters()
        h.close()
    with Records(DataDir(data).records_db) as records:
        ids = Counter(r.call_id for r in records.calls(0.0, float("inf")))
    return rows, {"offered": counters.offered, "blocked": counters.blocked,
                  "records": sum(ids.values()), "calls": len(ids),
                  "twice": sum(1 for n in ids.values() if n > 1)}


def traced_day(work: Path) -> list[dict]:
    """The same day on the event-mode board, tracemalloc from hour 2: per hour, what the
    appliance allocated since and still holds."""
    data = work / "events"
    prompts = work / "prompts"
    rows = []
    with BankHostSimulator(seed=11) as bank:
        h = RuntimeHarness(data, scenario_text(), prompts_dir=prompts, bank_url=bank.base_url,
                           seed=11, events=True)
        h.board.keep_callers = False
        for hour in range(1, int(HOURS) + 1):
            h.run(3600)
            h.app.writer.flush(timeout=60)  # records queued for the writer are not growth
            if hour == WARM_H:
                tracemalloc.start()
            gc.collect()
            app_bytes, sim_bytes = traced() if tracemalloc.is_tracing() else (0, 0)
            rows.append({"hour": hour, "rss": rss(), "traced": app_bytes, "sim": sim_bytes})
            print(f"soak, events: {rows[-1]}", file=sys.stderr, flush=True)
        tracemalloc.stop()
        h.close()
    return rows


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        rows, cdrs = soak(Path(tmp))
        events = traced_day(Path(tmp))
    warm = next(r for r in rows if r["hour"] == WARM_H) if len(rows) >= WARM_H else rows[0]
    last = rows[-1]
    table = [f"| {r['hour']} | {r['rss'] / 2**20:.1f} | {r['own'] / 2**20:.1f} | "
             f"{(r['rss'] - r['own']) / 2**20:.1f} | {r['traced'] / 2**10:.0f} | "
             f"{r['fds']} | {r['threads']} | {r['db'] / 2**20:.2f} | "
             f"{r['wal'] / 2**20:.2f} | {r['wall'] / 60:.0f} |" for r in rows]
    net = [r["rss"] - r["own"] for r in (warm, last)]
    growth = (net[1] - net[0]) / net[0] * 100
    ev_warm = next((r for r in events if r["hour"] == WARM_H), events[0])
    ev_last = events[-1]
    ev_table = [f"| {r['hour']} | {r['rss'] / 2**20:.1f} | {r['traced'] / 2**10:.0f} | "
                f"{r['sim'] / 2**10:.0f} |" for r in events]
    return "\n".join([
        "## Soak",
        "",
        f"{HOURS:.0f} virtual hours of the branch scenario scaled up ({PER_HOUR} calls an hour "
        "around the clock) on the board emulator behind a real pty, with faults "
        f"(`{FAULTS}`), on the virtual clock (bench/soak.py). **RSS from hour {WARM_H} to the "
        f"end: {growth:+.2f} %** (tracemalloc's own tables, in the last two hours, left out). "
        f"Memory the appliance allocated in the last two hours and still holds at the end "
        f"(tracemalloc): **{last['traced'] / 2**10:.0f} KiB**. Calls made by the virtual "
        f"callers: {cdrs['offered']}, of which {cdrs['blocked']} found every line busy (the "
        f"exchange never put them through); call records: {cdrs['records']} for "
        f"{cdrs['calls']} calls, {cdrs['twice']} with more than one. Late ticks: "
        f"{last['late']} (the virtual clock has none of its own).",
        "",
        "| hour | RSS MiB | tracemalloc's own MiB | RSS less it MiB | appliance traced KiB | "
        "fds | threads | records.db MiB | WAL MiB | wall min |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *table,
        "",
        f"The same {HOURS:.0f} hours on the event-mode board, traced from hour {WARM_H}: memory "
        f"the appliance allocated after hour {WARM_H} and still holds at the end: "
        f"**{ev_last['traced'] / 2**10:.0f} KiB, {ev_last['traced'] / ev_warm['rss'] * 100:.2f} "
        f"% of the RSS at hour {WARM_H}**; RSS there (with tracemalloc's tables) "
        f"{ev_warm['rss'] / 2**20:.1f} to {ev_last['rss'] / 2**20:.1f} MiB.",
        "",
        "| hour | RSS MiB | appliance traced KiB | virtual people traced KiB |",
        "|---|---|---|---|",
        *ev_table,
    ])
