"""Runtime benchmarks: IVR channels one core sustains, and how fast `simulate` runs a day.

1. Channel capacity. A synthetic board of N trunks (``BigBoard`` below: the Board interface,
   every line ringing at start with a caller ID, then a caller who presses ``#`` (repeat) in
   the language menu every 10 s as real DTMF audio over -60 dBm0 noise) drives the real
   ``Appliance``: DtmfRx and CallProgressRx on every channel, an IVR session per call, the
   prompt store's audio rendered on every channel (a prompt plays nearly all the time). The
   first 2 s (answering everything) are left out; then 20 s of virtual time are timed tick by
   tick (the loop's own histogram, 50 us bins). N grows until the 99th-percentile tick passes
   5 ms (a quarter of the 20 ms budget, leaving the rest of the core for the board driver,
   records and the web service).
2. Simulation speed. ``branchline simulate`` on the shipped day scenario (8 trunks, 6 agents)
   for half an hour (virtual seconds / wall seconds, drain included; prompt building
   excluded), and the 300-seat call centre (``scenario_300.yaml``: 200 trunks, 300 agent
   phones, about 9,000 calls a day) at its lunchtime peak: the day started at 12:00 with the
   morning team logged in, ``SEATS_WARM_S`` untimed to fill the lines, then ``SEATS_S`` timed.
   A whole 300-seat day takes too long for a bench (see the section's figure); the peak is the
   hardest slice of it.
3. The event mode (``simulate --media events``: the same appliance, engines and records, keys,
   prompts and hang-ups as events, no DSP, only the blocks where something is due): the
   whole branch day and the whole 300-seat day, prompt building excluded.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from branchline.config.document.loading import open_config_store
from branchline.dsp import DBM0_RMS, dtmf_samples
from branchline.firmware.appliance import Appliance, build_prompts
from branchline.firmware.bankhost import ENDPOINTS, BankHostSimulator
from branchline.firmware.cli.simulate import (
    SIM_DATE,
    day_start,
    publish_fitted,
    run_virtual,
    simulate,
)
from branchline.firmware.clock import VirtualClock
from branchline.firmware.host_client import HostClient
from branchline.firmware.media_loop import TickStats
from branchline.hw import CallerId, Port, PortKind, Ring, SimBoard, parse_scenario
from branchline.hw.ports import BLOCK_SAMPLES, BLOCK_SECONDS

P99_LIMIT_S = 5e-3
SEATS_WARM_S, SEATS_S = 60.0, 120.0
# Digital trunks (E1 timeslots, SIP channels) need no line echo canceller; analog FXO lines do.
CHANNELS = {PortKind.SIP: (250, 500, 1000, 1500, 2000, 2500, 3000),
            PortKind.FXO: (100, 200, 250, 300, 400, 500)}
LINE_NAMES = {PortKind.SIP: "digital trunks (E1/SIP): no line echo canceller",
              PortKind.FXO: "analog FXO lines: line echo canceller, 64 ms tail"}
WARM_S, MEASURE_S = 2.0, 20.0
CYCLE_BLOCKS = 500  # 10 s
PATTERNS = 64
START = dt.datetime.combine(SIM_DATE, dt.time(10, 0), tzinfo=ZoneInfo("Asia/Shanghai"))


class BigBoard:
    """N trunks with a caller in the menus on each (see the module docstring)."""

    def __init__(self, channels: int, kind: PortKind, seed: int = 1):
        # Named fxoN whatever the kind, so the fitted document's lines match.
        self._ports = tuple(Port(i, kind, f"fxo{i + 1}") for i in range(channels))
        rng = np.random.default_rng(seed)
        noise = rng.standard_normal((PATTERNS, CYCLE_BLOCKS * BLOCK_SAMPLES)) * DBM0_RMS * 1e-3
        key = dtmf_samples("#", level_dbm0=-10.0, on_ms=80, off_ms=80).astype(np.float64)
        for p in range(PATTERNS):
            start = (p * CYCLE_BLOCKS // PATTERNS) * BLOCK_SAMPLES
            noise[p, start:start + len(key)] += key
        self._audio = np.clip(np.rint(noise), -32768, 32767).astype(np.int16)
        self._audio = np.concatenate([self._audio, self._audio[:, :BLOCK_SAMPLES]], axis=1)
        self._row = np.arange(channels) % PATTERNS
        self._block = 0
        self._started = False

    @property
    def ports(self):
        return self._ports

    def tick(self, now):
        if self._started:
            return []
        self._started = True
        events = []
        for port in self._ports:
            events += [Ring(port.index, now, 1),
                       CallerId(port.index, now, f"1380000{port.index:04d}")]
        return events

    def read_block(self):
        start = (self._block % CYCLE_BLOCKS) * BLOCK_SAMPLES
        self._block += 1
        return self._audio[self._row, start:start + BLOCK_SAMPLES]

    def write_block(self, block):
        pass

    def answer(self, port):
        pass

    def hang_up(self, port):
        pass

    def ring(self, port, cadence=None):
        pass

    def stop_ring(self, port):
        pass


def capacity(work: Path, prompts, bank_url: str, channels: int,
             kind: PortKind) -> tuple[float, float, int]:
    """(p50, p99 tick seconds, calls in the IVR) for a board of `channels` trunks of `kind`."""
    data = work / f"cap{kind.value}{channels}"
    store = open_config_store(data)
    clock = VirtualClock(START)
    app = Appliance(data, BigBoard(channels, kind), clock, prompts,
                    HostClient(bank_url, ENDPOINTS), wait_for_host=True, store=store)
    app.start()
    app.tick(clock.now())
    for _ in range(round(WARM_S / BLOCK_SECONDS)):
        app.tick(clock.advance(BLOCK_SECONDS))
    app.loop.stats = TickStats()
    for _ in range(round(MEASURE_S / BLOCK_SECONDS)):
        app.tick(clock.advance(BLOCK_SECONDS))
    stats = app.loop.stats
    in_ivr = app.active_calls
    app.close(clock.now())
    return stats.percentile(50), stats.percentile(99), in_ivr


def speed(work: Path, hours: float) -> tuple[float, float, int, float]:
    """`simulate` on the shipped branch day for `hours`: (virtual s, wall s, calls, p99)."""
    shipped = resources.files("branchline.config") / "defaults" / "scenario_day.yaml"
    path = work / "day.yaml"
    path.write_text(shipped.read_text())
    data = work / "sim-day"
    build_prompts(data, open_config_store(data))  # the build is not timed
    result = simulate(path, data, hours=hours)
    return result.virtual_s, result.wall_s, result.calls, result.p99_tick_s


def seats300(work: Path) -> tuple[float, float, int, int, float]:
    """(virtual s, wall s, calls offered so far, calls up at the end, p99 tick) for the
    timed slice of the 300-seat peak."""
    shipped = resources.files("branchline.config") / "defaults" / "scenario_300.yaml"
    text = shipped.read_text().replace('day: {start: "09:00", end: "17:00"}',
                                       'day: {start: "12:00", end: "17:00"}')
    scenario = parse_scenario(text, "scenario_300 at noon")
    board_data = work / "seats300"
    store = open_config_store(board_data)
    board = SimBoard(scenario=scenario)
    publish_fitted(store, scenario, board)
    prompts = build_prompts(board_data, store)
    zone = ZoneInfo("Asia/Shanghai")
    clock = VirtualClock(day_start(scenario, zone))
    with BankHostSimulator(seed=board.seed) as bank:
        app = Appliance(board_data, board, clock, prompts, HostClient(bank.base_url, ENDPOINTS),
                        wait_for_host=True, store=store)
        app.start()
        run_virtual(app, clock, SEATS_WARM_S)
        app.loop.stats = TickStats()
        started = time.perf_counter()
        run_virtual(app, clock, SEATS_S)
        wall = time.perf_counter() - started
        up = app.active_calls
        offered = board.counters().offered
        p99 = app.loop.stats.percentile(99)
        app.close(clock.now())
    return SEATS_S, wall, offered, up, p99


def event_day(work: Path, name: str) -> tuple[float, float, float, int, int]:
    """A shipped scenario's whole day in event mode: (virtual s, wall s, CPU s of the whole
    process, every thread, start-up to drain; calls, ticks)."""
    shipped = resources.files("branchline.config") / "defaults" / name
    data = work / f"events-{name}"
    build_prompts(data, open_config_store(data))  # the build is not timed
    cpu = time.process_time()
    result = simulate(Path(str(shipped)), data, media="events")
    cpu = time.process_time() - cpu
    return result.virtual_s, result.wall_s, cpu, result.calls, result.ticks


def run() -> str:
    rows = []
    with tempfile.TemporaryDirectory() as tmp, BankHostSimulator() as bank:
        work = Path(tmp)
        shared = work / "shared-prompts"  # a data directory for the prompts every run uses
        prompts = build_prompts(shared, open_config_store(shared))
        sustained = {}
        for kind, counts in CHANNELS.items():
            sustained[kind] = 0
            for n in counts:
                p50, p99, in_ivr = capacity(work, prompts, bank.base_url, n, kind)
                rows.append(f"| {LINE_NAMES[kind]} | {n} | {in_ivr} | {p50 * 1e3:.2f} | "
                            f"{p99 * 1e3:.2f} | {p99 / BLOCK_SECONDS * 100:.0f} % |")
                if p99 > P99_LIMIT_S:
                    break
                sustained[kind] = n
        speeds = []
        virtual, wall, calls, p99 = speed(work, 0.5)
        speeds.append(f"| branch day (8 trunks, 6 agents), from 09:00 | audio | "
                      f"{virtual / 3600:.2f} h | {wall:.1f} s | {virtual / wall:.0f}x | "
                      f"{calls} recorded | {p99 * 1e3:.2f} ms |")
        virtual, wall, offered, up, p99 = seats300(work)
        seats_speed = virtual / wall
        speeds.append(f"| 300 seats (200 trunks, 300 agents), peak from 12:01 | audio | "
                      f"{virtual / 60:.0f} min | {wall:.1f} s | {seats_speed:.1f}x | "
                      f"{offered} offered, {up} up at the end | {p99 * 1e3:.2f} ms |")
        for label, name in (("branch day, whole day", "scenario_day.yaml"),
                            ("300 seats, whole day", "scenario_300.yaml")):
            virtual, wall, cpu, calls, ticks = event_day(work, name)
            load = os.getloadavg()[0]  # the machine is shared: CPU is the figure to trust
            speeds.append(f"| {label} | events | {virtual / 3600:.2f} h | {wall:.1f} s "
                          f"({cpu:.1f} s CPU, load {load:.1f}) | {virtual / wall:.0f}x | "
                          f"{calls} recorded | "
                          f"{ticks:,} ticks of {virtual / BLOCK_SECONDS:,.0f} blocks |")
    return "\n".join([
        "## Runtime",
        "",
        "The whole appliance (firmware/appliance.py) on a virtual clock, one Python thread.",
        "",
        "**IVR channels on one core with the 99th-percentile tick under 5 ms: "
        f"{sustained[PortKind.SIP]:,} on digital trunks, {sustained[PortKind.FXO]:,} on analog "
        "FXO lines** (where the line echo canceller runs on every channel, so that callers "
        "can barge in over a prompt; an analog board carries far fewer lines, docs/"
        "board-protocol.md). Every channel answered, a caller in the language menu pressing # "
        "(repeat) every 10 s as DTMF audio, a prompt playing on every channel; DTMF and "
        "hang-up tone detection on all channels, one IVR session per call. Ticks timed by the "
        f"loop's own histogram over {MEASURE_S:.0f} s of virtual time after {WARM_S:.0f} s "
        "of answering.",
        "",
        "| trunks | channels | calls in the IVR | p50 tick (ms) | p99 tick (ms) | "
        "p99 of the 20 ms frame |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "**`branchline simulate` speed** (virtual time / wall time, prompt building excluded; "
        "records written to SQLite as in production; the bank host simulator on loopback in "
        "audio mode, answering in the loop's thread in event mode; event rows: CPU seconds of "
        "the whole process, every thread, and the 1-minute load average at their end):",
        "",
        "| scenario | media | virtual | wall | speed | calls | p99 tick (events: ticks run) |",
        "|---|---|---|---|---|---|---|",
        *speeds,
        "",
        "Method: bench/runtime.py. The 300-seat row is the lunchtime peak of "
        "config/defaults/scenario_300.yaml (about 1,450 calls an hour then, 9,000 in the "
        f"day): {SEATS_WARM_S:.0f} s untimed to fill the lines, then {SEATS_S:.0f} s timed, "
        "one 20 ms block at a time through the whole appliance (500 channels of DTMF, "
        "call-progress and echo cancelling; IVR, ACD, records, recordings) and the sim "
        "board's virtual people. At that speed the whole 8-hour day "
        f"(`branchline simulate config/defaults/scenario_300.yaml`) takes about "
        f"{8 * 60 / seats_speed:.0f} minutes in audio mode: the peak is its slowest part. "
        "The event mode (`simulate --media events`, firmware/event_loop.py) runs the same "
        "appliance without audio and only on the blocks where something is due: the whole "
        "day, drain included. The ACD section has the engine alone through a 300-seat day.",
    ])
