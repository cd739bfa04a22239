"""Call control end to end on the board emulator: hook flash and keypad codes at FXS stations,
carried over a real pty by the board protocol (HookEvent, FlashEvent, A-law audio frames).

The same floor as tests/firmware/calls/test_call_control.py, but the appliance drives the
emulated board through its serial driver: the test's phones (tests/support/station_driver.py)
stand behind the emulator's stations, so every key is DTMF audio the host decodes from A-law
frames and every voice heard has crossed the pty twice. Each party is a tone of its own;
``hears`` reads what reached a phone from the board's codec.
"""

import pytest
from emu_harness import EmuHarness
from runtime_harness import (
    bank_url,  # noqa: F401 - fixture
    prompts_dir,  # noqa: F401 - fixture
    scenario_text,
)
from station_driver import DrivenPhones

from branchline.acd import AgentState
from branchline.config.data_dir import DataDir
from branchline.firmware.calls.conversation import Phase
from branchline.firmware.records.database import Records
from branchline.firmware.records.legs import call_legs

CALLER_HZ, A_HZ, B_HZ, S_HZ = 300.0, 550.0, 1100.0, 2000.0
LEVEL = 2283  # -20 dBm0 peak: each test voice, and what a party heard at unity gain
LEAK_FLOOR = LEVEL / 100  # -40 dB: a voice above this where it should not be is a leak
# The music on hold has energy in every voice's bin: while the caller hears it, a voice is
# told from it as test_call_control.py does, from a quarter of its level (-12 dB).
UNDER_MUSIC = LEVEL / 4


