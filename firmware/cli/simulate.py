"""``branchline simulate``: the whole appliance on a virtual clock, as fast as the machine goes.

``simulate(scenario, data_dir, *, hours=None, seed=None, progress=None, media="audio") ->
SimulationResult`` runs the same ``Appliance`` as ``branchline run`` on a ``SimBoard`` playing
the scenario, with the real prompt store, the real records database and the bank host
simulator on loopback; only the clock is virtual (``VirtualClock``, one 20 ms block per step,
no sleeping).

* ``media="events"``: the same appliance, engines and records on an ``EventSimBoard`` with
  the ``EventLoop`` (firmware/event_loop.py): keys, prompts and hang-ups move as events, no
  DSP runs, and the clock jumps to the next block at which anything is due; the bank host
  simulator answers in the loop's thread (``InProcessHost``) instead of over HTTP. The
  300-seat day takes under a minute of CPU (docs/BENCHMARKS.md) instead of most of an hour;
  its KPIs agree with the audio mode's within the run-to-run spread
  (tests/firmware/test_event_mode.py). Call backs need audio.

* The virtual day is ``SIM_DATE`` (a Tuesday, so the sample flow's opening hours apply) in the
  site's time zone, from the scenario's ``day.start`` for ``hours`` (default: to
  ``day.end``). When the time is up the appliance drains: no new call is answered, calls in
  progress run to their end (at most ``DRAIN_LIMIT_S`` more), then everything is written.
* The configuration in force is fitted to the scenario (``fit_document``): the board's trunks
  and stations, a line per trunk (a copy of the first line), an agent per roster entry at its
  station with its language skills in every queue, the scenario's VIP numbers; when the
  scenario's agents key the end of their wrap-up, the queues' wrap-up timer becomes a 300 s
  upper bound (the agent's key ends it). If that differs from the
  version in force it is published as a new version (who ``simulate``).
* The KPI report is computed from what the records database holds
  (``kpis_from_log`` over the stored ACD events), not from the live engine.
* Before the run the command prints the scenario check's warnings (``warning_lines``): shifts
  outside the day, a day no agent works.
"""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from branchline.acd import KpiReport, QueueEvent, kpis_from_log
from branchline.config.data_dir import DataDir
from branchline.config.document.loading import check_document, open_config_store
from branchline.config.store.versioned import ConfigStore
from branchline.firmware.appliance import Appliance, build_prompts
from branchline.firmware.bankhost import ENDPOINTS, BankHostSimulator
from branchline.firmware.clock import VirtualClock
from branchline.firmware.host_client import HostClient, InProcessHost
from branchline.firmware.records.cdr import queue_event
from branchline.firmware.records.database import Records
from branchline.hw import Scenario, SimBoard, load_scenario
from branchline.hw.ports import BLOCK_SECONDS
from branchline.hw.sim.event_board import EventSimBoard
from branchline.hw.sim.scenario import scenario_warnings

__all__ = ["MEDIA", "SIM_DATE", "SimulationResult", "fit_document", "simulate", "stored_events",
           "warning_lines"]

SIM_DATE = dt.date(2026, 11, 24)
DRAIN_LIMIT_S = 1800.0
KEYED_WRAP_UP_BOUND_S = 300.0
MEDIA = {"audio": SimBoard, "events": EventSimBoard}
# Scenario skill names (languages as callers name them) to the document's language codes.
SKILLS = {"mandarin": "zh", "cantonese": "yue", "english": "en"}


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """What a simulated day did; ``kpis`` and ``events`` come from the records database."""

    scenario: str
    epoch: dt.datetime  # the site's wall clock at loop time 0
    queues: tuple
    events: tuple  # QueueEvents read back from the database
    virtual_s: float
    wall_s: float
    calls: int
    kpis: KpiReport
    counters: dict
    sim_counters: object
    ticks: int
    late_ticks: int
    p50_tick_s: float
    p99_tick_s: float

    @property
    def speedup(self) -> float:
        return self.virtual_s / self.wall_s if self.wall_s else 0.0


def _load(text: str):
    # libyaml's parser: a 300-agent centre's document takes a second in the pure one.
    return yaml.load(text, Loader=yaml.CSafeLoader)


