"""A virtual caller on a simulated trunk: rings, listens like a person, presses real keys.

Theory of operation. A caller is created when the scenario's arrival process says a call
comes in on a free trunk. It rings with the Chinese cadence (1 s on / 4 s off) and its caller
ID arrives between the first and second ring, when the FSK burst would have ended. It gives up
ringing after its ring patience. Once answered it follows its script (the language prelude,
then its goal's steps) by ear:

- It hears the appliance's audio as a level per 20 ms block. Sound after a quiet spell is a
  prompt's onset; ``turn_silence_s`` of quiet after sound is the end of the prompt: its turn.
- A keys step is done at a turn that follows a prompt it has not yet answered: after a think
  time it presses the keys (real DTMF audio in what it sends). Per attempt it may stay silent,
  mistype (one key wrong), or barge in early (press during the prompt). A silent or wrong
  attempt is retried at the next prompt's turn; after ``max_attempts`` it gives up.
- ``listen`` lets one prompt play out; ``hang_up`` hangs up; ``wait_agent`` waits in the queue
  with its queue patience until it hears a live agent (the board tells it which blocks carry
  an agent's voice; AGENT_VOICE_BLOCKS of them in a run, quiet blocks aside, make it sure),
  then talks until the agent has been quiet for AGENT_GONE_S.
- ``callback`` waits in the queue like ``wait_agent``, and at its first turn there (the end of
  an announcement), or after ``callers.callback.ask_after_s`` if nothing is said, presses the
  call back key, hears the confirmation and hangs up (or is hung up on). It then waits off
  the line: each call back that reaches its phone finds it busy, unanswered, or answered
  after a few rings (``respond_to_callback``); answered, it says hello and waits for the
  agent's voice as in the queue.
- After the script or the talk, it answers a survey prompt (one key) if it chooses to, and
  hangs up after ``done_silence_s`` of silence. The IVR patience covers the time before the
  queue; running out of it hangs up.

The caller owns its timers (a small heap) and its outgoing audio; the board calls
``advance(now)`` every tick, ``render()`` for every block it reads and ``hear()`` for every
block the appliance writes. Everything random comes from the caller's own generator.

Event mode (``keys_to``, a list the board's ``EventSimBoard`` owns): the caller presses the
same keys at the same times, drawn the same way, but appends them there as (released,
pressed, key, port, caller) instead of sending DTMF audio; ``render`` is not used, and keys
released after the caller left the line were never heard (the board drops them). The board
then calls ``hear()`` only on the blocks that can change what the caller does: where what it hears
changes, and the quiet block ``next_hearing_check(now)`` names (a turn, the agent gone, the
silence after which it hangs up).
"""

import bisect
import enum
import heapq
import itertools
import string
from dataclasses import dataclass

import numpy as np

from branchline.hw.ports import (
    ABSENT_PRIVATE,
    ABSENT_UNAVAILABLE,
    BLOCK_SECONDS,
    CallerId,
    Ring,
    RingOff,
)
from branchline.hw.sim.audio import (
    LONGEST_PAUSE_S,
    Voice,
    key_audio,
    key_presses,
    key_timings,
    next_block,
)

__all__ = [
    "AGENT_GONE_S", "AGENT_VOICE_BLOCKS", "CallOutcome", "CallerRecord", "KeyPress",
    "VirtualCaller",
]

# China ring cadence from the exchange: 1 s on / 4 s off (TELEPHONY.md, GB 3380).
RING_ON_S, RING_OFF_S = 1.0, 4.0
# Bell 202 caller ID starts at least 0.5 s after the first ring ends; the burst is a channel
# seizure of 300 alternating bits, 180 mark bits (150 ms) and the message, 10 bits a byte at
# 1200 bit/s (TELEPHONY.md).
CID_DELAY_S = 0.5
CID_BITS_PER_S = 1200
AGENT_GONE_S = 2 * LONGEST_PAUSE_S + 0.6
# Blocks of an agent's voice (quiet ones between do not count or break the run) before a
# waiting caller believes a person is on the line: one block could be chance (hw/sim/board.py).
AGENT_VOICE_BLOCKS = 3


