"""The simulated board in event mode: the same people, with keys, prompts and hang-ups as events.

``EventSimBoard(trunks, stations, scenario, seed)`` is a ``SimBoard`` whose virtual callers and
agents make and hear no audio. Callers arrive, ring, think, press keys, lose patience and
hang up as they do on the audio board, from the same random draws; what changes is how the
appliance and they reach each other. The runtime's event loop (firmware/event_loop.py) drives
it once per tick it runs, and runs ticks only when something is due::

    events = board.tick(now)            # as SimBoard: rings, caller ID, hooks, far-end clears
    keys, tones = board.signals(now)    # DtmfEvents released by now; the busy tone "heard"
    ...                                 # the engines run
    board.transmit(port, sending)       # each port whose output changed: a Sending
    board.listen(now)                   # callers hear the blocks that can change their mind
    board.next_due()                    # when the board next has something to do (inf: never)

* Keys: people append (released, pressed, key, port, person) to the board's list instead of
  DTMF audio; a key counts at its release, as the runtime's receiver reports it. Of the keys
  one person presses in one go (a card number and #, an agent's code) the first reaches the
  runtime at its release (it may stop a prompt: barge-in); the others in groups, each at the
  release of the last key released within KEY_GROUP_S of the group's first, in order. A key is
  then at most KEY_GROUP_S late, well inside the flows' inter-digit timeout (3 s by default),
  and the 300-seat day runs a third fewer ticks than with a tick per key. Keys a caller would
  still have been pressing when it left the line are dropped.
* Hang-up: a caller who hangs up on an answered line leaves the exchange's busy tone on it, as
  on the audio board; the runtime's ``CallProgressRx`` reports busy 50 ms into its third burst
  (dsp/progress.py), so a ``ToneEvent("busy")`` comes that long after the caller left, if the
  appliance has not released the line by then.
* Hearing: a ``Sending`` says what the appliance sends on a port from a tick on: a prompt
  sequence (the arrays the renderer was given), a tone, and the ports mixed in. The board
  turns the prompts' audio into the blocks a caller would hear as sound (the same level test
  as the audio board, per 20 ms block of each prompt, cached per array) and calls the
  caller's ``hear`` only where that can change what it does: the first three blocks and the
  last block of every run of sound or of an agent's voice, and the quiet block the caller's
  ``next_hearing_check`` names. Runs of sound less than 0.25 s apart are one run: the caller
  takes sound as a new prompt only after a longer quiet (hw/sim/caller.py), so that is all
  the gap can change. A bridged agent's voice is heard while that agent talks.
* Agents: a busy tone started on a station is told to the agent (``tone_started``).

Call backs need the exchange to hear dialled digits as audio; a scenario whose callers ask for
a call back is refused here (``ScenarioError``): use the audio board for it.
"""

import heapq
import math
import weakref
from dataclasses import dataclass

import numpy as np

from branchline.dsp import DtmfEvent, ToneEvent
from branchline.dsp.tones import ToneSpec
from branchline.hw.ports import BLOCK_SAMPLES, BLOCK_SECONDS, CN_STATION_RING
from branchline.hw.sim.audio import block_levels
from branchline.hw.sim.board import CN_TONES, SimBoard
from branchline.hw.sim.caller import VirtualCaller
from branchline.hw.sim.scenario import ScenarioError

__all__ = ["EventSimBoard", "Sending"]

RATE = 8000
# CallProgressRx reports busy 0.35/0.35 s 50 ms into its third burst (dsp/progress.py).
BUSY_HEARD_S = 2 * sum(CN_TONES["busy"].cadence) / 1000 + 0.05
ONSET_QUIET_S = 0.25  # a caller takes sound as a new prompt only after more quiet than this
KEY_GROUP_S = 1.0  # our choice: a third of the default inter-digit timeout
_FIRST_BLOCKS = 3  # hw/sim/caller.py: AGENT_VOICE_BLOCKS, and three blocks of other sound


@dataclass(frozen=True, slots=True)
class Sending:
    """What the appliance sends on a port from `since` (loop time) on: the prompt sequence the
    renderer plays since `prompts_from` (its first array from sample `offset`, at `gain_db`),
    the tone it plays since `tone_from`, and the ports whose received audio is mixed in."""

    since: float
    prompts: tuple = ()
    prompts_from: float = 0.0
    offset: int = 0
    gain_db: float = 0.0
    tone: ToneSpec | None = None
    tone_from: float = 0.0
    tone_repeat: bool = True
    sources: tuple[int, ...] = ()


