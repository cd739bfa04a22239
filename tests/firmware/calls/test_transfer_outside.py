"""An agent's blind transfer to a configured outside number (``*43{digit}#``, issue 13) over
the SIP trunk, on the sim board + SIP board (virtual clock): the caller on an analog line is
bridged to a second call placed from the highest SIP channel to the carrier (our own SIP peer
on 127.0.0.1, answering and sending a tone of its own). Each side hears the other; the call
keeps one record whose legs are the agent, then the outside number; the queue's KPIs count
the call once. A digit whose number is not a transfer target is refused and changes nothing.
"""

import time

import numpy as np
import pytest
from runtime_harness import (
    RuntimeHarness,
    bank_url,  # noqa: F401 - fixture
    prompts_dir,  # noqa: F401 - fixture
    scenario_text,
)
from sip_peers import Peer
from station_driver import DrivenPhones

from branchline.acd import AgentState
from branchline.config.data_dir import DataDir
from branchline.firmware.records.database import Records
from branchline.firmware.records.legs import call_legs
from branchline.hw.ports import BLOCK_SAMPLES
from branchline.hw.sip.calls import CallEnded, IncomingCall

CALLER_HZ, A_HZ, FAR_HZ = 300.0, 550.0, 1750.0
TARGET = "95566"


class OutsideDesk:
    """One analog call answered by agent 1001 at the first station; SIP channels sip1, sip2
    dial out to ``carrier``."""

    def __init__(self, tmp_path, prompts, bank, carrier):
        self.carrier = carrier
        text = scenario_text(trunks=1, stations=2, rate=3600, end="09:30", prelude="[]",
                             goal_steps='[{keys: "0", early: 0}, {wait_agent: true}]',
                             agents=[("1001", 0)], shift=("20:00", "21:00"),
                             queue_patience=3000)

        def edit(doc):
            doc["call_control"] = {"outside": {"1": TARGET, "2": "95599"}}
            doc["sip"] = {"listen": "127.0.0.1:0", "channels": 2,
                          "trunks": {"carrier": {"address": "{}:{}".format(*carrier.address)}},
                          "transfer_targets": [TARGET]}
            for name in [n for n in doc["lines"] if n.startswith("sip")]:
                del doc["lines"][name]

        self.h = RuntimeHarness(tmp_path / "data", text, prompts_dir=prompts, bank_url=bank,
                                edit_document=edit, sip=True)
        self.composite = composite = self.h.app.board
        composite.now = None  # DrivenPhones stamps its events with the board's time
        self.board = DrivenPhones(composite)
        self.h.app.board = self.h.app.loop.board = self.board
        self.h.app.loop.echo = None  # steady tones both ways: see test_call_control.py
        self.trunk = 0
        self.A = next(p.index for p in self.board.ports if p.is_station)
        self.sip2 = next(p.index for p in self.board.ports if p.name == "sip2")
        self.board.off_hook(self.A)
        self.run(0.2)
        self.key(self.A, "*111001#")
        self.key(self.A, "*12#")
        self.board.on_hook(self.A)
        self.run(0.2)
        self.h.run_until(lambda: self.A in self.board.rings, 120)
        self.board.off_hook(self.A)
        self.run(0.2)
        [self.call] = self.h.app.calls.values()
        self.h.app.drain()  # this call only
        self.board.voice(self.trunk, CALLER_HZ)
        self.board.voice(self.A, A_HZ)
        self.run(0.2)

    def run(self, seconds):
        end = self.h.clock.now() + seconds
        while self.h.clock.now() < end:
            self.h.step()
            self.carrier.step(time.monotonic())

    def run_until(self, done, limit):
        end = self.h.clock.now() + limit
        while not done():
            assert self.h.clock.now() < end, f"not within {limit} virtual seconds"
            self.run(0.02)

    def key(self, port, digits):
        self.board.keys(port, digits)
        self.run_until(lambda: self.board.keys_sent(port), 10)
        self.run(0.3)

    def amplitude(self, port, hz):
        """The smallest amplitude of ``hz`` over the last blocks the appliance sent ``port``."""
        rows = np.stack([block[port] for block in self.board._sent]).astype(np.float64)
        spectrum = (np.abs(np.fft.rfft(rows, axis=1)) * 2 / BLOCK_SAMPLES).min(axis=0)
        return float(spectrum[round(hz * BLOCK_SAMPLES / 8000)])


