"""How a waiting virtual caller knows a person is on the line: from what it hears, robustly.

The board used to take one 160-sample block correlating above 0.6 with a talking agent's
audio as proof of a bridge; band-limited blocks that short correlate that well by chance, and a
caller hearing a queue announcement was once taken as connected. These tests put audio that
correlates 0.7 with a talking agent (block after block) on a waiting caller's line, then the
real bridge.
"""

import numpy as np
from hwsim_kit import PromptingAppliance, callers_with, drive, scenario

from branchline.hw.ports import BLOCK_SAMPLES, OffHook
from branchline.hw.sim.board import SimBoard
from branchline.hw.sim.caller import AGENT_VOICE_BLOCKS

STATION = 2  # station 0 on a 2-trunk board


class LookalikeAppliance(PromptingAppliance):
    """Rings the agent once the caller has keyed, then, while the agent talks, sends the caller
    audio that correlates `rho` with the agent's voice but is not it; bridges from `bridge_at`."""

    def __init__(self, board, *, rho, bridge_at):
        super().__init__(board, prompt_s=1.5, period=8.0)
        self.rho, self.bridge_at = rho, bridge_at
        self.rng = np.random.default_rng(7)
        self.agent_on = None

    def step(self, now, events, rx):
        tx = super().step(now, events, rx)
        callers = self.board.callers()
        if self.agent_on is None and callers and callers[0].keys:
            self.board.ring(STATION)
            self.agent_on = False
        for e in events:
            if isinstance(e, OffHook) and e.port == STATION and self.agent_on is False:
                self.agent_on = True
        if self.agent_on:
            voice = rx[STATION].astype(np.float64)
            if now >= self.bridge_at:
                tx[0] = rx[STATION]
            else:
                other = self.rng.standard_normal(BLOCK_SAMPLES)
                other -= (other @ voice) / max(voice @ voice, 1e-9) * voice
                other *= np.linalg.norm(voice) / max(np.linalg.norm(other), 1e-9)
                mix = self.rho * voice + np.sqrt(1 - self.rho**2) * other
                tx[0] = np.clip(np.rint(mix), -32768, 32767).astype(np.int16)
        elif self.agent_on is False:
            tx[0] = 0
        return tx


def _board():
    return SimBoard(scenario=scenario(
        arrivals={"default_per_hour": 0, "per_hour": {9: 120}},
        callers=callers_with(prelude=[], goals={"agent": {"share": 1, "steps": [
            {"keys": "0"}, {"wait_agent": True}]}}),
        agents={"answer_delay": {"kind": "fixed", "value": 2}, "ring_no_answer": 0,
                "handle_time": {"kind": "fixed", "value": 120},
                "roster": [{"id": "1001", "station": 0,
                            "shift": {"start": "09:00", "end": "10:00"}}]},
    ))


def test_audio_that_only_resembles_the_agent_does_not_connect_the_caller():
    board = _board()
    app = LookalikeAppliance(board, rho=0.7, bridge_at=1e9)
    drive(board, 110, app)
    record = board.callers()[0]
    assert app.agent_on  # the agent answered and talked all along
    assert record.keys and record.keys[0].keys == "0"
    assert record.connected is None and record.agent_port is None


def test_the_real_bridge_connects_the_caller_within_a_few_blocks_of_voice():
    board = _board()
    app = LookalikeAppliance(board, rho=0.7, bridge_at=80.0)
    drive(board, 110, app)
    record = board.callers()[0]
    assert record.agent_port == STATION
    # Connected from the first voice block of the run that convinced it, within a syllable or
    # two of the bridge (the agent's talk spurts have pauses of up to 1.2 s).
    assert 80.0 <= record.connected < 80.0 + 2.5
    assert AGENT_VOICE_BLOCKS >= 3
