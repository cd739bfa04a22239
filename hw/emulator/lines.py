"""The emulated board's analog side: the PSTN lines and phones at the end of its ports.

``VirtualLines`` wraps the simulated board (``hw.sim.SimBoard``): its virtual callers ring in on
the FXO lines with the Chinese cadence (1 s on / 4 s off, GB 3380), talk and press keys as
real DTMF audio and hang up the Chinese way (busy tone from the exchange, no loop-current drop,
unless the scenario's ``board.loop_current_drop`` lists the line); its virtual agents answer the
FXS stations, and a station's phone hears what the host sends it. What the simulated board
reports as a decoded ``CallerId`` becomes what a line really carries: a Bell 202 FSK burst of
an MDMF message (linedsp's ``encode_mdmf`` and ``fsk_modulate``), which the board hands to the
host as raw caller-ID audio.

Per 20 ms block, the emulator calls, in this order (the simulated board's own order)::

    lines.hear(tx)              # the host's audio of the last block (int16[ports, 160])
    events, rx = lines.advance(now)

``events`` are ``hw.ports`` events except that ``CallerId`` is replaced by ``CallerIdAudio``
(port, time, samples). ``rx`` carries, on answered lines, the echo of what the host sent
through the line's 2-wire/4-wire hybrid (linedsp's ``HybridEcho``) when an echo is asked for,
and on a port in loopback what the host sent one block earlier.

Line state (our nominal figures for a Chinese exchange's -48 V feed): on hook 48 V and no
loop current; off hook 9 V and 28 mA.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from branchline.dsp.callerid import encode_mdmf, fsk_modulate
from branchline.hw.hybrid import HybridEcho
from branchline.hw.ports import BLOCK_SAMPLES, CallerId, PortEvent
from branchline.hw.sim.board import SimBoard
from branchline.hw.sim.scenario import Scenario

__all__ = [
    "OFF_HOOK_LINE",
    "ON_HOOK_LINE",
    "CallerIdAudio",
    "VirtualLines",
    "quiet_scenario",
]

ON_HOOK_LINE = (48.0, 0.0)  # (volts, milliamps)
OFF_HOOK_LINE = (9.0, 28.0)
# Bell 202 caller ID level: -13 dBm0 is linedsp's default and within what exchanges send.
CALLER_ID_DBM0 = -13.0


@dataclass(frozen=True, slots=True)
class CallerIdAudio(PortEvent):
    """The audio of a caller-ID burst heard on an on-hook line (int16 samples at 8 kHz)."""

    samples: np.ndarray


def quiet_scenario(trunks: int = 4, stations: int = 2) -> Scenario:
    """A scenario in which nobody calls and no agent works: the board's lines stay idle."""
    return Scenario.model_validate({
        "name": "quiet",
        "board": {"trunks": trunks, "stations": stations},
        "callers": {
            "languages": {"mandarin": {"share": 1, "key": "1"}},
            "accounts": [{"card": "4111111111111111", "pin": "000000"}],
            "goals": {"none": {"share": 1, "steps": [{"hang_up": True}]}},
        },
    })


def _without_sim_echo(scenario: Scenario) -> Scenario:
    board = scenario.board.model_copy(update={"echo_return_loss_db": None})
    return scenario.model_copy(update={"board": board})


