"""Helpers for the hw tests: small scenarios, a virtual clock loop, and a toy appliance.

``scenario(**sections)`` builds a valid Scenario from a small base (one language, one goal,
no mistakes) with whole sections replaced. ``drive(board, seconds, appliance)`` runs the media
loop on a virtual clock: tick, read, let the appliance react, write. ``PromptingAppliance``
is the simplest thing that can talk to virtual callers: it answers trunks at the second ring
and plays a prompt (speech-band noise) every `period` seconds, silence in between, and keeps
everything each port received.
"""

import copy

import numpy as np

from branchline.hw.ports import BLOCK_SAMPLES, Ring
from branchline.hw.sim.scenario import Scenario

BASE = {
    "name": "test",
    "seed": 1,
    "board": {"trunks": 2, "stations": 1},
    "day": {"start": "09:00", "end": "17:00"},
    "arrivals": {"default_per_hour": 0},
    "callers": {
        "caller_id": {"private_share": 0, "unavailable_share": 0},
        "languages": {"mandarin": {"share": 1, "key": "1"}},
        "accounts": [{"card": "6222020200112233446", "pin": "135790"}],
        "prelude": [{"keys": "{language_key}"}],
        "goals": {"balance": {"share": 1, "steps": [
            {"keys": "1"}, {"keys": "{card}#"}, {"keys": "{pin}#"}, {"hang_up": True},
        ]}},
        "ring_patience": {"kind": "fixed", "value": 600},
        "ivr_patience": {"kind": "fixed", "value": 600},
        "queue_patience": {"kind": "fixed", "value": 600},
    },
    "keypad": {"early": 0, "wrong": 0, "silent": 0},
    "agents": {"roster": []},
}


def scenario_data(**sections):
    data = copy.deepcopy(BASE)
    for key, value in sections.items():
        data[key] = value
    return data


def scenario(**sections):
    return Scenario.model_validate(scenario_data(**sections))


def callers_with(**fields):
    """The base callers section with some fields replaced."""
    callers = copy.deepcopy(BASE["callers"])
    callers.update(fields)
    return callers


def drive(board, seconds, appliance=None, start=0.0):
    """Run the 20 ms loop for `seconds` of virtual time; return all events and rx blocks."""
    events, blocks = [], []
    channels = len(board.ports)
    steps = round(seconds / 0.02)
    for k in range(steps):
        now = start + k * 0.02
        new = board.tick(now)
        events += new
        rx = board.read_block()
        blocks.append(rx)
        tx = appliance.step(now, new, rx) if appliance else np.zeros(
            (channels, BLOCK_SAMPLES), np.int16)
        board.write_block(tx)
    return events, np.concatenate(blocks, axis=1)


class PromptingAppliance:
    """Answers at the second ring and plays a prompt every `period` s on answered trunks."""

    def __init__(self, board, *, prompt_s=1.5, period=10.0, level_dbm0=-15.0, seed=0):
        self.board = board
        self.prompt_s = prompt_s
        self.period = period
        self.answered_at = {}
        rng = np.random.default_rng(seed)
        n = round(prompt_s * 8000)
        spectrum = np.fft.rfft(rng.standard_normal(n))
        f = np.fft.rfftfreq(n, 1 / 8000)
        spectrum[(f < 300) | (f > 3000)] = 0
        prompt = np.fft.irfft(spectrum, n)
        rms = 16141 * 10 ** (level_dbm0 / 20)
        self.prompt = (prompt * rms / np.sqrt(np.mean(prompt**2))).astype(np.int16)

    def step(self, now, events, rx):
        for e in events:
            if isinstance(e, Ring) and e.count == 2 and e.port not in self.answered_at:
                self.board.answer(e.port)
                self.answered_at[e.port] = now
        tx = np.zeros((len(self.board.ports), BLOCK_SAMPLES), np.int16)
        for port, t0 in self.answered_at.items():
            k = round(((now - t0) % self.period) * 8000)
            if k + BLOCK_SAMPLES <= self.prompt.size:
                tx[port] = self.prompt[k:k + BLOCK_SAMPLES]
        return tx