class CallOutcome(enum.Enum):
    BLOCKED = "blocked"  # every trunk was busy
    ABANDONED_RINGING = "abandoned_ringing"
    ABANDONED_IVR = "abandoned_ivr"  # IVR patience ran out
    GAVE_UP = "gave_up"  # too many attempts at one step
    ABANDONED_QUEUE = "abandoned_queue"
    HUNG_UP_DONE = "hung_up_done"  # the caller finished and hung up
    RELEASED = "released"  # the appliance hung up first
    CALLBACK_PENDING = "callback_pending"  # asked for a call back, not (yet) called back
    LINE_LOST = "line_lost"  # the line went out of service under the call


@dataclass(frozen=True, slots=True)
class KeyPress:
    """Keys a caller pressed: at `time`, 'ok', 'wrong' (mistyped) or 'survey'; `early` if it
    barged in during a prompt."""

    time: float
    keys: str
    kind: str
    early: bool = False


@dataclass(frozen=True, slots=True)
class CallerRecord:
    """What happened to one virtual caller (times are board times)."""

    id: int
    port: int | None
    number: str
    vip: bool
    language: str
    goal: str
    arrived: float
    answered: float | None
    connected: float | None
    agent_port: int | None
    ended: float | None
    outcome: CallOutcome | None
    keys: tuple[KeyPress, ...]
    silent_turns: int
    survey_score: int | None
    callback_asked: float | None = None  # when it pressed the call back key
    callback_attempts: int = 0  # call backs that reached its phone (busy, unanswered or not)
    called_back: float | None = None  # when it answered a call back


class _State(enum.Enum):
    RINGING = "ringing"
    IVR = "ivr"
    WAITING = "waiting"
    TALKING = "talking"
    AFTER = "after"  # script or talk done: survey, then hang up
    ASKED = "asked"  # pressed the call back key: hears the confirmation, then hangs up
    AWAITING = "awaiting"  # off the line, waiting to be called back
    GREETING = "greeting"  # answered a call back: says hello, then waits for the agent
    GONE = "gone"


@dataclass(frozen=True, slots=True)
class _Step:
    action: str  # keys / listen / wait_agent / hang_up / callback
    keys: str
    early: float
    wrong: float
    silent: float


def _mistype(rng, keys):
    i = int(rng.integers(len(keys)))
    others = [k for k in string.digits if k != keys[i]]
    return keys[:i] + others[int(rng.integers(len(others)))] + keys[i + 1:]


def _cid_seconds(number):
    # MDMF: type, length, date/time (2 + 8), number (2 + digits), checksum.
    message_bytes = 2 + 10 + 2 + len(number or "") + 1
    return (300 + 180 + 10 * message_bytes) / CID_BITS_PER_S


