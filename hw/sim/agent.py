"""A virtual agent at a simulated station: works a shift, keys codes, answers and talks.

Theory of operation. The agent's day is a list of keypad sessions at times from the scenario
(board times): at shift start (or at the day's start, if the shift began earlier) log in and
go ready, at each break go not-ready with the break's reason and ready again at its end, at
shift end log out. A keypad session is what a person does at the phone: off hook, a pause,
each code as real DTMF audio with a pause between codes, on hook. A session that falls due
while the agent is on a call, in another session or while the phone rings (lifting the
handset would answer the call) waits until the phone is free.

When the appliance rings the station, an agent who is logged in, not on a break and not
already off hook answers after the scenario's answer delay, unless this ring is one of the
``ring_no_answer`` share that nobody picks up. Answering is an off-hook event; the agent then
talks (a speech-like voice) for the handle time and hangs up (on-hook event). If the scenario
gives a wrap-up time, the agent keys the end-of-wrap-up code after it. ``stop_ring`` cancels a
pending answer.

A ring that ends unanswered while the agent is logged in and off break (one of the
``ring_no_answer`` share, a ring while busy, or a ring that stopped before the answer delay
ran out) makes the ACD put the agent not ready with reason "no answer"; the agent sees it on
the phone and keys the ready code after ``ready_again`` (a distribution, seconds). An agent who
hears busy tone while talking (the caller hung up, or a call back found no one) hangs up after
about two bursts of it. If the
ring stopped because the caller gave up, the ACD already made the agent ready again and the
extra ready code is accepted and ignored. The ready code is keyed only if the agent is still
logged in and off break when its session comes round.

Event mode (``keys_to``, a list the board owns): codes are appended there as (released,
pressed, key, port, agent) instead of sent as DTMF audio, with the same timing; the board
tells the agent when its phone starts playing a tone (``tone_started``) instead of playing
it, and a busy tone makes the agent hang up when the third burst would have been heard to
end.
"""

import heapq
from dataclasses import dataclass

import numpy as np

from branchline.hw.ports import BLOCK_SECONDS, OffHook, OnHook
from branchline.hw.sim.audio import Voice, key_audio, key_presses, key_timings, next_block

__all__ = ["AgentRecord", "VirtualAgent"]

# Keys from a desk phone on a short FXS loop arrive hot and with the phone's standard twist
# (high group about 2 dB above the low, as most telephone sets send).
AGENT_KEY_DBM0 = -8.0
AGENT_TWIST_DB = 2.0
# Busy tone is 0.35 s on / 0.35 s off (GB 3380): bursts of 12-25 blocks (0.24-0.5 s); after
# three of them the agent knows the line is dead and hangs up, as people do.
BUSY_BURST = (12, 25)
BUSY_BURSTS = 3


@dataclass(frozen=True, slots=True)
class AgentRecord:
    """What a virtual agent did: codes keyed (time, code), rings, answers, misses, calls."""

    id: str
    port: int
    codes: tuple[tuple[float, str], ...]
    rings: int
    answered: int
    missed: int
    calls_ended: int
    logged_in: bool


def _shift_sessions(spec, codes, day_start):
    """The keypad sessions of an agent's shift as (time of day, codes), none before
    `day_start`: the board's clock starts there, so whatever the shift did earlier is keyed
    at the day's start in one session (log in, then ready, or not ready if a break is on)."""
    shift = spec.shift
    if shift.end <= day_start:
        return []
    opening = [codes.login.format(agent_id=spec.id), codes.ready]
    sessions = []
    for b in shift.breaks:
        if b.end <= day_start:
            continue
        if b.start < day_start:
            opening[-1] = codes.not_ready.format(reason=b.reason)
        else:
            sessions.append((b.start, (codes.not_ready.format(reason=b.reason),)))
        sessions.append((b.end, (codes.ready,)))
    return [(max(shift.start, day_start), tuple(opening)), *sessions,
            (shift.end, (codes.logout,))]