class VirtualLines:
    """The lines and phones behind an emulated board (see the module docstring)."""

    def __init__(self, scenario: Scenario | None, *, trunks: int | None = None,
                 stations: int | None = None, seed: int | None = None,
                 echo_rl_db: float | None = None, echo_tail_ms: int = 32,
                 date: tuple[int, int] = (1, 1), keep_callers: bool = True):
        if scenario is None:
            scenario = quiet_scenario(trunks or 4, 2 if stations is None else stations)
        if echo_rl_db is None:
            echo_rl_db = scenario.board.echo_return_loss_db
        self.scenario = _without_sim_echo(scenario)
        self.sim = SimBoard(trunks=trunks, stations=stations, scenario=self.scenario, seed=seed,
                            keep_callers=keep_callers)
        self.trunks = self.sim.trunks
        self.stations = self.sim.stations
        self.ports = self.sim.ports
        self.date = date
        channels = len(self.ports)
        self._hybrid = None
        if echo_rl_db is not None:
            self._hybrid = HybridEcho(self.trunks, return_loss_db=echo_rl_db,
                                      tail_ms=echo_tail_ms, seed=self.sim.seed)
        self.off_hook = np.zeros(channels, dtype=bool)  # trunks: the board's hook relay
        self.loopback = np.zeros(channels, dtype=bool)
        self._is_station = np.arange(channels) >= self.trunks
        self._echo = np.zeros((self.trunks, BLOCK_SAMPLES))
        self._looped = np.zeros((channels, BLOCK_SAMPLES), dtype=np.int16)
        self._epoch: float | None = None  # board time of the first block

    # -- per block ----------------------------------------------------------------------

    def hear(self, tx: np.ndarray) -> None:
        """The host's audio of the block just played (int16[ports, 160])."""
        if self._epoch is None:
            return
        self._looped = np.where(self.loopback[:, None], tx, 0).astype(np.int16)
        # A station's phone plays whatever its codec gets (the host sends audio only while it
        # is off hook); a trunk carries it only while the board holds the line.
        to_line = (self.off_hook | self._is_station) & ~self.loopback
        line_tx = np.where(to_line[:, None], tx, 0).astype(np.int16)
        self.sim.write_block(line_tx)
        if self._hybrid is not None:
            self._echo = np.asarray(self._hybrid.apply(line_tx[: self.trunks]),
                                    dtype=np.float64)

    def advance(self, now: float) -> tuple[list[PortEvent], np.ndarray]:
        """Move the lines to `now`: their events and the block the board's codecs receive."""
        if self._epoch is None:
            self._epoch = now
        events = [self._caller_id_audio(e) if isinstance(e, CallerId) else e
                  for e in self.sim.tick(now)]
        rx = self.sim.read_block()
        if self._hybrid is not None:
            echo = self._echo * self.off_hook[: self.trunks, None]
            mixed = rx[: self.trunks] + echo
            rx[: self.trunks] = np.clip(np.rint(mixed), -32768, 32767).astype(np.int16)
        if self.loopback.any():
            rx[self.loopback] = self._looped[self.loopback]
        return events, rx

    # -- commands -----------------------------------------------------------------------

    def answer(self, port: int) -> None:
        self.sim.answer(port)
        self.off_hook[port] = True

    def hang_up(self, port: int) -> None:
        self.sim.hang_up(port)
        self.off_hook[port] = False

    def ring(self, port: int, cadence) -> None:
        self.sim.ring(port, cadence)

    def stop_ring(self, port: int) -> None:
        self.sim.stop_ring(port)

    def set_loopback(self, port: int, on: bool) -> None:
        self.loopback[port] = on

    def drop_everything(self) -> None:
        """The board lost power or rebooted: every line on hook, no station rings, no loop."""
        for port in np.flatnonzero(self.off_hook[: self.trunks]):
            self.hang_up(int(port))
        for port in range(self.trunks, len(self.ports)):
            self.sim.stop_ring(port)
        self.loopback[:] = False
        self._echo[:] = 0.0

    def line_state(self, port: int) -> tuple[float, float]:
        """(volts, milliamps) on a trunk now."""
        return OFF_HOOK_LINE if self.off_hook[port] else ON_HOOK_LINE

    # -- inside ---------------------------------------------------------------------------

    def _caller_id_audio(self, event: CallerId) -> CallerIdAudio:
        tod = self.scenario.day.start + (event.time - self._epoch)
        when = (*self.date, int(tod // 3600) % 24, int(tod % 3600 // 60))
        message = encode_mdmf(number=event.number, name=event.name,
                              number_absent=event.number_absent,
                              name_absent=event.name_absent, when=when)
        samples = fsk_modulate(message, level_dbm0=CALLER_ID_DBM0)
        return CallerIdAudio(event.port, event.time, samples)