class VirtualCaller:
    """One caller; see the module docstring. `rng` is its own numpy Generator."""

    def __init__(self, ident, scenario, rng, voice_signal, arrived, *, keys_to=None):
        self.id = ident
        self.scenario = scenario
        self.rng = rng
        self.port = None
        self.arrived = arrived
        callers = scenario.callers
        self.vip = bool(rng.random() < callers.vip.share)
        self.language = self._pick({k: v.share for k, v in callers.languages.items()})
        self.goal = self._pick({k: v.share for k, v in callers.goals.items()})
        accounts = callers.goals[self.goal].accounts or callers.accounts
        account = accounts[int(rng.integers(len(accounts)))]
        if self.vip:
            self.number = callers.vip.numbers[int(rng.integers(len(callers.vip.numbers)))]
        else:
            self.number = "1" + str(int(rng.choice([3, 5, 8]))) + "".join(
                str(d) for d in rng.integers(0, 10, 9))
        u = rng.random()
        self.cid_absent = None
        if not self.vip and u < callers.caller_id.private_share:
            self.cid_absent = ABSENT_PRIVATE
        elif not self.vip and u < callers.caller_id.private_share + \
                callers.caller_id.unavailable_share:
            self.cid_absent = ABSENT_UNAVAILABLE
        fill = {"language_key": callers.languages[self.language].key, "card": account.card,
                "pin": account.pin}
        keypad = scenario.keypad
        self._steps = [
            _Step(
                "keys" if s.keys else "listen" if s.listen else
                "wait_agent" if s.wait_agent else "callback" if s.callback else "hang_up",
                (s.keys or s.callback or "").format(**fill),
                keypad.early if s.early is None else s.early,
                keypad.wrong if s.wrong is None else s.wrong,
                keypad.silent if s.silent is None else s.silent,
            )
            for s in (*callers.prelude, *callers.goals[self.goal].steps)
        ]
        self.level_dbm0 = keypad.level_dbm0.sample(rng)
        self.twist_db = keypad.twist_db.sample(rng)
        self.ring_patience = callers.ring_patience.sample(rng)
        self.ivr_patience = callers.ivr_patience.sample(rng)
        self.queue_patience = callers.queue_patience.sample(rng)
        self.voice = Voice(voice_signal, int(rng.integers(len(voice_signal))),
                           scenario.talk_dbm0)
        self.state = _State.RINGING
        self.rings = 0
        self.ring_on = False
        self.answered = self.connected = self.ended = None
        self.agent_port = None
        self.outcome = None
        self.keys = []
        self.silent_turns = 0
        self.survey_score = None
        self._timers = []
        self._seq = 0
        self._generation = {}  # timer name -> live generation (lazy deletion)
        self._step = 0
        self._attempts = 0
        self._pending = False  # a press is scheduled
        self._out = np.zeros(0, dtype=np.int16)  # key audio still to send
        # Event mode: where keys go instead of audio, and when the last one's pause ends
        # (the keys are still "sounding" until then).
        self._keys_to = keys_to
        self._keys_end = -1e9
        self._in_prompt = False
        self._last_sound = -1e9
        self._last_onset = -1e9
        self._acted_at = -1e9  # prompts that began before this have been answered
        self._last_agent = -1e9
        self._other_blocks = 0
        self.callback_asked = self.called_back = None
        self.callback_attempts = 0
        self._voice_from = None  # the agent whose voice a run of blocks carried
        self._voice_run = 0
        self._voice_since = None

    # -- bookkeeping ---------------------------------------------------------------------

    def _pick(self, shares):
        # What rng.choice(n, p=shares / total) draws, one uniform number and the same float
        # steps, without its checks of p (six times the cost of the draw itself).
        total = sum(shares.values())
        cumulative = list(itertools.accumulate(w / total for w in shares.values()))
        last = cumulative[-1]
        index = bisect.bisect_right([c / last for c in cumulative], self.rng.random())
        return list(shares)[index]

    def _at(self, time, name, *args):
        self._seq += 1
        self._generation[name] = self._seq
        heapq.heappush(self._timers, (time, self._seq, name, args))

    def _cancel(self, name):
        self._generation.pop(name, None)

    @property
    def gone(self):
        return self.state is _State.GONE

    @property
    def off_line(self):
        """Gone for good, or hung up to wait for a call back."""
        return self.state in (_State.GONE, _State.AWAITING)

    @property
    def awaiting_callback(self):
        return self.state is _State.AWAITING

    @property
    def ringing(self):
        return self.state is _State.RINGING

    @property
    def due(self):
        """The time of the caller's next timer (inf when none)."""
        return self._timers[0][0] if self._timers else float("inf")

    @property
    def wants_agent(self):
        return self.state in (_State.WAITING, _State.TALKING)

    def record(self):
        return CallerRecord(
            self.id, self.port, self.number, self.vip, self.language, self.goal,
            self.arrived, self.answered, self.connected, self.agent_port, self.ended,
            self.outcome, tuple(self.keys), self.silent_turns, self.survey_score,
            self.callback_asked, self.callback_attempts, self.called_back,
        )

    # -- driven by the board -------------------------------------------------------------

    def start_ringing(self, port):
        self.port = port
        self._at(self.arrived, "ring_on")
        self._at(self.arrived + self.ring_patience, "abandon_ringing")

    def blocked(self):
        self._finish(self.arrived, CallOutcome.BLOCKED)

    def advance(self, now):
        """Run the timers due by `now`; return the port events they made."""
        events = []
        while self._timers and self._timers[0][0] <= now:
            time, seq, name, args = heapq.heappop(self._timers)
            if self._generation.get(name) != seq or self.gone:
                continue
            del self._generation[name]
            getattr(self, "_on_" + name)(time, events, *args)
        return events

    def answer(self, now):
        """The appliance took the line off hook."""
        self.state = _State.IVR
        self.answered = now
        self.ring_on = False
        for name in ("ring_on", "ring_off", "cid", "abandon_ringing"):
            self._cancel(name)
        self._at(now + self.ivr_patience, "ivr_patience")
        self._acted_at = now
        self._begin_step(now)

    def release(self, now):
        """The appliance hung up on the caller."""
        if self.state is _State.ASKED:
            self._await_callback(now)
        elif not self.off_line:
            self._finish(now, CallOutcome.RELEASED)

    def line_lost(self, now):
        """The line went dead under the call (a port out of service)."""
        if not self.off_line:
            self._finish(now, CallOutcome.LINE_LOST)

    def respond_to_callback(self):
        """A call back rings this caller's phone: 'busy', 'no_answer', or the seconds of
        ringing before it is answered."""
        self.callback_attempts += 1
        answer = self.scenario.callers.callback
        u = self.rng.random()
        if u < answer.busy:
            return "busy"
        if u < answer.busy + answer.no_answer:
            return "no_answer"
        return answer.answer_delay.sample(self.rng)

    def call_back(self, now, port):
        """The caller picked up a call back on `port`: hello, then wait for the agent."""
        self.port = port
        self.state = _State.GREETING
        self.called_back = now
        self._timers.clear()
        self._generation.clear()
        self._in_prompt = False
        self._last_sound = now
        self._at(now + self.rng.uniform(0.6, 1.2), "greeted")

    def render(self):
        """The caller's next 160 samples (float64), or None while it says nothing."""
        talking = self.state in (_State.TALKING, _State.GREETING)
        out, self._out = next_block(self.voice if talking else None, self._out)
        return out

    def hear(self, now, level_dbm0, agent_port):
        """One block of the appliance's audio: its level, and which agent's voice it carries."""
        if self.state in (_State.RINGING, _State.GONE, _State.AWAITING, _State.GREETING):
            return
        if level_dbm0 >= self.scenario.listening.hear_dbm0:
            if not self._in_prompt:
                self._in_prompt = True
                if now - self._last_sound > 0.25:
                    self._last_onset = now
                    self._on_onset(now)
            self._last_sound = now
        elif self._in_prompt and now - self._last_sound >= \
                self.scenario.listening.turn_silence_s:
            self._in_prompt = False
            self._on_turn(now)
        if agent_port is not None and self.wants_agent:
            self._last_agent = now
            if self.state is _State.WAITING:
                self._agent_voice(now, agent_port)
        elif level_dbm0 >= self.scenario.listening.hear_dbm0:
            self._voice_run = 0
        if self.state is _State.TALKING:
            # Sound that is not the agent (a survey prompt, music) or a long silence: the
            # agent has gone. Three blocks of it, so a stray block cannot end the talk.
            other = agent_port is None and level_dbm0 >= self.scenario.listening.hear_dbm0
            self._other_blocks = self._other_blocks + 1 if other else 0
            if self._other_blocks >= 3 or now - self._last_agent > AGENT_GONE_S:
                self.state = _State.AFTER
                self._acted_at = self._last_agent
                if other:
                    self._last_onset = now - 0.04
        quiet = now - self._last_sound >= self.scenario.listening.done_silence_s
        if self.state in (_State.AFTER, _State.ASKED) and quiet and not (
                self._in_prompt or self._pending or self._sending(now)):
            if self.state is _State.ASKED:
                self._await_callback(now)
            else:
                self._finish(now, CallOutcome.HUNG_UP_DONE)

    def next_hearing_check(self, now):
        """The first block after `now` at which a quiet block could change what the caller
        does (a turn, the agent gone, hanging up when done); None if none can."""
        if self.state in (_State.RINGING, _State.GONE, _State.AWAITING, _State.GREETING):
            return None
        listening = self.scenario.listening
        times = []
        if self._in_prompt:
            times.append(self._last_sound + listening.turn_silence_s)
        if self.state is _State.TALKING:
            times.append(self._last_agent + AGENT_GONE_S + BLOCK_SECONDS)  # strictly more
        if self.state in (_State.AFTER, _State.ASKED) and not self._pending:
            times.append(max(self._last_sound + listening.done_silence_s, self._keys_end))
        later = [t for t in times if t > now]
        return min(later) if later else None

    def _sending(self, now):
        return self._out.size > 0 or now < self._keys_end

    def _agent_voice(self, now, agent_port):
        """One block of an agent's voice while waiting: a run of them means a person is on."""
        if agent_port != self._voice_from or not self._voice_run:
            self._voice_from, self._voice_run, self._voice_since = agent_port, 0, now
        self._voice_run += 1
        if self._voice_run >= AGENT_VOICE_BLOCKS:
            self.state = _State.TALKING
            self.connected = self._voice_since
            self.agent_port = agent_port
            self._cancel("queue_patience")

    # -- the script ----------------------------------------------------------------------

    def _begin_step(self, now):
        self._attempts = 0
        if self._step >= len(self._steps):
            self.state = _State.AFTER
            return
        step = self._steps[self._step]
        if step.action == "hang_up":
            after = max(now, self._acted_at)  # let the last keys finish sounding
            self._at(after + self.rng.uniform(0.3, 1.5), "hang_up", CallOutcome.HUNG_UP_DONE)
        elif step.action in ("wait_agent", "callback"):
            self.state = _State.WAITING
            self._cancel("ivr_patience")
            self._at(now + self.queue_patience, "queue_patience")
            if step.action == "callback":
                self._at(now + self.scenario.callers.callback.ask_after_s, "ask_callback")

    def _fresh_prompt(self):
        return self._last_onset >= self._acted_at

    def _on_onset(self, now):
        if self.state is not _State.IVR or self._pending or self._step >= len(self._steps):
            return
        step = self._steps[self._step]
        if step.action == "keys" and self.rng.random() < step.early:
            self._pending = True
            self._at(now + self.rng.uniform(0.5, 2.5), "press", True)

    def _on_turn(self, now):
        if self._pending or not self._fresh_prompt():
            return
        if self.state is _State.WAITING and self._wants_callback():
            self._acted_at = now
            self._pending = True
            self._at(now + self.scenario.keypad.think_s.sample(self.rng), "ask_callback")
            return
        if self.state is _State.AFTER:
            self._acted_at = now
            if self.answered is not None and self.connected is not None and \
                    self.survey_score is None and \
                    self.rng.random() < self.scenario.survey.answer_share:
                self._pending = True
                self._at(now + self.scenario.keypad.think_s.sample(self.rng), "survey")
            return
        if self.state is not _State.IVR or self._step >= len(self._steps):
            return
        step = self._steps[self._step]
        if step.action == "listen":
            self._acted_at = now
            self._step += 1
            self._begin_step(now)
        elif step.action == "keys":
            if self.rng.random() < step.silent:
                self._acted_at = now
                self.silent_turns += 1
                self._attempt_failed(now)
            else:
                self._pending = True
                self._at(now + self.scenario.keypad.think_s.sample(self.rng), "press", False)

    def _wants_callback(self):
        return self._step < len(self._steps) and self._steps[self._step].action == "callback"

    def _on_ask_callback(self, now, events):
        if self.state is not _State.WAITING or not self._wants_callback():
            return
        key = self._steps[self._step].keys
        self.keys.append(KeyPress(now, key, "callback"))
        self._send_keys(now, key)
        self.callback_asked = now
        self.state = _State.ASKED
        self._step += 1
        for name in ("queue_patience", "ask_callback"):
            self._cancel(name)

    def _await_callback(self, now):
        self.state = _State.AWAITING
        self.ended = now
        self.outcome = CallOutcome.CALLBACK_PENDING
        self._timers.clear()
        self._generation.clear()
        self._stop_keys()
        self._pending = False

    def _on_greeted(self, now, events):
        self.state = _State.WAITING
        self._voice_run = 0
        self._at(now + self.queue_patience, "queue_patience")

    def _attempt_failed(self, now):
        self._attempts += 1
        if self._attempts >= self.scenario.keypad.max_attempts:
            self._at(now + self.rng.uniform(0.5, 2.0), "hang_up", CallOutcome.GAVE_UP)

    def _send_keys(self, now, keys):
        if self._keys_to is not None:
            presses, self._keys_end = key_presses(
                max(now, self._keys_end), keys, key_timings(self.rng, keys, self.scenario.keypad))
            self._keys_to += [(up, down, key, self.port, self) for down, up, key in presses]
            self._pending = False
            self._acted_at = presses[-1][1]
            return
        audio = key_audio(self.rng, keys, self.level_dbm0, self.twist_db,
                          self.scenario.keypad)
        self._out = np.concatenate([self._out, audio])
        self._pending = False
        # Prompts that began before the last key was released were answered by these keys;
        # the silent gap after the last key is not part of the press, so a prompt the
        # appliance starts in it is a new prompt.
        sounding = np.flatnonzero(audio)
        released = self._out.size - audio.size + (sounding[-1] + 1 if sounding.size else 0)
        self._acted_at = now + released / 8000

    def _on_press(self, now, events, early):
        step = self._steps[self._step]
        keys, kind = step.keys, "ok"
        if self.rng.random() < step.wrong:
            keys, kind = _mistype(self.rng, keys), "wrong"
        self.keys.append(KeyPress(now, keys, kind, early))
        self._send_keys(now, keys)
        if kind == "ok":
            self._step += 1
            self._begin_step(now)
        else:
            self._attempt_failed(now)

    def _on_survey(self, now, events):
        weights = self.scenario.survey.scores
        score = list(weights)[int(self.rng.choice(
            len(weights), p=np.array(list(weights.values())) / sum(weights.values())))]
        self.survey_score = score
        self.keys.append(KeyPress(now, str(score), "survey"))
        self._send_keys(now, str(score))

    # -- timers --------------------------------------------------------------------------

    def _on_ring_on(self, now, events):
        self.rings += 1
        self.ring_on = True
        events.append(Ring(self.port, now, self.rings))
        self._at(now + RING_ON_S, "ring_off")

    def _on_ring_off(self, now, events):
        self.ring_on = False
        events.append(RingOff(self.port, now, self.rings))
        if self.rings == 1:
            number = None if self.cid_absent else self.number
            self._at(now + CID_DELAY_S + _cid_seconds(number), "cid")
        self._at(now + RING_OFF_S, "ring_on")

    def _on_cid(self, now, events):
        if self.cid_absent:
            events.append(CallerId(self.port, now, None, None, self.cid_absent,
                                   self.cid_absent))
        else:
            events.append(CallerId(self.port, now, self.number, None, None,
                                   ABSENT_UNAVAILABLE))

    def _on_abandon_ringing(self, now, events):
        if self.ring_on:
            events.append(RingOff(self.port, now, self.rings))
            self.ring_on = False
        self._finish(now, CallOutcome.ABANDONED_RINGING)

    def _on_ivr_patience(self, now, events):
        self._finish(now, CallOutcome.ABANDONED_IVR)

    def _on_queue_patience(self, now, events):
        self._finish(now, CallOutcome.ABANDONED_QUEUE)

    def _on_hang_up(self, now, events, outcome):
        self._finish(now, outcome)

    def _finish(self, now, outcome):
        self.state = _State.GONE
        self.ended = now
        self.outcome = outcome
        self._timers.clear()
        self._generation.clear()
        self._stop_keys()

    def _stop_keys(self):
        """Off the line: keys not yet sent are never heard."""
        self._out = np.zeros(0, dtype=np.int16)
        self._keys_end = -1e9
