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

``write_block`` is what the callers hear. A block carries an agent's voice when it is loud
enough to hear (``listening.hear_dbm0``) and its 160 samples correlate above 0.9 with what a
talking agent's station sent in the same or one of the two previous blocks (a bridge copies
the audio: gain and G.711 do not move the correlation below 0.99). The caller believes it is
talking to that agent after AGENT_VOICE_BLOCKS such blocks in a row (quiet blocks in between
do not break the run; other sound does). A single block is not evidence: 160 band-limited
samples correlate by chance — over an hour of prompts heard in a queue the best chance
correlation with some talking agent reached 0.58, and with another seed it passed the 0.6 the
board once used, connecting a caller who was still hearing an announcement.

The exchange. A trunk the appliance seizes with no call on it gets dial tone; the digits the
appliance sends are decoded with the DSP's ``DtmfRx`` (one receiver over the trunks, run only
while a line is dialling). A number is complete when it belongs to a caller waiting for a
call back, after DIGIT_TIMEOUT_S without a digit, or at MAX_DIGITS; that caller's phone is
then busy, unanswered or answered (``VirtualCaller.respond_to_callback``), with busy tone or
ringback on the line; an unknown number gets the unobtainable tone.

History. Every caller is kept for ``callers()`` and ``counters()``; ``keep_callers=False``
(a day-long soak, where the history would be the only thing that grows) counts the callers
who are gone into ``counters()`` and lets them go.

Faults. ``fail_port(port, reason)`` / ``restore_port(port)`` raise ``PortOutOfService`` /
``PortInService`` with the next tick; a failed port carries silence, raises nothing, ignores
commands and takes no arriving caller; a caller on it is dropped (``line_lost``).