def fit_document(text: str, scenario: Scenario, trunks: int, stations: int) -> str:
    """The document ``text`` with board, lines, agents and VIP numbers fitted to a scenario."""
    doc = _load(text)
    doc["board"] = {**doc.get("board", {}), "driver": "sim", "trunks": trunks,
                    "stations": stations}
    lines = doc.get("lines") or {}
    template = next(iter(lines.values()))
    doc["lines"] = {f"fxo{i + 1}": lines.get(f"fxo{i + 1}", template) for i in range(trunks)}
    queues = [q["name"] for q in doc["acd"]["queues"]]
    if scenario.agents.wrapup is not None:
        # The scenario's agents end their wrap-up with the keypad code; the queue's timer is
        # then only the upper bound, long enough never to cut a keyed wrap-up short.
        for queue in doc["acd"]["queues"]:
            queue["wrap_up_s"] = max(queue.get("wrap_up_s", 0), KEYED_WRAP_UP_BOUND_S)
    doc["acd"]["agents"] = [
        {"id": a.id, "name": f"agent {a.id}", "station": f"fxs{a.station + 1}",
         "skills": {SKILLS.get(s, s): 10 for s in a.skills},
         "queues": [{"queue": q} for q in queues]}
        for a in scenario.agents.roster
    ]
    if scenario.callers.vip.numbers:
        doc["vip_numbers"] = list(scenario.callers.vip.numbers)
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def day_start(scenario: Scenario, zone: ZoneInfo) -> dt.datetime:
    midnight = dt.datetime.combine(SIM_DATE, dt.time(0, 0), tzinfo=zone)
    return midnight + dt.timedelta(seconds=scenario.day.start)


def day_seconds(scenario: Scenario) -> float:
    return float(scenario.day.end - scenario.day.start)


def publish_fitted(store: ConfigStore, scenario: Scenario, board: SimBoard) -> None:
    current = store.current()
    fitted = fit_document(current.text, scenario, board.trunks, board.stations)
    if _load(fitted) != _load(current.text):
        store.publish(fitted, who="simulate", base=current.info.number,
                      note=f"fitted to scenario {scenario.name}")


def simulate(scenario: str | Path | Scenario, data_dir: DataDir | str | Path, *,
             hours: float | None = None, seed: int | None = None,
             progress: Callable[[float, float], None] | None = None,
             media: str = "audio") -> SimulationResult:
    if media not in MEDIA:
        raise ValueError(f"simulate: media {media!r}; expected one of {', '.join(MEDIA)}")
    data_dir = DataDir.of(data_dir)
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    board = MEDIA[media](scenario=scenario, seed=seed)
    store = open_config_store(data_dir)
    publish_fitted(store, scenario, board)
    prompts = build_prompts(data_dir, store)
    zone = ZoneInfo(check_document(store.current().text)[0].site.timezone)
    clock = VirtualClock(day_start(scenario, zone))
    length = day_seconds(scenario) if hours is None else hours * 3600.0
    with BankHostSimulator(seed=board.seed) as bank:
        host = InProcessHost(bank.answer, ENDPOINTS) if media == "events" else \
            HostClient(bank.base_url, ENDPOINTS)
        app = Appliance(data_dir, board, clock, prompts, host, wait_for_host=True, store=store)
        app.start()
        # What start-up built lives through the run: out of the collector's full passes,
        # which would walk it all again and again (as `run` does; given back at the end).
        gc.collect()
        gc.freeze()
        started = time.perf_counter()
        run_virtual(app, clock, length, progress)
        app.drain()
        limit = clock.now() + DRAIN_LIMIT_S
        while app.active_calls and clock.now() < limit:
            app.tick(clock.advance(min(app.loop.next_tick(clock.now()), limit) - clock.now()))
        wall = time.perf_counter() - started
        app.close(clock.now())
        gc.unfreeze()
    stats = app.loop.stats
    events = stored_events(data_dir, app.epoch0)
    queues = tuple(app.config.document.acd.queues)
    return SimulationResult(
        scenario=scenario.name, epoch=clock.wall(0.0), queues=queues, events=tuple(events),
        virtual_s=clock.now(), wall_s=wall, calls=app.counters["calls_recorded"],
        kpis=kpis_from_log(events, queues, clock.now()), counters=dict(app.counters),
        sim_counters=board.counters(), ticks=stats.ticks, late_ticks=stats.late,
        p50_tick_s=stats.percentile(50), p99_tick_s=stats.percentile(99))


def warning_lines(scenario: Scenario) -> list[str]:
    """The scenario check's warnings, printed as ``config check`` prints its own."""
    return [line for w in scenario_warnings(scenario)
            for line in (f"warning  {w.path}: {w.message}", f"{'':<8} fix: {w.fix}")]


def run_virtual(app: Appliance, clock: VirtualClock, seconds: float,
                progress: Callable[[float, float], None] | None = None) -> None:
    """Tick ``app`` for ``seconds`` of virtual time; ``progress(done, total)`` now and then."""
    end = clock.now() + seconds
    ticks = 0
    app.tick(clock.now())
    while clock.now() + BLOCK_SECONDS <= end + 1e-9:
        app.tick(clock.advance(min(app.loop.next_tick(clock.now()), end) - clock.now()))
        ticks += 1
        if progress is not None and ticks % 3000 == 0:
            progress(seconds - (end - clock.now()), seconds)


def stored_events(data_dir: DataDir | Path, epoch0: float) -> list[QueueEvent]:
    """The ACD event log as the records database holds it, back in loop time."""
    with Records(DataDir.of(data_dir).records_db) as records:
        return [queue_event(row, epoch0) for row in records.iter_events()]
