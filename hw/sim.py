"""The simulated board: virtual callers on FXO trunks, virtual agents at FXS stations.

``SimBoard(trunks, stations, scenario, seed)`` implements the ``Board`` interface of
``branchline.hw.ports`` on the runtime's clock (virtual in tests and ``simulate``, monotonic in
``run``): the first ``tick(now)`` is the scenario's day start, and everything after follows
from the seed; the board reads no clock, starts no thread and does no I/O.

Trunks 0..trunks-1 are FXO lines; stations follow them (the scenario's station s is port
trunks + s). Calls arrive as a Poisson process whose rate is set per hour of the scenario's
day, on the lowest free trunk (the exchange hunts in order); with every trunk busy a call is
counted as blocked. A trunk is free when it has no caller, is on hook and is not still
holding a cleared call.

Audio. ``read_block`` gives what the callers and agents send: key presses as real DTMF, a
speech-like voice while talking, line noise at the scenario's level, the exchange's dial tone
on a trunk seized with no call, and, after a caller hangs up, the exchange's busy tone (450 Hz,
0.35/0.35 s, -10 dBm0, GB 3380) until the appliance puts the trunk on hook. No on-hook event
is raised for that unless the trunk is listed under ``board.loop_current_drop``, which adds a
``FarEndHangup``. With ``board.echo_return_loss_db`` set, an off-hook trunk also returns the
echo of the appliance's own audio (the line's 2-wire/4-wire hybrid): what was written comes
back in the next block read, ``echo_delay_ms`` late, as on any block-based driver.

``write_block`` is what the callers hear. A caller knows it is talking to an agent when the
audio it hears is an agent's voice (its 160 samples correlate with a station's received audio
of the same or one of the two previous blocks), which is how a bridge made by the runtime
reaches the caller whatever the runtime does in between.

Reports: ``callers()`` (a ``CallerRecord`` for every caller so far), ``agents()``
(``AgentRecord``s) and ``counters()`` (``SimCounters``).
"""

import math
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from branchline.dsp import CALL_PROGRESS_TONES, DBM0_RMS, ToneTx
from branchline.hw.ports import (
    BLOCK_SAMPLES,
    CN_STATION_RING,
    ClearSignal,
    ClockError,
    FarEndHangup,
    Port,
    PortError,
    PortKind,
    RingCadence,
    check_block,
)
from branchline.hw.scenario import ScenarioError, load_scenario
from branchline.hw.sim_agent import VirtualAgent
from branchline.hw.sim_audio import block_levels, db_gain, speech_like
from branchline.hw.sim_caller import CallOutcome, VirtualCaller

__all__ = ["SimBoard", "SimCounters"]

CN_TONES = CALL_PROGRESS_TONES["cn"]
AGENT_VOICE_CORRELATION = 0.6
_HISTORY_BLOCKS = 3
_NOISE_BLOCKS = 200


@dataclass(frozen=True, slots=True)
class SimCounters:
    """Totals since the board started (callers by their outcome so far)."""

    offered: int
    blocked: int
    answered: int
    abandoned_ringing: int
    abandoned_ivr: int
    gave_up: int
    abandoned_queue: int
    connected_to_agent: int
    hung_up_done: int
    released: int
    surveys: int
    station_rings: int
    station_answers: int
    station_missed: int