Reports: ``callers()`` (a ``CallerRecord`` for every caller so far), ``agents()``
(``AgentRecord``s) and ``counters()`` (``SimCounters``).
"""

import math
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from branchline.dsp import CALL_PROGRESS_TONES, DBM0_RMS, DtmfRx, ToneTx
from branchline.hw.ports import (
    BLOCK_SAMPLES,
    CN_STATION_RING,
    ClearSignal,
    ClockError,
    FarEndHangup,
    Port,
    PortError,
    PortInService,
    PortKind,
    PortOutOfService,
    RingCadence,
    check_block,
)
from branchline.hw.sim.agent import VirtualAgent
from branchline.hw.sim.audio import block_levels, db_gain, speech_like
from branchline.hw.sim.caller import CallOutcome, VirtualCaller
from branchline.hw.sim.scenario import ScenarioError, load_scenario

__all__ = ["SimBoard", "SimCounters"]

CN_TONES = CALL_PROGRESS_TONES["cn"]
AGENT_VOICE_CORRELATION = 0.9
BUSY_HZ = CN_TONES["busy"].frequencies[0]
AGENT_HEARS_DBM0 = -40.0
_HISTORY_BLOCKS = 3
_NOISE_BLOCKS = 200
# The exchange's digit collection (our choice, in the range exchanges use): a number is
# complete when it is a subscriber's or after 4 s without a digit; a seized line on which no
# digit comes within 10 s gets congestion tone.
DIGIT_TIMEOUT_S = 4.0
FIRST_DIGIT_TIMEOUT_S = 10.0
MAX_DIGITS = 15  # ITU-T E.164: at most 15 digits


@dataclass(slots=True)
class _Outgoing:
    """A line the appliance seized to dial out on, as the exchange sees it."""

    seized: float | None
    digits: str = ""
    last: float | None = None  # the last digit's release
    state: str = "dialling"  # dialling, ringing, busy, congestion, unobtainable
    callee: VirtualCaller | None = None
    answer_at: float | None = None


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
    callbacks_asked: int = 0
    callback_attempts: int = 0  # call backs that reached a caller's phone
    called_back: int = 0  # callers who answered a call back
    dialled_unknown: int = 0  # numbers dialled out that belong to nobody


class SimBoard:
    """A simulated board (see the module docstring). `scenario` is a Scenario or a path."""

    def __init__(self, trunks=None, stations=None, scenario=None, seed=None, *,
                 keep_callers=True):
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
        self.keep_callers = keep_callers
        self._arrived = 0
        self._gone = _caller_counts(())  # the counts of callers let go (keep_callers=False)
        self._on_trunk = [None] * self.trunks  # caller on each trunk
        self._off_hook = [False] * self.trunks
        self._cleared = [False] * self.trunks  # far end gone, line not yet released
        self._agents = {}
        self._station_ringing = [False] * self.stations
        self._deferred_events = []
        self._outgoing: dict[int, _Outgoing] = {}  # seized trunks the exchange collects on
        self._awaiting: dict[str, VirtualCaller] = {}  # callers waiting for a call back
        self._exchange_rx = None  # DtmfRx over the trunks, made at the first seizure
        self._dialled_unknown = 0
        self._broken = np.zeros(channels, dtype=bool)  # ports failed by fail_port
        self._on_phone: set[int] = set()  # stations whose agent is talking
        self._sounding: set[int] = set()  # stations whose phone sends audio
        self._agents_due = float("inf")  # the earliest timer of any agent
        self._keys_to = None  # event mode (EventSimBoard): where people's keys go, not audio
        t = np.arange(BLOCK_SAMPLES) / 8000
        self._busy_probe = np.stack([np.cos(2 * np.pi * BUSY_HZ * t),
                                     np.sin(2 * np.pi * BUSY_HZ * t)], axis=1)

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
        self._advance_callers(now, events)
        if self._outgoing:
            self._exchange(now)
        if self._agents_due <= now:  # most ticks nobody at a phone has anything due
            self._advance_agents(now, events)
        if events and self._broken.any():
            events = [e for e in events if not self._broken[e.port]
                      or isinstance(e, PortOutOfService)]
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
        for port in list(self._sounding):
            agent = self._agents[port]
            if agent.sounding:
                rx[port] += agent.render()
            else:
                self._sounding.discard(port)
        if self._echo_gain is not None:
            self._add_echo(rx)
        self._tones.render(self._tone_block)
        rx += self._tone_block
        rx[self._broken] = 0.0  # a port out of service carries silence
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
        if any(o.state == "dialling" for o in self._outgoing.values()):
            self._collect_digits(block)
        if self._on_phone:
            self._agents_hear(block)
        levels = voices = None
        hear_dbm0 = self.scenario.listening.hear_dbm0
        for port, caller in enumerate(self._on_trunk):
            if caller is None or caller.ringing or caller.off_line:
                continue
            if levels is None:
                levels = block_levels(block[: self.trunks])
            level = float(levels[port])
            agent = None
            if caller.wants_agent and level >= hear_dbm0:
                voices = voices or self._talking_voices()
                agent = self._agent_heard(block[port], voices)
            caller.hear(self._now, level, agent)
            # A far-end clear found while listening is reported with the next tick's events.
            self._after_caller_moved(port, caller, self._deferred_events)

    def answer(self, port):
        self._trunk(port, "answer")
        if self._off_hook[port] or self._broken[port]:
            return
        self._off_hook[port] = True
        caller = self._on_trunk[port]
        if caller is not None and caller.ringing:
            caller.answer(self._now)
        elif caller is None and not self._cleared[port]:
            self._tones.start(port, CN_TONES["dial"])
            self._outgoing[port] = _Outgoing(self._now, last=self._now)
            if self._exchange_rx is None:
                self._exchange_rx = DtmfRx(self.trunks)
            self._exchange_rx.reset(port)

    def hang_up(self, port):
        self._trunk(port, "hang_up")
        self._off_hook[port] = False
        self._cleared[port] = False
        self._tones.stop(port)
        self._outgoing.pop(port, None)  # a call back not (yet) answered: the callee waits on
        caller = self._on_trunk[port]
        if caller is not None and not caller.ringing:
            caller.release(self._now)
            self._on_trunk[port] = None
            self._await(caller)

    def ring(self, port, cadence=CN_STATION_RING):
        self._station(port, "ring")
        if not isinstance(cadence, RingCadence):
            raise PortError(f"SimBoard.ring: cadence {cadence!r}; expected a RingCadence")
        if self._station_ringing[port - self.trunks] or self._broken[port]:
            return
        self._station_ringing[port - self.trunks] = True
        if port in self._agents:
            self._agents[port].ring(self._now)
            self._agents_due = min(self._agents_due, self._agents[port].due)

    def stop_ring(self, port):
        self._station(port, "stop_ring")
        self._station_ringing[port - self.trunks] = False
        if port in self._agents:
            self._agents[port].stop_ring(self._now)
            self._agents_due = min(self._agents_due, self._agents[port].due)

    # -- faults --------------------------------------------------------------------------

    def fail_port(self, port, reason="failed"):
        """Take a port out of service, as a driver that lost its board would: the next tick
        reports ``PortOutOfService``; whatever was up on it is gone (a caller's call is
        dropped, outcome ``line_lost``; a station stops ringing); until ``restore_port`` it
        raises nothing, carries silence and ignores commands."""
        self._port(port, "fail_port")
        if self._broken[port]:
            return
        self._broken[port] = True
        now = self._now if self._now is not None else 0.0
        self._deferred_events.append(PortOutOfService(port, now, reason))
        if port < self.trunks:
            caller = self._on_trunk[port]
            if caller is not None:
                caller.line_lost(now)
                self._on_trunk[port] = None
            self._off_hook[port] = self._cleared[port] = False
            self._outgoing.pop(port, None)
            self._tones.stop(port)
        else:
            self.stop_ring(port)

    def restore_port(self, port):
        """Bring a failed port back: the next tick reports ``PortInService``."""
        self._port(port, "restore_port")
        if self._broken[port]:
            self._broken[port] = False
            self._deferred_events.append(PortInService(port, self._now or 0.0))

    # -- reports -------------------------------------------------------------------------

    def callers(self):
        """A CallerRecord for every caller so far, in arrival order (with ``keep_callers``
        false: every caller not yet gone)."""
        return tuple(c.record() for c in self._callers)

    def agents(self):
        """An AgentRecord for every agent, in station order."""
        return tuple(self._agents[p].record() for p in sorted(self._agents))

    def counters(self):
        callers = _caller_counts(self._callers)
        if not self.keep_callers:
            callers = {name: n + self._gone[name] for name, n in callers.items()}
        agents = self._agents.values()
        return SimCounters(
            **callers,
            station_rings=sum(a.rings for a in agents),
            station_answers=sum(a.answered for a in agents),
            station_missed=sum(a.missed for a in agents),
            dialled_unknown=self._dialled_unknown,
        )

    # -- inside ----------------------------------------------------------------------------

    def _start(self, now):
        self._epoch = now
        for i, spec in enumerate(self.scenario.agents.roster):
            port = self.trunks + spec.station
            self._agents[port] = VirtualAgent(
                spec, self.scenario, np.random.default_rng([self.seed, 3, i]), port,
                self._voice, now, keys_to=self._keys_to,
            )
        self._agents_due = now
        first = self.scenario.arrivals.first_s
        if first is None:
            self._next_arrival = self._arrival_after(now)
        else:
            inside = self._time_of_day(now) + first < self.scenario.day.end
            self._next_arrival = now + first if inside else None

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
        if not self.keep_callers:
            self._let_gone_callers_go()
        self._arrived += 1
        ident = self._arrived
        caller = VirtualCaller(ident, self.scenario, np.random.default_rng([self.seed, 4, ident]),
                               self._voice, time, keys_to=self._keys_to)
        self._callers.append(caller)
        for port in range(self.trunks):
            if self._on_trunk[port] is None and not self._off_hook[port] and \
                    not self._cleared[port] and not self._broken[port]:
                self._on_trunk[port] = caller
                caller.start_ringing(port)
                return
        caller.blocked()

    def _let_gone_callers_go(self):
        gone = [c for c in self._callers if c.gone]
        if gone:
            for name, n in _caller_counts(gone).items():
                self._gone[name] += n
            self._callers = [c for c in self._callers if not c.gone]

    def _advance_callers(self, now, events):
        for port, caller in enumerate(self._on_trunk):
            if caller is not None:
                events += caller.advance(now)
                self._after_caller_moved(port, caller, events)

    def _after_caller_moved(self, port, caller, events):
        if not caller.off_line:
            return
        if caller.answered is None:
            self._on_trunk[port] = None  # stopped ringing; the line is free again
            return
        self._on_trunk[port] = None
        self._await(caller)
        if self._off_hook[port]:
            self._cleared[port] = True
            self._tones.start(port, CN_TONES["busy"])
            signal = self._ports[port].clear_signal
            if signal is not ClearSignal.NONE:
                events.append(FarEndHangup(port, caller.ended, signal))

    def _advance_agents(self, now, events):
        due = float("inf")
        for port, agent in self._agents.items():
            if agent.due <= now:
                events += agent.advance(now)
                if agent.off_hook:
                    self._station_ringing[port - self.trunks] = False  # answering stops it
                if agent.talking:
                    self._on_phone.add(port)
                else:
                    self._on_phone.discard(port)
                if agent.sounding:
                    self._sounding.add(port)
            due = min(due, agent.due)
        self._agents_due = due

    def _agents_hear(self, block):
        """Tell the talking agents whether their phone plays the busy tone (450 Hz power
        against the block's: a Goertzel pair per row) or other sound."""
        ports = np.fromiter(self._on_phone, dtype=np.intp)
        x = block[ports].astype(np.float64)
        power = np.einsum("ij,ij->i", x, x)
        probe = x @ self._busy_probe
        tone_share = np.einsum("ij,ij->i", probe, probe) / (BLOCK_SAMPLES / 2) / \
            np.maximum(power, 1e-9)
        sound = power / BLOCK_SAMPLES >= (DBM0_RMS * db_gain(AGENT_HEARS_DBM0)) ** 2
        for port, tone, heard in zip(ports.tolist(), (tone_share > 0.8) & sound, sound,
                                     strict=True):
            agent = self._agents[port]
            agent.hear(self._now, bool(tone), bool(heard), self._deferred_events)
            if not agent.talking:
                self._on_phone.discard(port)
                self._agents_due = min(self._agents_due, agent.due)

    def _await(self, caller):
        if caller.awaiting_callback:
            self._awaiting[caller.number] = caller

    # -- the exchange: calls the appliance dials out -----------------------------------------

    def _collect_digits(self, block):
        for key in self._exchange_rx.process(np.ascontiguousarray(block[: self.trunks])):
            out = self._outgoing.get(key.channel)
            if key.end is None or out is None or out.state != "dialling":
                continue
            if not out.digits:
                self._tones.stop(key.channel)  # the first digit silences the dial tone
            out.digits += key.digit
            out.last = self._now
            if out.digits in self._awaiting or len(out.digits) >= MAX_DIGITS:
                self._route(key.channel, out)

    def _exchange(self, now):
        for port, out in list(self._outgoing.items()):
            if out.seized is None:  # seized before the first tick
                out.seized = out.last = now
            if out.state == "dialling":
                if out.digits and now - out.last >= DIGIT_TIMEOUT_S:
                    self._route(port, out)
                elif not out.digits and now - out.seized >= FIRST_DIGIT_TIMEOUT_S:
                    out.state = "congestion"
                    self._tones.start(port, CN_TONES["congestion"])
            elif out.state == "ringing" and out.answer_at is not None and now >= out.answer_at:
                callee = out.callee
                del self._outgoing[port]
                self._tones.stop(port)
                self._awaiting.pop(callee.number, None)
                self._on_trunk[port] = callee
                callee.call_back(now, port)

    def _route(self, port, out):
        callee = self._awaiting.get(out.digits)
        if callee is None:
            self._dialled_unknown += 1
            out.state = "unobtainable"
            self._tones.start(port, CN_TONES["unobtainable"])
            return
        engaged = any(o.callee is callee for o in self._outgoing.values() if o is not out)
        response = "busy" if engaged else callee.respond_to_callback()
        if response == "busy":
            out.state = "busy"
            self._tones.start(port, CN_TONES["busy"])
            return
        out.state, out.callee = "ringing", callee
        out.answer_at = None if response == "no_answer" else self._now + response
        self._tones.start(port, CN_TONES["ringback"])

    def _add_echo(self, rx):
        # What the appliance wrote last is on the line now; its echo comes back delayed.
        start = BLOCK_SAMPLES - self._echo_delay
        for port in range(self.trunks):
            if self._off_hook[port]:
                rx[port] += self._sent[port, start:start + BLOCK_SAMPLES] * self._echo_gain

    def _talking_voices(self):
        """The talking stations (indices), their last blocks [lag, k, 160] and norms [lag, k]."""
        talking = np.fromiter((p - self.trunks for p, a in self._agents.items() if a.talking),
                              dtype=np.intp)
        if not talking.size or not self._history:
            return talking, None, None
        past = np.stack([h[talking] for h in self._history])
        return talking, past, np.sqrt(np.einsum("lkn,lkn->lk", past, past))

    def _agent_heard(self, row, voices):
        """The station port whose voice `row` (one trunk's transmit block) carries, or None."""
        talking, past, norms = voices
        if past is None:
            return None
        x = row.astype(np.float64)
        scale = norms * math.sqrt(x @ x)
        corr = np.divide(past @ x, scale, out=np.zeros_like(scale), where=scale > 0)
        lag, k = np.unravel_index(int(np.argmax(corr)), corr.shape)
        if corr[lag, k] > AGENT_VOICE_CORRELATION:
            return self.trunks + int(talking[k])
        return None

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


def _caller_counts(callers) -> dict[str, int]:
    """The callers' part of ``SimCounters``."""
    outcomes = [c.outcome for c in callers]
    return {
        "offered": len(outcomes),
        "blocked": outcomes.count(CallOutcome.BLOCKED),
        "answered": sum(c.answered is not None for c in callers),
        "abandoned_ringing": outcomes.count(CallOutcome.ABANDONED_RINGING),
        "abandoned_ivr": outcomes.count(CallOutcome.ABANDONED_IVR),
        "gave_up": outcomes.count(CallOutcome.GAVE_UP),
        "abandoned_queue": outcomes.count(CallOutcome.ABANDONED_QUEUE),
        "connected_to_agent": sum(c.connected is not None for c in callers),
        "hung_up_done": outcomes.count(CallOutcome.HUNG_UP_DONE),
        "released": outcomes.count(CallOutcome.RELEASED),
        "surveys": sum(c.survey_score is not None for c in callers),
        "callbacks_asked": sum(c.callback_asked is not None for c in callers),
        "callback_attempts": sum(c.callback_attempts for c in callers),
        "called_back": sum(c.called_back is not None for c in callers),
    }