def _grid(t):
    """The first 20 ms block boundary at or after `t` (float noise ignored)."""
    return round(math.ceil(round(t / BLOCK_SECONDS, 6)) * BLOCK_SECONDS, 6)


class EventSimBoard(SimBoard):
    """A simulated board in event mode (see the module docstring)."""

    def __init__(self, trunks=None, stations=None, scenario=None, seed=None):
        super().__init__(trunks, stations, scenario, seed)
        asking = [f"callers.goals.{name}" for name, goal in self.scenario.callers.goals.items()
                  if any(step.callback for step in goal.steps)]
        if asking:
            raise ScenarioError(self.scenario.name, [
                (path, "callers ask for a call back, which the event mode cannot dial out "
                 "(the exchange hears digits as audio); run this scenario with audio media",
                 "callback") for path in asking])
        self._keys_to = []
        self._keys = []  # heap of (handed over, seq, released, pressed, key, port, person)
        self._seq = 0
        self._busy = []  # heap of (time the busy tone is heard, port)
        self._callers_due = []  # heap of (due, seq, port, caller); stale entries skipped
        self._agents_heap = []  # heap of (due, seq, station port); stale entries skipped
        self._sending = {}  # trunk port -> Sending
        # Trunk port -> the agent heard on it since its last Sending: a bridge is made when
        # the agent answers and undone when either side hangs up, so the talking agent at the
        # change is the one heard until the next.
        self._voice_of = {}
        self._runs = {}  # trunk port -> [(first, last)] loud block times from its Sending
        self._wakes = []  # heap of (time, seq, port, generation)
        self._generation = [0] * self.trunks
        self._heard_at = [-1.0] * self.trunks
        self._prompt_runs = {}  # (id(array), gain_db) -> [(first, last) samples], while it lives

    # -- the event interface ---------------------------------------------------------------

    def read_block(self):
        raise TypeError("EventSimBoard.read_block: an event-mode board carries no audio; "
                        "drive it with signals()/transmit()/listen() (firmware/event_loop.py)")

    def write_block(self, block):
        raise TypeError("EventSimBoard.write_block: an event-mode board carries no audio; "
                        "tell it what each port sends with transmit()")

    def tick(self, now):
        events = super().tick(now)
        self._take_keys()
        return events

    def signals(self, now):
        """Keys released by `now` (``DtmfEvent``s, end set) and busy tones the runtime's
        detector would have reported by then (``ToneEvent``s)."""
        keys = []
        while self._keys and self._keys[0][0] <= now + 1e-9:
            _, _, released, pressed, key, port, person = heapq.heappop(self._keys)
            if isinstance(person, VirtualCaller) and person.ended is not None and \
                    released > person.ended:
                continue  # still pressing when it left the line: never heard
            if not self._broken[port]:
                keys.append(DtmfEvent(port, key, round(pressed * RATE), round(released * RATE)))
        tones = []
        while self._busy and self._busy[0][0] <= now + 1e-9:
            _, port = heapq.heappop(self._busy)
            if self._cleared[port]:
                tones.append(ToneEvent(port, "busy", round(now * RATE)))
        return keys, tones

    def transmit(self, port, sending):
        """From ``sending.since`` on, the appliance sends `sending` on `port`."""
        self._port(port, "transmit")
        now = sending.since
        if port >= self.trunks:
            agent = self._agents.get(port)
            tone = sending.tone
            if agent is not None and tone is not None and sending.tone_from == now and \
                    sending.tone_repeat:
                on_s, off_s = (tone.cadence[0] / 1000, tone.cadence[1] / 1000) if \
                    tone.cadence else (math.inf, 0.0)
                agent.tone_started(now, on_s, off_s)
                self._agent_due(port)
            return
        before = now - BLOCK_SECONDS
        caller = self._on_trunk[port]
        if self._listening(caller) and self._heard_at[port] < before - 1e-9:
            level, agent = self._heard(port, caller, before)
            if level > -math.inf:  # the last block of what it was hearing
                self._hear(port, caller, before, level, agent)
        self._sending[port] = sending
        self._voice_of[port] = next((s for s in sending.sources if s in self._agents and
                                  self._agents[s].talking), None)
        self._runs[port] = self._sound_runs(sending)
        self._generation[port] += 1
        self._wake(now, port)
        # Callers in the menus act on a run's first block; one waiting for or talking to an
        # agent needs three (a voice is sure, other sound ends the talk).
        firsts = _FIRST_BLOCKS if caller is not None and caller.wants_agent else 1
        for first, last in self._runs[port]:
            if last >= now:
                for k in range(firsts):
                    t = round(first + k * BLOCK_SECONDS, 6)
                    if now <= t <= last:
                        self._wake(t, port)
                self._wake(last, port)
        if self._voice_of[port] is not None:
            for k in range(1, _FIRST_BLOCKS):
                self._wake(round(now + k * BLOCK_SECONDS, 6), port)

    def listen(self, now):
        """Callers hear every block due by `now` that can change what they do."""
        while self._wakes and self._wakes[0][0] <= now + 1e-9:
            t, _, port, generation = heapq.heappop(self._wakes)
            caller = self._on_trunk[port]
            if generation != self._generation[port] or not self._listening(caller) or \
                    t <= self._heard_at[port] + 1e-9:
                continue
            level, agent = self._heard(port, caller, t)
            self._hear(port, caller, t, level, agent)

    def next_due(self):
        """The earliest time the board has something to do (inf: nothing until told)."""
        if self._now is None:
            return 0.0
        due = [self._agents_due]
        if self._deferred_events:
            due.append(self._now + BLOCK_SECONDS)
        if self._next_arrival is not None:
            due.append(self._next_arrival)
        while self._callers_due and self._callers_due[0][3] is not \
                self._on_trunk[self._callers_due[0][2]]:
            heapq.heappop(self._callers_due)
        for heap in (self._callers_due, self._keys, self._busy, self._wakes):
            if heap:
                due.append(heap[0][0])
        return min(due)

    # -- the base board's people, with due times kept -----------------------------------

    def answer(self, port):
        super().answer(port)
        self._caller_due(port)

    def ring(self, port, cadence=CN_STATION_RING):
        super().ring(port, cadence)
        self._agent_due(port)

    def stop_ring(self, port):
        super().stop_ring(port)
        self._agent_due(port)

    def _start(self, now):
        super()._start(now)
        for port in self._agents:
            self._agent_due(port)

    def _advance_agents(self, now, events):
        while self._agents_heap and self._agents_heap[0][0] <= now + 1e-9:
            _, _, port = heapq.heappop(self._agents_heap)
            agent = self._agents[port]
            if agent.due <= now:
                events += agent.advance(now)
                if agent.off_hook:
                    self._station_ringing[port - self.trunks] = False  # answering stops it
                self._agent_due(port)
        self._agents_due = self._agents_heap[0][0] if self._agents_heap else math.inf

    def _agent_due(self, port):
        agent = self._agents.get(port)
        if agent is not None and agent.due < math.inf:
            self._seq += 1
            heapq.heappush(self._agents_heap, (agent.due, self._seq, port))
            self._agents_due = min(self._agents_due, agent.due)

    def _arrive(self, time):
        super()._arrive(time)
        caller = self._callers[-1]
        if caller.port is not None:
            self._caller_due(caller.port)

    def _after_caller_moved(self, port, caller, events):
        cleared = self._cleared[port]
        super()._after_caller_moved(port, caller, events)
        if self._cleared[port] and not cleared:
            heapq.heappush(self._busy, (caller.ended + BUSY_HEARD_S, port))

    def _advance_callers(self, now, events):
        while self._callers_due and self._callers_due[0][0] <= now + 1e-9:
            _, _, port, caller = heapq.heappop(self._callers_due)
            if caller is self._on_trunk[port]:
                events += caller.advance(now)
                self._after_caller_moved(port, caller, events)
                self._caller_due(port)
                if self._listening(caller):
                    self._wake_check(port, caller, now)

    def _caller_due(self, port):
        caller = self._on_trunk[port]
        if caller is not None and caller.due < math.inf:
            self._seq += 1
            heapq.heappush(self._callers_due, (caller.due, self._seq, port, caller))

    # -- inside ----------------------------------------------------------------------------

    def _take_keys(self):
        """Each person's keys of this tick (one press of one or more keys) to the heap."""
        pressed_now = {}
        for entry in self._keys_to:
            pressed_now.setdefault(id(entry[4]), []).append(entry)
        self._keys_to.clear()
        for entries in pressed_now.values():
            groups = [[entries[0]]]
            for entry in entries[1:]:
                if len(groups) == 1 or entry[0] - groups[-1][0][0] > KEY_GROUP_S:
                    groups.append([])
                groups[-1].append(entry)
            for group in groups:
                for released, pressed, key, port, person in group:
                    self._seq += 1
                    heapq.heappush(self._keys, (group[-1][0], self._seq, released, pressed, key,
                                                port, person))

    @staticmethod
    def _listening(caller):
        return caller is not None and not caller.ringing and not caller.off_line

    def _heard(self, port, caller, t):
        """(level dBm0, agent port or None) of what the caller hears in the block at `t`."""
        hear_dbm0 = self.scenario.listening.hear_dbm0
        voice = self._voice_of.get(port)
        if voice is not None:
            return hear_dbm0, (voice if caller.wants_agent else None)
        for first, last in self._runs.get(port, ()):
            if first - 1e-9 <= t <= last + 1e-9:
                return hear_dbm0, None
        return -math.inf, None

    def _hear(self, port, caller, t, level, agent):
        caller.hear(t, level, agent)
        self._heard_at[port] = t
        self._after_caller_moved(port, caller, self._deferred_events)
        self._caller_due(port)
        if self._listening(caller):
            self._wake_check(port, caller, t)

    def _wake_check(self, port, caller, now):
        check = caller.next_hearing_check(now)
        if check is None:
            return
        t = max(_grid(check), _grid(now + BLOCK_SECONDS))
        # Inside sound, the run's own wakes (or the change that ends it) come first.
        if self._heard(port, caller, t)[0] == -math.inf:
            self._wake(t, port)

    def _wake(self, t, port):
        self._seq += 1
        heapq.heappush(self._wakes, (t, self._seq, port, self._generation[port]))

    def _sound_runs(self, sending):
        """[(first, last)]: loop times of the first and last loud block of each run of sound
        in `sending` (prompts and a tone), runs less than ONSET_QUIET_S apart joined."""
        runs = []  # (from, first sample, last sample)
        start = -sending.offset  # samples from the sequence's start to this array's
        for array in sending.prompts:
            for first, last in self._loud_samples(array, sending.gain_db):
                if start + last > 0:
                    runs.append((sending.prompts_from, max(start + first, 0), start + last))
            start += len(array)
        tone = sending.tone
        if tone is not None:
            if not tone.cadence or sending.tone_repeat:
                runs.append((sending.tone_from, 0, math.inf))
            else:
                at = 0
                for k, ms in enumerate(tone.cadence):
                    samples = round(ms * RATE / 1000)
                    if k % 2 == 0:
                        runs.append((sending.tone_from, at, at + samples - 1))
                    at += samples
        blocks = []
        for a, b in sorted(
                (round(t + first // BLOCK_SAMPLES * BLOCK_SECONDS, 6),
                 round(t + last // BLOCK_SAMPLES * BLOCK_SECONDS, 6) if last < math.inf
                 else math.inf)
                for t, first, last in runs):
            if b < sending.since:
                continue
            a = max(a, sending.since)
            if blocks and a - blocks[-1][1] <= ONSET_QUIET_S + 1e-9:
                blocks[-1] = (blocks[-1][0], max(blocks[-1][1], b))
            else:
                blocks.append((a, b))
        return blocks

    def _loud_samples(self, array, gain_db):
        """[(first, last)] sample indices of the runs of 20 ms blocks of `array` a caller
        hears as sound (cached while the array lives: prompts are the store's arrays, played
        again and again, and a store may let one go)."""
        key = (id(array), gain_db)
        cached = self._prompt_runs.get(key)
        if cached is not None:
            return cached
        n = len(array) // BLOCK_SAMPLES * BLOCK_SAMPLES
        blocks = np.asarray(array[:n]).reshape(-1, BLOCK_SAMPLES)
        if len(array) > n:
            tail = np.zeros((1, BLOCK_SAMPLES), dtype=np.int16)
            tail[0, : len(array) - n] = array[n:]
            blocks = np.concatenate([blocks, tail])
        loud = block_levels(blocks) + gain_db >= self.scenario.listening.hear_dbm0
        edges = np.flatnonzero(np.diff(np.concatenate([[0], loud.astype(np.int8), [0]])))
        runs = [(int(a) * BLOCK_SAMPLES, min(int(b) * BLOCK_SAMPLES, len(array)) - 1)
                for a, b in zip(edges[::2], edges[1::2], strict=True)]
        self._prompt_runs[key] = runs
        weakref.finalize(array, self._prompt_runs.pop, key, None)
        return runs