@pytest.fixture
def desk(tmp_path, prompts_dir, bank_url):  # noqa: F811
    carrier = Peer(answer=True, tone_hz=FAR_HZ)
    desk = OutsideDesk(tmp_path, prompts_dir, bank_url, carrier)
    yield desk
    if not desk.h.closed:
        desk.h.close()
    desk.composite.close()  # the SIP board's sockets (the harness sees DrivenPhones)
    carrier.close()


def test_an_agent_transfers_the_caller_to_an_outside_number_over_sip(desk):
    desk.board.flash(desk.A)
    desk.run(0.2)
    desk.key(desk.A, "*431#")
    assert desk.h.app.acd.agent_state("1001") is AgentState.WRAP_UP
    desk.run_until(lambda: desk.carrier.of(IncomingCall), 30)
    (invite,) = desk.carrier.of(IncomingCall)
    assert invite.callee == TARGET
    outside = desk.call.s.outside
    desk.run_until(lambda: outside.connected is not None, 30)
    assert outside.line == desk.sip2
    desk.run(1.0)
    assert desk.amplitude(desk.trunk, FAR_HZ) > 1000  # the caller hears the far end
    assert desk.amplitude(desk.trunk, A_HZ) < 100  # and no longer the agent
    far = np.concatenate(desk.carrier.heard[-50:]).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(far * np.hanning(len(far)))) * 4 / len(far)
    assert spectrum[round(CALLER_HZ * len(far) / 8000)] > 1000  # the far end hears the caller
    desk.board.on_hook(desk.A)
    desk.board.silence(desk.trunk)
    desk.h.hang_up_caller(desk.trunk)
    desk.run_until(lambda: desk.carrier.of(CallEnded), 30)  # our BYE: no half-open leg
    records = desk.h.close()
    [cdr] = [r for r in records if r.call_id == desk.call.call_id]
    assert cdr.outcome == "answered" and cdr.agent_id == "1001"
    with Records(DataDir(desk.h.data_dir).records_db) as stored:
        events = stored.events(0.0, float("inf"), call_id=cdr.call_id)
    assert [(leg.who, leg.how) for leg in call_legs(cdr, events)] == [
        ("1001", f"transferred:outside:{TARGET}"), (f"outside:{TARGET}", "ended")]
    kpis = desk.h.app.acd.kpis(desk.h.clock.now())
    queue = kpis.queues["general"]
    assert (queue.offered, queue.answered, queue.abandoned) == (1, 1, 0)  # one call, once
    assert kpis.agents["1001"].completed == 1  # the agent's leg ended by the transfer


def test_an_outside_number_that_is_no_transfer_target_is_refused(desk):
    desk.board.flash(desk.A)
    desk.run(0.2)
    desk.key(desk.A, "*432#")  # 95599: in call_control.outside, not in sip.transfer_targets
    assert desk.h.app.acd.agent_state("1001") is AgentState.TALKING
    assert desk.call.s.outside is None and desk.call.control.agent_port == desk.A
    assert desk.h.app.counters["transfers_refused"] == 1
    desk.run(2.0)
    assert not desk.carrier.of(IncomingCall)
    desk.board.silence(desk.trunk)
    desk.h.hang_up_caller(desk.trunk)
    desk.board.on_hook(desk.A)
    [cdr] = [r for r in desk.h.close() if r.call_id == desk.call.call_id]
    assert cdr.agent_id == "1001" and cdr.hangup_side == "caller"