class VirtualAgent:
    """One agent and its phone; see the module docstring."""

    def __init__(self, spec, scenario, rng, port, voice_signal, day_start_time, *,
                 keys_to=None):
        self.spec = spec
        self.scenario = scenario
        self.rng = rng
        self.port = port
        self.voice = Voice(voice_signal, int(rng.integers(len(voice_signal))),
                           scenario.agents.talk_dbm0)
        self.off_hook = False
        self.talking = False
        self.logged_in = False
        self.on_break = False
        self.in_session = False
        self.codes = []
        self.rings = self.answered = self.missed = self.calls_ended = 0
        self._ringing = False
        self._answer_timer = None
        self._ready_again = None  # the pending ready-after-a-missed-ring timer
        self._waiting = []  # (codes, ready_again) sessions due while the phone was busy
        self._tone_blocks = 0  # blocks of the tone burst heard now
        self._busy_bursts = 0  # busy tone bursts heard in a row
        self._hang_up_timer = None
        self._out = np.zeros(0, dtype=np.int16)
        self._keys_to = keys_to  # event mode: where keys go instead of audio
        self._timers = []
        self._seq = 0
        self._live = set()
        for tod, session in _shift_sessions(spec, scenario.agents.codes, scenario.day.start):
            self._schedule(day_start_time + tod - scenario.day.start, "session", session)

    def _schedule(self, time, name, *args):
        self._seq += 1
        self._live.add(self._seq)
        heapq.heappush(self._timers, (time, self._seq, name, args))
        return self._seq

    def record(self):
        return AgentRecord(self.spec.id, self.port, tuple(self.codes), self.rings,
                           self.answered, self.missed, self.calls_ended, self.logged_in)

    @property
    def busy(self):
        return self.off_hook or self.talking or self.in_session

    # -- driven by the board -------------------------------------------------------------

    def advance(self, now):
        events = []
        while self._timers and self._timers[0][0] <= now:
            time, seq, name, args = heapq.heappop(self._timers)
            if seq in self._live:
                self._live.discard(seq)
                getattr(self, "_on_" + name)(time, events, *args)
        return events

    def ring(self, now):
        if self._ringing:
            return
        self._ringing = True
        self.rings += 1
        if self.busy or not self.logged_in or self.on_break or \
                self.rng.random() < self.scenario.agents.ring_no_answer:
            self._answer_timer = None
            self.missed += 1
            return
        delay = self.scenario.agents.answer_delay.sample(self.rng)
        self._answer_timer = self._schedule(now + delay, "answer")

    def stop_ring(self, now):
        if self._ringing:
            if self._answer_timer is not None:
                self._live.discard(self._answer_timer)
                self.missed += 1
            if self.logged_in and not self.on_break:
                if self._ready_again is not None:
                    self._live.discard(self._ready_again)
                delay = self.scenario.agents.ready_again.sample(self.rng)
                self._ready_again = self._schedule(now + delay, "ready_again")
        self._ringing = False

    def render(self):
        out, self._out = next_block(self.voice if self.talking else None, self._out)
        return out

    @property
    def due(self):
        """The time of the agent's next timer (inf when none): the board skips it till then."""
        return self._timers[0][0] if self._timers else float("inf")

    @property
    def sounding(self):
        """True while the phone sends something (a voice, or keys still to go out)."""
        return self.talking or self._out.size > 0

    # -- timers --------------------------------------------------------------------------

    def _on_answer(self, now, events):
        self._ringing = False
        self.answered += 1
        self.off_hook = self.talking = True
        self._tone_blocks = self._busy_bursts = 0
        events.append(OffHook(self.port, now))
        self._hang_up_timer = self._schedule(
            now + self.scenario.agents.handle_time.sample(self.rng), "hang_up")

    def hear(self, now, tone, sound, events):
        """One block of what the phone plays while the agent talks: `tone` if it carries the
        exchange's 450 Hz, `sound` if anything is heard. Bursts of BUSY_BURST blocks are busy
        tone (the caller has gone, or a call back found no one): after BUSY_BURSTS of them the
        agent hangs up. Longer bursts (ringback, 1 s) and speech start the count again."""
        if tone:
            self._tone_blocks += 1
            return
        if self._tone_blocks:
            short = BUSY_BURST[0] <= self._tone_blocks <= BUSY_BURST[1]
            self._busy_bursts = self._busy_bursts + 1 if short else 0
            self._tone_blocks = 0
        elif sound:
            self._busy_bursts = 0
        if self._busy_bursts >= BUSY_BURSTS and self.talking:
            self._live.discard(self._hang_up_timer)
            self._on_hang_up(now, events)

    def tone_started(self, now, on_s, off_s):
        """Event mode: the phone started playing a tone of `on_s` bursts and `off_s` pauses
        (0 for a steady tone). A busy tone heard while talking makes the agent hang up where
        ``hear`` would: one block after the end of the BUSY_BURSTS-th burst."""
        bursts = BUSY_BURST[0] * BLOCK_SECONDS <= on_s <= BUSY_BURST[1] * BLOCK_SECONDS
        if self.talking and off_s and bursts:
            self._live.discard(self._hang_up_timer)
            self._hang_up_timer = self._schedule(
                now + BUSY_BURSTS * on_s + (BUSY_BURSTS - 1) * off_s + BLOCK_SECONDS,
                "hang_up")

    def _on_hang_up(self, now, events):
        self.off_hook = self.talking = False
        self.calls_ended += 1
        events.append(OnHook(self.port, now))
        wrapup = self.scenario.agents.wrapup
        if wrapup is not None:
            self.in_session = True  # the wrap-up belongs to the call: nothing starts before
            self._schedule(now + wrapup.sample(self.rng), "wrapup_done")
        else:
            self._run_waiting(now, events)

    def _on_wrapup_done(self, now, events):
        self.in_session = False
        self._on_session(now, events, (self.scenario.agents.codes.end_wrapup,))

    def _on_ready_again(self, now, events):
        self._ready_again = None
        self._on_session(now, events, (self.scenario.agents.codes.ready,), True)

    def _on_session(self, now, events, codes, ready_again=False):
        if ready_again and not (self.logged_in and not self.on_break):
            return  # logged out or on a break meanwhile: ready would be wrong now
        if self.busy or self._ringing:
            self._waiting.append((codes, ready_again))
            return
        self.in_session = True
        self.off_hook = True
        events.append(OffHook(self.port, now))
        self._schedule(now + self.rng.uniform(1.0, 2.0), "key", codes)

    def _on_key(self, now, events, codes):
        code, rest = codes[0], codes[1:]
        self.codes.append((now, code))
        self._apply(code)
        if self._keys_to is not None:
            presses, done = key_presses(now, code, key_timings(self.rng, code,
                                                               self.scenario.keypad))
            self._keys_to += [(up, down, key, self.port, self) for down, up, key in presses]
        else:
            audio = key_audio(self.rng, code, AGENT_KEY_DBM0, AGENT_TWIST_DB,
                              self.scenario.keypad)
            self._out = np.concatenate([self._out, audio])
            done = now + audio.size / 8000
        if rest:
            self._schedule(done + self.rng.uniform(0.8, 1.5), "key", rest)
        else:
            self._schedule(done + self.rng.uniform(0.3, 0.8), "session_end")

    def _on_session_end(self, now, events):
        self.in_session = False
        self.off_hook = False
        events.append(OnHook(self.port, now))
        self._run_waiting(now, events)

    def _run_waiting(self, now, events):
        if self._waiting:
            self._on_session(now, events, *self._waiting.pop(0))

    def _apply(self, code):
        codes = self.scenario.agents.codes
        if code == codes.login.format(agent_id=self.spec.id):
            self.logged_in = True
        elif code == codes.logout:
            self.logged_in = False
        elif code == codes.ready:
            self.on_break = False
        elif code.startswith(codes.not_ready.split("{")[0]):
            self.on_break = True