class SimBoard:
    """A simulated board (see the module docstring). `scenario` is a Scenario or a path."""

    def __init__(self, trunks=None, stations=None, scenario=None, seed=None):
        if scenario is None:
            raise TypeError("SimBoard: scenario is required (a Scenario or a YAML path)")
        if isinstance(scenario, str | Path):
            scenario = load_scenario(scenario)
        self.scenario = scenario
        self.trunks = scenario.board.trunks if trunks is None else trunks
        self.stations = scenario.board.stations if stations is None else stations
        self.seed = scenario.seed if seed is None else seed
        if self.trunks < 1 or self.stations < 0:
            raise ValueError(
                f"SimBoard: trunks={self.trunks}, stations={self.stations}; expected at least "
                "one trunk and no negative count"
            )
        self._check_scenario_fits()
        drop = set(scenario.board.loop_current_drop)
        self._ports = tuple(
            Port(i, PortKind.FXO, f"fxo{i + 1}",
                 ClearSignal.LOOP_CURRENT_DROP if i in drop else ClearSignal.NONE)
            for i in range(self.trunks)
        ) + tuple(
            Port(self.trunks + s, PortKind.FXS, f"fxs{s + 1}") for s in range(self.stations)
        )
        channels = len(self._ports)
        self._arrival_rng = np.random.default_rng([self.seed, 0])
        # Line noise is read from a 4 s table, each port from its own place in it: cheaper
        # than drawing fresh noise every block, and no detector can tell.
        sigma = DBM0_RMS * db_gain(scenario.board.line_noise_dbm0)
        self._noise = np.random.default_rng([self.seed, 1]).standard_normal(
            (_NOISE_BLOCKS, BLOCK_SAMPLES)) * sigma
        self._noise_row = np.arange(channels) * 37 % _NOISE_BLOCKS
        self._voice = speech_like(np.random.default_rng([self.seed, 2]))
        self._tones = ToneTx(channels)
        self._tone_block = np.zeros((channels, BLOCK_SAMPLES), dtype=np.int16)
        self._history = deque(maxlen=_HISTORY_BLOCKS)
        erl = scenario.board.echo_return_loss_db
        self._echo_gain = None if erl is None else db_gain(-erl)
        self._echo_delay = round(scenario.board.echo_delay_ms * 8)
        self._sent = np.zeros((self.trunks, 2 * BLOCK_SAMPLES))  # last two trunk tx blocks
        self._now = None
        self._epoch = None
        self._next_arrival = None
        self._callers = []
        self._on_trunk = [None] * self.trunks  # caller on each trunk
        self._off_hook = [False] * self.trunks
        self._cleared = [False] * self.trunks  # far end gone, line not yet released
        self._agents = {}
        self._station_ringing = [False] * self.stations
        self._deferred_events = []

    def _check_scenario_fits(self):
        problems = [
            (f"agents.roster.{i}.station", f"agent {a.id}'s station does not exist on a "
             f"board with {self.stations} stations (0..{self.stations - 1})", a.station)
            for i, a in enumerate(self.scenario.agents.roster) if a.station >= self.stations
        ] + [
            ("board.loop_current_drop", f"trunk {t} does not exist on a board with "
             f"{self.trunks} trunks", t)
            for t in self.scenario.board.loop_current_drop if t >= self.trunks
        ]
        if problems:
            raise ScenarioError(self.scenario.name, problems)

    # -- the Board interface -------------------------------------------------------------

    @property
    def ports(self):
        return self._ports

    @property
    def now(self):
        """The board time of the last tick (None before the first)."""
        return self._now

    def tick(self, now):
        if self._now is None:
            self._start(now)
        elif now < self._now:
            raise ClockError(f"SimBoard.tick: now={now} is before the last tick {self._now}; "
                             "the clock must not go back")
        self._now = now
        events, self._deferred_events = self._deferred_events, []
        while self._next_arrival is not None and self._next_arrival <= now:
            self._arrive(self._next_arrival)
            self._next_arrival = self._arrival_after(self._next_arrival)
        for port, caller in enumerate(self._on_trunk):
            if caller is not None:
                events += caller.advance(now)
                self._after_caller_moved(port, caller, events)
        for port, agent in self._agents.items():
            moved = agent.advance(now)
            if agent.off_hook:
                self._station_ringing[port - self.trunks] = False  # answering stops the ringer
            events += moved
        events.sort(key=lambda e: e.time)
        return events

    def read_block(self):
        rx = self._noise[self._noise_row]
        self._noise_row += 1
        self._noise_row %= _NOISE_BLOCKS
        for port, caller in enumerate(self._on_trunk):
            if caller is not None and not caller.ringing:
                audio = caller.render()
                if audio is not None:
                    rx[port] += audio
        for port, agent in self._agents.items():
            audio = agent.render()
            if audio is not None:
                rx[port] += audio
        if self._echo_gain is not None:
            self._add_echo(rx)
        self._tones.render(self._tone_block)
        rx += self._tone_block
        block = np.clip(np.rint(rx), -32768, 32767).astype(np.int16)
        self._history.appendleft(block[self.trunks:].astype(np.float64))
        self._tone_block.fill(0)
        return block

    def write_block(self, block):
        check_block(block, len(self._ports), "SimBoard.write_block")
        if self._now is None:
            return
        if self._echo_gain is not None:
            self._sent[:, :BLOCK_SAMPLES] = self._sent[:, BLOCK_SAMPLES:]
            self._sent[:, BLOCK_SAMPLES:] = block[: self.trunks]
        levels = None
        for port, caller in enumerate(self._on_trunk):
            if caller is None or caller.ringing or caller.gone:
                continue
            if levels is None:
                levels = block_levels(block[: self.trunks])
            agent = self._agent_heard(block[port]) if caller.wants_agent else None
            caller.hear(self._now, float(levels[port]), agent)
            # A far-end clear found while listening is reported with the next tick's events.
            self._after_caller_moved(port, caller, self._deferred_events)

    def answer(self, port):
        self._trunk(port, "answer")
        if self._off_hook[port]:
            return
        self._off_hook[port] = True
        caller = self._on_trunk[port]
        if caller is not None and caller.ringing:
            caller.answer(self._now)
        elif caller is None and not self._cleared[port]:
            self._tones.start(port, CN_TONES["dial"])

    def hang_up(self, port):
        self._trunk(port, "hang_up")
        self._off_hook[port] = False
        self._cleared[port] = False
        self._tones.stop(port)
        caller = self._on_trunk[port]
        if caller is not None and not caller.ringing:
            caller.release(self._now)
            self._on_trunk[port] = None

    def ring(self, port, cadence=CN_STATION_RING):
        self._station(port, "ring")
        if not isinstance(cadence, RingCadence):
            raise PortError(f"SimBoard.ring: cadence {cadence!r}; expected a RingCadence")
        if self._station_ringing[port - self.trunks]:
            return
        self._station_ringing[port - self.trunks] = True
        if port in self._agents:
            self._agents[port].ring(self._now)

    def stop_ring(self, port):
        self._station(port, "stop_ring")
        self._station_ringing[port - self.trunks] = False
        if port in self._agents:
            self._agents[port].stop_ring(self._now)

    # -- reports -------------------------------------------------------------------------

    def callers(self):
        """A CallerRecord for every caller so far, in arrival order."""
        return tuple(c.record() for c in self._callers)

    def agents(self):
        """An AgentRecord for every agent, in station order."""
        return tuple(self._agents[p].record() for p in sorted(self._agents))

    def counters(self):
        outcomes = [c.outcome for c in self._callers]
        agents = self._agents.values()
        return SimCounters(
            offered=len(self._callers),
            blocked=outcomes.count(CallOutcome.BLOCKED),
            answered=sum(c.answered is not None for c in self._callers),
            abandoned_ringing=outcomes.count(CallOutcome.ABANDONED_RINGING),
            abandoned_ivr=outcomes.count(CallOutcome.ABANDONED_IVR),
            gave_up=outcomes.count(CallOutcome.GAVE_UP),
            abandoned_queue=outcomes.count(CallOutcome.ABANDONED_QUEUE),
            connected_to_agent=sum(c.connected is not None for c in self._callers),
            hung_up_done=outcomes.count(CallOutcome.HUNG_UP_DONE),
            released=outcomes.count(CallOutcome.RELEASED),
            surveys=sum(c.survey_score is not None for c in self._callers),
            station_rings=sum(a.rings for a in agents),
            station_answers=sum(a.answered for a in agents),
            station_missed=sum(a.missed for a in agents),
        )

    # -- inside ----------------------------------------------------------------------------

    def _start(self, now):
        self._epoch = now
        for i, spec in enumerate(self.scenario.agents.roster):
            port = self.trunks + spec.station
            self._agents[port] = VirtualAgent(
                spec, self.scenario, np.random.default_rng([self.seed, 3, i]), port,
                self._voice, now,
            )
        self._next_arrival = self._arrival_after(now)

    def _time_of_day(self, t):
        return self.scenario.day.start + (t - self._epoch)

    def _arrival_after(self, t):
        """The next arrival of the piecewise-constant Poisson process, or None after the day."""
        need = self._arrival_rng.exponential(1.0)
        tod = self._time_of_day(t)
        end = self.scenario.day.end
        while tod < end:
            boundary = min((math.floor(tod / 3600) + 1) * 3600, end)
            rate = self.scenario.arrivals.rate(int(tod // 3600) % 24) / 3600
            if rate * (boundary - tod) >= need:
                return t + (tod + need / rate - self._time_of_day(t))
            need -= rate * (boundary - tod)
            tod = boundary
        return None

    def _arrive(self, time):
        ident = len(self._callers) + 1
        caller = VirtualCaller(ident, self.scenario,
                               np.random.default_rng([self.seed, 4, ident]), self._voice, time)
        self._callers.append(caller)
        for port in range(self.trunks):
            if self._on_trunk[port] is None and not self._off_hook[port] and \
                    not self._cleared[port]:
                self._on_trunk[port] = caller
                caller.start_ringing(port)
                return
        caller.blocked()

    def _after_caller_moved(self, port, caller, events):
        if not caller.gone:
            return
        if caller.answered is None:
            self._on_trunk[port] = None  # stopped ringing; the line is free again
            return
        self._on_trunk[port] = None
        if self._off_hook[port]:
            self._cleared[port] = True
            self._tones.start(port, CN_TONES["busy"])
            signal = self._ports[port].clear_signal
            if signal is not ClearSignal.NONE:
                events.append(FarEndHangup(port, caller.ended, signal))

    def _add_echo(self, rx):
        # What the appliance wrote last is on the line now; its echo comes back delayed.
        start = BLOCK_SAMPLES - self._echo_delay
        for port in range(self.trunks):
            if self._off_hook[port]:
                rx[port] += self._sent[port, start:start + BLOCK_SAMPLES] * self._echo_gain

    def _agent_heard(self, row):
        """The station port whose voice `row` (one trunk's transmit block) carries, or None."""
        x = row.astype(np.float64)
        energy = x @ x
        if not self._history or energy <= 0 or not self.stations:
            return None
        for past in self._history:
            norms = np.sqrt(np.einsum("ij,ij->i", past, past) * energy)
            corr = np.divide(past @ x, norms, out=np.zeros(len(past)), where=norms > 0)
            best = int(np.argmax(corr))
            if corr[best] > AGENT_VOICE_CORRELATION and self._is_talking(best):
                return self.trunks + best
        return None

    def _is_talking(self, station):
        agent = self._agents.get(self.trunks + station)
        return agent is not None and agent.talking

    def _port(self, port, command):
        if not isinstance(port, int | np.integer) or not 0 <= port < len(self._ports):
            raise PortError(f"SimBoard.{command}: port {port!r} does not exist; ports are "
                            f"0..{len(self._ports) - 1}")
        return self._ports[port]

    def _trunk(self, port, command):
        if not self._port(port, command).is_trunk:
            raise PortError(f"SimBoard.{command}: port {port} is a station; {command} works "
                            f"on trunks 0..{self.trunks - 1}")

    def _station(self, port, command):
        if not self._port(port, command).is_station:
            raise PortError(f"SimBoard.{command}: port {port} is a trunk; {command} works on "
                            f"stations {self.trunks}..{len(self._ports) - 1}")
