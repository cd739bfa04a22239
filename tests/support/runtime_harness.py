"""Run the whole appliance on a virtual clock with a simulated board, for end-to-end tests.

    h = RuntimeHarness(tmp_path, scenario_text, prompts_dir=..., bank_url=...)
    h.run(120)                          # 120 virtual seconds, one 20 ms block at a time
    h.run_until(lambda: ..., limit=300) # until a condition holds (AssertionError at the limit)
    RuntimeHarness(..., sip=True)       # the document's SIP board beside the sim board
    records = h.close()                 # drain, write everything; a list of CallRecords

Everything is real: the sim board's virtual callers and agents (DTMF as audio), the DSP, the
IVR and ACD engines, the prompt store (built once per test session into ``prompts_dir``), the
records database and WAV files in ``tmp_path``, and the bank host simulator over HTTP on
loopback. Nothing sleeps; the host is waited for without virtual time passing.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from branchline.config.data_dir import DataDir
from branchline.config.document.loading import check_document, load_document, open_config_store
from branchline.firmware.appliance import Appliance, build_prompts
from branchline.firmware.bankhost import ENDPOINTS, BankHostSimulator
from branchline.firmware.cli.simulate import day_start, publish_fitted
from branchline.firmware.clock import VirtualClock
from branchline.firmware.host_client import HostClient
from branchline.firmware.records.database import Records
from branchline.firmware.sip_board import bind_outbound, with_sip
from branchline.hw import SimBoard, parse_scenario
from branchline.hw.composite import CompositeBoard
from branchline.hw.ports import BLOCK_SECONDS
from branchline.hw.sim.caller import CallOutcome
from branchline.hw.sim.event_board import EventSimBoard

# A card the bank host simulator knows (firmware/bankhost.py): balance 1234.56.
CARD, PIN, BALANCE = "6222021234567894", "123456", "1234.56"


def scenario_text(*, trunks=1, stations=1, rate=3600, end="09:01", goal_steps=None,
                  prelude='[{keys: "{language_key}"}]', answer_delay=2,
                  agents=None, extra="", handle="{kind: fixed, value: 20}", wrapup=None,
                  shift=("09:00", "23:00"),
                  patience=600,
                  queue_patience=600):
    """A small scenario: Mandarin callers who want the balance then a person, by default."""
    steps = goal_steps or (
        '[{keys: "1"}, {keys: "{card}#"}, {keys: "1"}, {keys: "{pin}"}, {listen: true}, '
        '{keys: "0"}, {wait_agent: true}]')
    roster = agents or [("1001", 0)]
    roster_yaml = ("\n" + " " * 8).join(
        f'    - {{id: "{a}", station: {s}, skills: [mandarin], '
        f'shift: {{start: "{shift[0]}", end: "{shift[1]}"}}}}' for a, s in roster)
    wrap = "null" if wrapup is None else f"{{kind: fixed, value: {wrapup}}}"
    return textwrap.dedent(f"""\
        name: test
        seed: 5
        board: {{trunks: {trunks}, stations: {stations}}}
        day: {{start: "09:00", end: "{end}"}}
        arrivals: {{default_per_hour: {rate}}}
        callers:
          caller_id: {{private_share: 0, unavailable_share: 0}}
          languages: {{mandarin: {{share: 1.0, key: "1"}}}}
          accounts: [{{card: "{CARD}", pin: "{PIN}"}}]
          prelude: {prelude}
          goals:
            main: {{share: 1.0, steps: {steps}}}
          ring_patience: {{kind: fixed, value: 60}}
          ivr_patience: {{kind: fixed, value: {patience}}}
          queue_patience: {{kind: fixed, value: {queue_patience}}}
        keypad: {{early: 0, wrong: 0, silent: 0, level_dbm0: {{low: -10, high: -8}}}}
        survey: {{answer_share: 1.0, scores: {{4: 1.0}}}}
        agents:
          answer_delay: {{kind: fixed, value: {answer_delay}}}
          ring_no_answer: 0
          handle_time: {handle}
          wrapup: {wrap}
          roster:
        {roster_yaml}
        """) + extra


class VirtualRun:
    """Drive ``self.app`` on ``self.clock`` (a VirtualClock) one 20 ms block at a time."""

    def step(self) -> None:
        self.app.tick(self.clock.advance(BLOCK_SECONDS))

    def run(self, seconds: float) -> None:
        for _ in range(round(seconds / BLOCK_SECONDS)):
            self.step()

    def run_until(self, condition, limit: float) -> float:
        end = self.clock.now() + limit
        while not condition():
            if self.clock.now() >= end:
                raise AssertionError(f"condition not met within {limit} virtual seconds")
            self.step()
        return self.clock.now()


class RuntimeHarness(VirtualRun):
    """The appliance on the simulated board, on a virtual clock. ``events=True``: the event
    mode's board and loop (``simulate --media events``), stepped from one due block to the
    next instead of every 20 ms."""

    def __init__(self, data_dir: Path, scenario: str, *, prompts_dir: Path, bank_url: str,
                 seed: int | None = None, edit_document=None, sip: bool = False,
                 events: bool = False):
        self.data_dir = Path(data_dir)
        self.scenario = parse_scenario(scenario)
        self.events_mode = events
        self.board = (EventSimBoard if events else SimBoard)(scenario=self.scenario, seed=seed)
        self.store = open_config_store(self.data_dir)
        publish_fitted(self.store, self.scenario, self.board)
        if edit_document is not None:
            self.publish(edit_document, note="test edit")
        self.prompts = build_prompts(Path(prompts_dir), self.store)
        zone = ZoneInfo(check_document(self.store.current().text)[0].site.timezone)
        self.clock = VirtualClock(day_start(self.scenario, zone))
        self.host = HostClient(bank_url, ENDPOINTS)
        board = self.board
        if sip:  # the document's SIP board beside the sim board, as `branchline run` has it
            board = with_sip(board, self.data_dir, load_document(self.store.current().text))
        self.app = Appliance(self.data_dir, board, self.clock, self.prompts, self.host,
                             wait_for_host=True, store=self.store)
        bind_outbound(self.app)
        self.app.start()
        self.app.tick(0.0)
        self.closed = False
        self.drain_started = float("inf")

    def step(self) -> None:
        if not self.events_mode:
            return super().step()
        now = self.clock.now()
        due = min(self.app.loop.next_tick(now), now + 60.0)  # nothing due: look again later
        self.app.tick(self.clock.advance(due - now))

    def run(self, seconds: float) -> None:
        if not self.events_mode:
            return super().run(seconds)
        end = self.clock.now() + seconds
        while self.clock.now() + BLOCK_SECONDS <= end + 1e-9:
            now = self.clock.now()
            self.app.tick(self.clock.advance(min(self.app.loop.next_tick(now), end) - now))

    def publish(self, edit, note: str) -> int:
        """Publish the version in force changed by ``edit(document_dict)``; its number."""
        current = self.store.current()
        document = yaml.safe_load(current.text)
        edit(document)
        published = self.store.publish(yaml.safe_dump(document, allow_unicode=True),
                                       who="test", note=note, base=current.info.number)
        return published.info.number

    def drain(self, limit: float = 900.0) -> None:
        self.drain_started = self.clock.now()  # calls ringing from now on are not answered
        self.app.drain()
        self.run_until(lambda: self.app.active_calls == 0, limit)

    def close(self, drain_limit: float = 900.0):
        if not self.closed:
            self.drain(drain_limit)
            assert self.app.close(self.clock.now())
            if isinstance(self.app.board, CompositeBoard):
                self.app.board.close()  # the SIP board's sockets
            self.closed = True
        with Records(DataDir(self.data_dir).records_db) as records:
            return records.calls(0.0, float("inf"))

    def hang_up_caller(self, port: int) -> None:
        """Make the virtual caller on a trunk hang up now (a test's stimulus; the sim board
        then sends the exchange's busy tone down the line, as for its own callers)."""
        caller = self.board._on_trunk[port]
        caller._finish(self.clock.now(), CallOutcome.HUNG_UP_DONE)

    def events(self):
        """The ACD event log as committed so far: the writer's queue is flushed first (in event
        mode the virtual clock runs far ahead of the writer thread)."""
        assert self.app.writer.flush(timeout=60), "the records writer did not catch up in 60 s"
        with Records(DataDir(self.data_dir).records_db) as records:
            return list(records.iter_events())


# Fixtures: import them into a test module (`from runtime_harness import bank_url,
# prompts_dir`). The prompts are built once per session under the base temp dir; a second
# module finds them built.

@pytest.fixture(scope="session")
def prompts_dir(tmp_path_factory) -> Path:
    """Prompts of the default document, built once (a second build finds them made)."""
    root = tmp_path_factory.getbasetemp() / "runtime-prompts"
    build_prompts(root, open_config_store(root / "default-config"))
    return root


@pytest.fixture(scope="session")
def bank_url():
    with BankHostSimulator(seed=1) as bank:
        yield bank.base_url