class EmuDesk:
    """One caller at trunk 0 talking to agent 1001 at fxs1; 1002 ready at fxs2; supervisor
    wang's phone at fxs4. Every phone is the test's, behind the emulated board."""

    def __init__(self, tmp_path, prompts, bank):
        text = scenario_text(trunks=1, stations=4, rate=3600, end="09:30", prelude="[]",
                             goal_steps='[{keys: "0", early: 0}, {wait_agent: true}]',
                             agents=[("1001", 0), ("1002", 1), ("1003", 2)],
                             shift=("20:00", "21:00"), queue_patience=3000)

        def edit(doc):
            doc["call_control"] = {"music_on_hold": "main.long",
                                   "supervisors": [{"user": "wang", "station": "fxs4"}]}

        self.h = EmuHarness(tmp_path / "data", text, prompts_dir=prompts, bank_url=bank,
                            edit_document=edit)
        lines = self.h.emulator.lines
        self.phones = lines.sim = DrivenPhones(lines.sim)  # the phones behind the stations
        self.app = self.h.app
        # The emulated lines return no echo here, and steady tones both ways would make the
        # canceller adapt to their correlation (as test_call_control.py explains).
        self.app.loop.echo = None
        self.trunk = 0
        self.A, self.B, self.C, self.S = [p.index for p in self.app.board.ports if p.is_station]
        self.h.run(1.0)  # the handshake
        self.login(self.A, "1001")
        self.login(self.B, "1002")
        self.h.run_until(lambda: self.A in self.phones.rings, 120)
        self.phones.off_hook(self.A)
        self.run(0.3)
        [self.call] = self.app.calls.values()
        self.app.drain()  # this call only
        for port, hz in ((self.trunk, CALLER_HZ), (self.A, A_HZ), (self.B, B_HZ),
                         (self.S, S_HZ)):
            self.phones.voice(port, hz)
        self.run(0.4)

    def run(self, seconds):
        self.h.run(seconds)

    def key(self, port, digits):
        self.phones.keys(port, digits)
        self.h.run_until(lambda: self.phones.keys_sent(port), 10)
        self.run(0.4)  # the last key crosses the pty and the jitter buffer

    def flash(self, port):
        self.phones.flash(port)
        self.run(0.4)

    def hang_up(self, port):
        self.phones.on_hook(port)
        self.run(0.4)

    def login(self, port, agent):
        self.phones.off_hook(port)
        self.run(0.3)
        self.key(port, f"*11{agent}#")
        self.key(port, "*12#")
        self.hang_up(port)
        assert self.state(agent) is AgentState.READY

    def state(self, agent):
        return self.app.acd.agent_state(agent)

    def assert_hears(self, port, *voices, floor=LEAK_FLOOR):
        """The phone at `port` hears exactly these test voices, each at its level."""
        heard = self.phones.heard(port, floor=floor)
        assert set(heard) == set(voices), (port, heard)
        for hz in voices:
            assert heard[hz] == pytest.approx(LEVEL, rel=0.05), (port, hz, heard)

    def consult_b(self):
        self.flash(self.A)
        self.key(self.A, "*211002#")
        assert self.B in self.phones.rings
        self.phones.off_hook(self.B)
        self.run(0.4)

    def hang_up_caller(self):
        self.phones.silence(self.trunk)
        self.h.hang_up_caller(self.trunk)
        self.run(4.0)  # the exchange's busy tone, recognised by its cadence

    def legs(self, record):
        with Records(DataDir(self.h.data_dir).records_db) as records:
            events = records.events(0.0, float("inf"), call_id=record.call_id)
        return [(leg.who, leg.how) for leg in call_legs(record, events)]

    def assert_nobody_hears(self, left):
        """Nobody hears, or is heard by, the phone that left; a station still off hook is in
        the call or out of it (busy tone), never talking in a call it is not part of."""
        app = self.app
        assert all(left not in (p.to, p.source) for p in app.loop.mixer.paths())
        for station in app.stations.values():
            if station.state.value == "talking":
                control = station.call.control
                assert control is not None and control.involves(station.port), station

    def assert_nothing_left(self):
        """No path, no station talking in a call, no agent stuck, no phone held by the board,
        no call record missing."""
        app = self.app
        for port in (self.trunk, self.A, self.B, self.S):
            self.phones.silence(port)  # the virtual caller takes the survey, then hangs up
        self.h.run_until(lambda: not app.calls, 120)
        self.run(12.0)  # wrap-ups run out
        assert app.loop.mixer.owners() == [] and app.by_id == {}
        assert all(s.state.value != "talking" for s in app.stations.values())
        for agent in ("1001", "1002"):
            assert self.state(agent) in (AgentState.READY, AgentState.NOT_READY), agent
        assert app.counters["illegal_acd"] == 0 and app.counters["call_errors"] == 0
        assert not self.h.emulator.lines.off_hook.any()  # the trunk is back on hook
        assert not any(p["off_hook"] for p in self.h.board.status()["ports"])  # nor a phone
        records = [r for r in self.h.close() if r.call_id == self.call.call_id]
        assert len(records) == 1
        return records[0]


@pytest.fixture
def desk(tmp_path, prompts_dir, bank_url):  # noqa: F811
    return EmuDesk(tmp_path, prompts_dir, bank_url)


def test_the_call_is_a_bridge_over_the_serial_line(desk):
    desk.assert_hears(desk.trunk, A_HZ)
    desk.assert_hears(desk.A, CALLER_HZ)
    desk.assert_hears(desk.B)
    desk.assert_hears(desk.S)
    assert desk.h.board.counters["audio_lost"] == 0


def test_hold_by_hook_flash_plays_music_then_retrieve(desk):
    desk.flash(desk.A)
    desk.run(0.6)
    assert desk.call.control.phase is Phase.HELD
    desk.assert_hears(desk.trunk, floor=UNDER_MUSIC)
    desk.assert_hears(desk.A)
    music = desk.phones.last[desk.trunk].astype(float)
    assert (music ** 2).mean() ** 0.5 > 100  # the hold prompt reaches the caller's line
    assert desk.state("1001") is AgentState.TALKING
    desk.flash(desk.A)
    desk.assert_hears(desk.trunk, A_HZ)
    desk.assert_hears(desk.A, CALLER_HZ)
    assert desk.call.control.hold_s == pytest.approx(1.0, abs=0.05)  # flash to flash
    assert desk.h.board.counters["command_failed"] == 0


