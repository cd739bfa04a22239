"""Run the whole appliance on the board emulator, over a real pty, on a virtual clock.

    h = EmuHarness(tmp_path, scenario_text, prompts_dir=..., bank_url=...,
                   faults="drop:0.01", echo=(9.0, 32), edit_document=None)
    h.run(120)                          # 120 virtual seconds, one 20 ms block at a time
    h.run_until(lambda: ..., limit=300)
    records = h.close()                 # drain, write everything, close the pty

The same as ``runtime_harness.RuntimeHarness`` (whose scenario helper and fixtures it reuses)
but the board is ``EmulatedBoard``: the emulator's firmware on the simulated board's virtual
callers and agents, the host's ``SerialBoard`` in front, the board protocol between them on a
real pseudo-terminal, pumped in lockstep with the media loop. Caller ID travels as FSK audio
and is decoded by the host; DTMF, prompts, voices and the busy tone travel as A-law frames.
``metrics`` is an ``ApplianceMetrics`` attached to the appliance; ``metrics_text()`` samples
and renders /metrics.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from runtime_harness import VirtualRun

from branchline.config.data_dir import DataDir
from branchline.config.document.loading import check_document, open_config_store
from branchline.firmware.appliance import Appliance, build_prompts
from branchline.firmware.bankhost import ENDPOINTS
from branchline.firmware.cli.simulate import day_start, publish_fitted
from branchline.firmware.clock import VirtualClock
from branchline.firmware.host_client import HostClient
from branchline.firmware.ops.metrics import ApplianceMetrics
from branchline.firmware.records.database import Records
from branchline.hw import parse_scenario
from branchline.hw.emulator import BoardEmulator, EmulatedBoard
from branchline.hw.ports import BLOCK_SECONDS
from branchline.hw.sim.caller import CallOutcome

# Host-driver timing for the tests: the defaults of SerialBoard (0.5 s heartbeat, 2 s timeout,
# 1 s reconnect).
DRIVER = {"heartbeat_s": 0.5, "timeout_s": 2.0, "reconnect_s": 1.0}


class EmuHarness(VirtualRun):
    def __init__(self, data_dir: Path, scenario: str, *, prompts_dir: Path, bank_url: str,
                 seed: int | None = None, faults: str | None = None,
                 echo: tuple[float, int] | None = None, edit_document=None,
                 keep_callers: bool = True):
        self.data_dir = Path(data_dir)
        self.scenario = parse_scenario(scenario)
        self.emulator = BoardEmulator(scenario=self.scenario, seed=seed, faults=faults,
                                      echo=echo, keep_callers=keep_callers)
        self.board = EmulatedBoard(self.emulator, directory=self.data_dir.parent,
                                   name="board0", **DRIVER)
        self.sim = self.emulator.lines.sim
        self.store = open_config_store(self.data_dir)
        publish_fitted(self.store, self.scenario, self.board)
        if edit_document is not None:  # as RuntimeHarness's: edit(document_dict), published
            current = self.store.current()
            document = yaml.safe_load(current.text)
            edit_document(document)
            self.store.publish(yaml.safe_dump(document, allow_unicode=True), who="test",
                               note="test edit", base=current.info.number)
        self.prompts = build_prompts(Path(prompts_dir), self.store)
        zone = ZoneInfo(check_document(self.store.current().text)[0].site.timezone)
        self.clock = VirtualClock(day_start(self.scenario, zone))
        self.board.connect(lambda: self.clock.advance(BLOCK_SECONDS))
        self.host = HostClient(bank_url, ENDPOINTS)
        self.app = Appliance(self.data_dir, self.board, self.clock, self.prompts, self.host,
                             wait_for_host=True, store=self.store)
        self.metrics = ApplianceMetrics(every_s=0.0)  # a snapshot whenever asked
        self.metrics.attach(self.app)
        self.app.start()
        self.closed = False

    def callers(self):
        return self.sim.callers()

    def hang_up_caller(self, port: int) -> None:
        """Make the virtual caller on a trunk hang up now (the exchange then sends busy)."""
        caller = self.sim._on_trunk[port]
        caller._finish(self.clock.now(), CallOutcome.HUNG_UP_DONE)

    def metrics_text(self) -> str:
        self.metrics.sample(self.app, self.clock.now())
        return self.metrics.render()

    def close(self, drain_limit: float = 900.0):
        if not self.closed:
            self.app.drain()
            self.run_until(lambda: self.app.active_calls == 0, drain_limit)
            self.run(0.1)  # the last commands reach the board at its next blocks
            assert self.app.close(self.clock.now())
            self.board.close()
            self.closed = True
        with Records(DataDir(self.data_dir).records_db) as records:
            return records.calls(0.0, float("inf"))