def test_consult_then_complete_hands_the_caller_to_b_in_one_record(desk):
    desk.consult_b()
    assert desk.call.control.phase is Phase.CONSULTING
    desk.assert_hears(desk.A, B_HZ)
    desk.assert_hears(desk.B, A_HZ)
    desk.assert_hears(desk.trunk, floor=UNDER_MUSIC)  # music, not the consultation
    desk.key(desk.A, "*4#")
    desk.assert_hears(desk.trunk, B_HZ)
    desk.assert_hears(desk.B, CALLER_HZ)
    assert desk.state("1001") is AgentState.WRAP_UP and desk.state("1002") is AgentState.TALKING
    desk.hang_up(desk.A)
    desk.hang_up(desk.B)
    cdr = desk.assert_nothing_left()
    assert cdr.agent_id == "1002" and cdr.outcome == "answered"
    assert desk.legs(cdr) == [("1001", "transferred:agent:1002"), ("1002", "agent_hung_up")]


def test_conference_of_three_each_hears_the_other_two(desk):
    desk.consult_b()
    desk.key(desk.A, "*3#")
    assert desk.call.control.phase is Phase.CONFERENCE
    desk.assert_hears(desk.trunk, A_HZ, B_HZ)
    desk.assert_hears(desk.A, CALLER_HZ, B_HZ)
    desk.assert_hears(desk.B, CALLER_HZ, A_HZ)
    desk.assert_hears(desk.S)


def test_supervisor_listens_whispers_then_barges(desk):
    S = desk.S
    desk.phones.off_hook(S)
    desk.run(0.3)
    desk.key(S, "*511001#")
    desk.assert_hears(S, CALLER_HZ, A_HZ)
    desk.assert_hears(desk.trunk, A_HZ)
    desk.assert_hears(desk.A, CALLER_HZ)
    desk.key(S, "*521001#")
    desk.assert_hears(desk.A, CALLER_HZ, S_HZ)
    desk.assert_hears(desk.trunk, A_HZ)  # the caller never hears the coach
    desk.assert_hears(S, CALLER_HZ, A_HZ)
    desk.key(S, "*531001#")
    desk.assert_hears(desk.trunk, A_HZ, S_HZ)
    desk.assert_hears(desk.A, CALLER_HZ, S_HZ)
    desk.assert_hears(S, CALLER_HZ, A_HZ)
    desk.assert_hears(desk.B)
    desk.hang_up(S)
    desk.assert_hears(desk.trunk, A_HZ)
    desk.assert_hears(desk.A, CALLER_HZ)


def test_caller_hangs_up_while_held(desk):
    desk.flash(desk.A)
    assert desk.call.control.phase is Phase.HELD
    desk.hang_up_caller()
    assert desk.call.over
    desk.assert_nobody_hears(desk.trunk)
    desk.hang_up(desk.A)  # the agent hears busy tone and hangs up
    cdr = desk.assert_nothing_left()
    assert cdr.hangup_side == "caller"


def test_colleague_hangs_up_while_consulting(desk):
    desk.consult_b()
    desk.hang_up(desk.B)
    desk.assert_nobody_hears(desk.B)
    assert desk.call.control.phase is Phase.TALKING  # the agent is back with the caller
    desk.assert_hears(desk.trunk, A_HZ)
    desk.assert_hears(desk.A, CALLER_HZ)
    assert desk.state("1002") is AgentState.READY  # let go, no wrap-up
    desk.hang_up(desk.A)
    cdr = desk.assert_nothing_left()
    assert desk.legs(cdr) == [("1001", "agent_hung_up")]
