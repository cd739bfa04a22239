"""Calling back: the ACD's ``Callback`` decision dialled out on an analog or SIP line.

``Dialer(app)`` carries out every ``Callback(call_id, agent_id, number)``; each attempt is a
``CallbackCall``. The agent is reserved by the ACD when the decision comes; the attempt goes
**agent first** (a preview call back: the customer never answers into silence):

1. The agent's station rings (``ring_timeout_s`` of the call's queue). Off hook, the agent
   hears the whisper ``callback.whisper`` + the number's digits, if the document has that
   prompt, while the line is prepared.
2. The line: the highest-numbered idle trunk (the exchange hunts inbound calls from the lowest,
   so dialling from the top keeps glare rare) that has no call, is not ringing, not being
   dialled on, in service, and can reach the number: a board with ``can_dial`` (SIP) says
   whether it can (a trunk to send the INVITE to, the outbound rule allowing the number), an
   analog line always can. A SIP channel dials by signalling: the number goes in the INVITE,
   its 200 is the answer (step 4), its failure a busy line. An analog line is seized with
   ``board.answer(port)``; the ``AnswerDetector`` waits for dial tone (0.4 s of it), or dials
   blind after ``DIAL_TONE_WAIT_S`` (3 s: lines without dial tone exist).
3. Dialling: the number as DTMF through the renderer, 100 ms tone / 100 ms pause per digit
   (ITU-T Q.24 asks for at least 40 ms of each), row tone -8 dBm0 and the column tone 2 dB
   above it, as telephone sets send (well inside Q.24's 0 to -25 dBm per tone and twist).
4. Answer detection on the line (``AnswerDetector``, phase "answer"); the agent hears the line
   meanwhile (ringback, busy). ``voice`` -> the caller and the agent are bridged, the leg is
   recorded (stereo, caller left, agent right) and the ACD told ``CallbackResult(answered=
   True)``. ``busy``, ``congestion``, ``unobtainable``, ``silence``, or no answer within
   ``NO_ANSWER_S`` -> the line is released, the agent hears busy tone until they hang up, and
   the ACD told ``CallbackResult(answered=False)`` (it frees the agent and retries as the
   queue's ``callback`` policy says). No free line, an agent who does not answer or hangs up
   before the answer, and a draining appliance are unanswered attempts too.
5. Connected, the leg ends like a queued call: the caller's hang-up (the line's hang-up tones,
   or ``FarEndHangup``) or the agent's; the agent's wrap-up follows.

Every attempt that rang the agent or seized a line ends in one ``CallRecord`` with call id
``<call id>-cb<attempt>`` (the original call's record, outcome ``callback``, was written when
the caller hung up): outcome ``answered`` with the agent, talk and wrap-up times, or
``callback`` with the reason (``callback_busy``, ``callback_no_answer``, ...), dialled = the
number, the leg's progress as its trace; on a SIP line, the media quality (loss, jitter, R,
MOS) as an inbound SIP call's record has it. The queue's KPIs count the call once: they come from
the ACD's log, where a call back is one call. An attempt the ACD's own guard ends
(``CancelOffer``) is released the same way without a second result.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from branchline.acd import CallbackResult, CallEnded
from branchline.dsp import CALL_PROGRESS_TONES, AnswerDetector, MixPath, dtmf_samples
from branchline.dsp.answer_detect import FAILURE_TONES
from branchline.firmware.ops.logs import call_context
from branchline.firmware.records.cdr import CallFacts, build_record, call_quality
from branchline.firmware.records.database import TraceStep
from branchline.firmware.records.recorder import recording_path
from branchline.hw.ports import PortKind
from branchline.ivr import say_digits

__all__ = ["DIAL_TONE_WAIT_S", "NO_ANSWER_S", "CallbackCall", "Dialer", "listen_for_hangup"]

log = logging.getLogger("branchline.callback")

DIAL_TONE_WAIT_S = 3.0
# About six China ring cycles (1 s on / 4 s off, GB 3380); with the agent's ring and the
# dialling it stays under the ACD's default 60 s guard (queues[].callback.dial_timeout_s).
NO_ANSWER_S = 30.0
DTMF_ON_MS = DTMF_OFF_MS = 100
DTMF_ROW_DBM0, DTMF_TWIST_DB = -8.0, -2.0
_TIMERS = ("agent_ring", "dial_tone", "no_answer")



def listen_for_hangup(app, port: int, document) -> None:
    """Set the loop's call-progress detector on ``port`` to the tones that mean its far end
    hung up: the line's (none on a SIP line unless listed: its BYE says it), or busy and
    congestion on an analog port with no line in the document."""
    signalled = app.board.ports[port].kind is PortKind.SIP
    line = document.line_for(app.board.ports[port].name)
    tones = (line.tones_for_hangup(signalled) if line is not None
             else () if signalled else ("busy", "congestion"))
    known = CALL_PROGRESS_TONES[document.site.country]
    app.loop.progress.set_detect(port, [t for t in tones if t in known])

@dataclass(slots=True)
class _Request:
    """What the original call left for its call back."""

    queue: str | None = None
    language: str = ""
    attempts: int = 0


@dataclass(slots=True)
class _Leg:
    started: float
    line: int | None = None
    answered: float | None = None
    talk_ended: float | None = None
    wrap_ended: float | None = None
    ended: float | None = None
    reason: str = ""
    caller_hung_up: bool = False
    ended_by_agent: bool = False
    trace: list = field(default_factory=list)
    recording: tuple[int, str] | None = None  # (recorder handle, path)
    recording_done: bool = False
    quality: object = None  # CallQuality of a SIP line, taken at its hang-up


class CallbackCall:
    """One call back attempt (see the module docstring)."""

    def __init__(self, dialer: Dialer, call_id: str, agent_id: str, number: str,
                 attempt: int, request: _Request, now: float):
        self.dialer = dialer
        self.app = dialer.app
        self.call_id = call_id  # the ACD's (the original call's) id
        self.leg_id = f"{call_id}-cb{attempt}"
        self.agent_id = agent_id
        self.number = number
        self.request = request
        self.config = self.app.config
        document = self.config.document
        agent = document.agent(agent_id)
        self.station = self.app._station_by_name.get(agent.station) if agent else None
        queue = next((q for q in document.acd.queues if q.name == request.queue), None)
        self.ring_timeout_s = queue.ring_timeout_s if queue else 15.0
        self.language = request.language or document.site.languages[0]
        self.phase = "ringing_agent"
        self.leg = _Leg(now)
        self.reported = False

    def __repr__(self) -> str:
        return f"CallbackCall({self.leg_id} {self.phase})"

    # --- state the appliance asks about ----------------------------------------------------

    @property
    def over(self) -> bool:
        return self.leg.ended is not None

    @property
    def waiting_for_wrap_up(self) -> str | None:
        leg = self.leg
        if leg.answered is None or leg.wrap_ended is not None:
            return None
        return self.agent_id

    @property
    def records_audio(self) -> bool:
        return self.leg.recording is not None and not self.leg.recording_done

    def guard(self, now: float, step) -> None:
        """Run one step; an exception ends this attempt only (logged, line released)."""
        if self.over:
            return
        try:
            with call_context(self.leg_id):
                step()
        except Exception:
            log.exception("call back %s failed; ending it", self.leg_id)
            self.app.counters["call_errors"] += 1
            self._end(now, "error", answered=self.leg.answered is not None)

    def _trace(self, now: float, what: str, detail: str = "") -> None:
        self.leg.trace.append(TraceStep(now, what, "callback", detail))

    # --- 1. the agent ------------------------------------------------------------------------

    def start(self, now: float) -> None:
        if self.station is None:
            self._fail(now, "callback_no_station")
            return
        self._trace(now, "ring_agent", self.agent_id)
        self.station.ring_callback(self)
        self.app.loop.timers.schedule(now + self.ring_timeout_s, self, "agent_ring")

    def agent_answered(self, now: float) -> None:
        self.app.loop.timers.cancel(self, "agent_ring")
        self._trace(now, "agent_answered", self.agent_id)
        self._whisper()
        line = self.dialer.free_line(self.number)
        if line is None:
            self._fail(now, "callback_no_line")
            return
        self.leg.line = line
        self.dialer.lines[line] = self
        app = self.app
        dial = getattr(app.board, "dial", None)  # boards that dial by signalling have it
        if dial is not None and dial(line, self.number):
            self._dialled_by_signalling(line, now)
            return
        app.board.answer(line)
        app.loop.dtmf.reset(line)
        app.loop.progress.reset(line)
        app.loop.progress.set_detect(line, [])  # the attempt hears the line itself
        self.dialer.detector.watch(line, "dial")
        self.phase = "dial_tone"
        self._trace(now, "seize", app.board.ports[line].name)
        app.loop.timers.schedule(now + DIAL_TONE_WAIT_S, self, "dial_tone")

    def _dialled_by_signalling(self, line: int, now: float) -> None:
        """A SIP channel: the number went in the INVITE; its answer comes as FarEndAnswered
        and its failure as FarEndHangup, so no tone is listened for."""
        self.phase = "answer"
        self._trace(now, "dialled", self.app.board.ports[line].name)
        self.app.loop.dtmf.reset(line)
        self.app.loop.progress.reset(line)
        self.app.loop.progress.set_detect(line, [])
        self.app.loop.timers.schedule(now + NO_ANSWER_S, self, "no_answer")
        self._agent_hears_line()

    def _whisper(self) -> None:
        if "callback.whisper" not in self.config.document.prompts:
            return
        items = ["callback.whisper", *say_digits(self.number, self.language)]
        self.app.loop.renderer.play(self.station.port,
                                    self.app.prompts.render_items(items, self.language))

    def agent_hung_up(self, now: float) -> None:
        if self.leg.answered is None:
            self._fail(now, "callback_agent_hung_up")
            return
        self.leg.ended_by_agent = True
        self.leg.talk_ended = now
        self._end(now, "agent_hung_up", answered=True)

    # --- 2-4. the line -----------------------------------------------------------------------

    def heard(self, what: str, now: float) -> None:
        """What the AnswerDetector reported on the line."""
        if self.phase == "dial_tone" and what == "dial":
            self._trace(now, "dial_tone")
            self._dial(now)
        elif self.phase == "answer":
            self._trace(now, what)
            if what in ("voice", "answer_signal"):  # speech, or a polarity reversal
                self._connect(now)
            elif what in FAILURE_TONES or what == "silence":
                self._fail(now, f"callback_{'no_answer' if what == 'silence' else 'busy'}",
                           heard=what)

    def _dial(self, now: float) -> None:
        app, line = self.app, self.leg.line
        app.loop.timers.cancel(self, "dial_tone")
        self.dialer.detector.forget(line)
        self.phase = "dialling"
        digits = "".join(ch for ch in self.number if ch in "0123456789*#")
        app.loop.renderer.play(line, dtmf_samples(
            digits, level_dbm0=DTMF_ROW_DBM0, twist_db=DTMF_TWIST_DB, on_ms=DTMF_ON_MS,
            off_ms=DTMF_OFF_MS))

    def playback_ended(self, channel: int, now: float) -> None:
        if channel == self.leg.line and self.phase == "dialling":
            self.phase = "answer"
            self._trace(now, "dialled")
            self.dialer.detector.watch(channel, "answer")
            self.app.loop.timers.schedule(now + NO_ANSWER_S, self, "no_answer")
            self._agent_hears_line()
        elif channel == getattr(self.station, "port", None) and self.phase == "answer":
            self._agent_hears_line()

    def _agent_hears_line(self) -> None:
        loop, port = self.app.loop, self.station.port
        if not loop.renderer.playing(port):  # after the whisper
            loop.mixer.route(self, [MixPath(port, self.leg.line)])

    def timer(self, name: str, now: float) -> None:
        if name == "agent_ring":
            self.station.cancel_callback()
            self._fail(now, "callback_agent_no_answer")
        elif name == "dial_tone":
            self._trace(now, "blind_dial")
            self._dial(now)
        elif name == "no_answer":
            self._fail(now, "callback_no_answer", heard="no answer")

    def _connect(self, now: float) -> None:
        app, line, leg = self.app, self.leg.line, self.leg
        app.loop.timers.cancel(self, "no_answer")
        self.dialer.detector.forget(line)
        self.phase = "talking"
        leg.answered = now
        app.loop.renderer.stop(self.station.port)
        app.loop.mixer.route(self, [MixPath(line, self.station.port),
                                    MixPath(self.station.port, line)])
        app.loop.progress.reset(line)
        listen_for_hangup(app, line, self.config.document)
        path = recording_path(self.leg_id, app.clock.wall(leg.started))
        leg.recording = (app.recorder.open(path, channels=2), path)
        log.info("call back %s answered: agent %s talking to %s", self.leg_id, self.agent_id,
                 self.number)
        self._report(now, answered=True)

    def caller_gone(self, now: float, how: str) -> None:
        """A hang-up tone on the line, or the line's own clear signal, once connected; before
        the answer, a call dialled by signalling that failed (busy, refused)."""
        if self.phase == "answer" and how == "far_end_hangup":
            self._fail(now, "callback_busy", heard=how)
            return
        if self.phase != "talking":
            return
        self.leg.caller_hung_up = True
        self.leg.talk_ended = now
        self._end(now, f"caller_hung_up:{how}", answered=True)
        self.app.station_caller_gone(self.station.port, now)

    def record_frame(self, rx: np.ndarray) -> None:
        handle, _ = self.leg.recording
        frame = np.empty((rx.shape[1], 2), dtype=np.int16)
        frame[:, 0] = rx[self.leg.line]
        frame[:, 1] = self.app.loop.mixer.mixed[self.leg.line]  # what the caller heard
        self.app.recorder.write(handle, frame)

    # --- ending ------------------------------------------------------------------------------

    def cancel(self, now: float) -> None:
        """The ACD's guard gave up on this attempt (it has already counted it unanswered)."""
        self.reported = True
        if self.station is not None and self.phase == "ringing_agent":
            self.station.cancel_callback()
        self._fail(now, "callback_timeout")

    def release(self, now: float, reason: str) -> None:
        """End now (shutdown, the line lost): a connected leg ends as if the agent left."""
        if self.over:
            return
        if self.leg.answered is not None:
            self.leg.talk_ended = now
            self._end(now, reason, answered=True)
            self.app.station_caller_gone(self.station.port, now)
        else:
            if self.station is not None and self.phase == "ringing_agent":
                self.station.cancel_callback()
            self._fail(now, reason)

    def _fail(self, now: float, reason: str, heard: str = "") -> None:
        log.info("call back %s to %s not answered (%s)", self.leg_id, self.number,
                 heard or reason)
        self._end(now, reason, answered=False)
        station = self.station
        if station is not None and station.call is self:
            station.caller_gone()  # busy tone until the agent hangs up
        self._report(now, answered=False)

    def _end(self, now: float, reason: str, *, answered: bool) -> None:
        if self.over:
            return
        app, leg = self.app, self.leg
        leg.ended, leg.reason = now, reason
        app.loop.timers.cancel_owner(self, _TIMERS)
        if leg.line is not None:
            self.dialer.detector.forget(leg.line)
            app.loop.renderer.stop(leg.line)
            app.loop.mixer.drop(self)  # the agent listening to the line, or the bridge
            if self.station is not None and (answered or self.station.call is self):
                app.loop.renderer.stop(self.station.port)  # the whisper
            app.board.hang_up(leg.line)
            leg.quality = call_quality(app.board, leg.line)
            self.dialer.lines.pop(leg.line, None)
        if leg.recording is not None and not leg.recording_done:
            leg.recording_done = True
            app.recorder.close(leg.recording[0])
        if answered:
            app.acd_event(CallEnded(self.call_id, by_caller=leg.caller_hung_up), now)
        self.phase = "ended"
        if self.waiting_for_wrap_up is None:
            self._write_record()

    def _report(self, now: float, *, answered: bool) -> None:
        if not self.reported:
            self.reported = True
            self.app.acd_event(CallbackResult(self.call_id, answered=answered), now)

    def wrap_up_ended(self, now: float) -> None:
        if self.leg.wrap_ended is None:
            self.leg.wrap_ended = now
        if self.over:
            self._write_record()

    def finish(self, now: float) -> None:
        """Write the record now (shutdown), whatever the wrap-up."""
        if self.over:
            self._write_record()

    def _write_record(self) -> None:
        if self.dialer.legs.pop(self.leg_id, None) is None:
            return
        self.dialer.done(self)
        leg, wall = self.leg, self.app.wall_epoch
        line = self.app.board.ports[leg.line].name if leg.line is not None else ""
        line_config = self.config.document.line_for(line) if line else None
        answered = leg.answered is not None
        self.app.submit_record(build_record(CallFacts(
            call_id=self.leg_id, caller=line_config.number if line_config else "",
            dialled=self.number, port=line, config_version=self.config.version,
            rang_at=wall(leg.started),
            answered_at=wall(leg.answered) if answered else None,
            ended_at=wall(leg.ended if leg.ended is not None else leg.started),
            language=self.language, traces=tuple(leg.trace), host={},
            queue=self.request.queue, priority_class=None,
            agent_id=self.agent_id if answered else None, wait_s=0.0,
            talk_s=_span(leg.answered, leg.talk_ended),
            wrap_s=_span(leg.talk_ended, leg.wrap_ended),
            survey=None, recording=leg.recording[1] if leg.recording else None,
            caller_hung_up=leg.caller_hung_up, ended_by_agent=leg.ended_by_agent,
            queued_at_end=False, queue_outcomes=("callback",), transferred=False,
            failed=leg.reason == "error", reason=leg.reason, message=False,
            quality=leg.quality,
        )))


class Dialer:
    """Every call back attempt of one appliance (see the module docstring)."""

    def __init__(self, app):
        self.app = app
        trunks = [p.index for p in app.board.ports if p.is_trunk]
        self.trunks = sorted(trunks, reverse=True)
        country = app.config.document.site.country
        self.detector = AnswerDetector(max(1, len(trunks)), tones=CALL_PROGRESS_TONES[country])
        self.lines: dict[int, CallbackCall] = {}  # trunk port -> the attempt dialling on it
        self.by_call: dict[str, CallbackCall] = {}  # the ACD's call id -> its live attempt
        self.legs: dict[str, CallbackCall] = {}  # leg id -> attempt, until its record
        self._requests: dict[str, _Request] = {}

    @property
    def active(self) -> int:
        return len(self.lines)

    def requested(self, call_id: str, queue: str, language: str) -> None:
        """The original call asked for a call back: remember what the leg should know."""
        self._requests[call_id] = _Request(queue, language)

    def owns(self, call_id: str) -> bool:
        return call_id in self.by_call

    def free_line(self, number: str) -> int | None:
        app = self.app
        can_dial = getattr(app.board, "can_dial", None)
        for port in self.trunks:
            if (port not in app.calls and port not in self.lines
                    and port not in app.out_of_service
                    and (can_dial is None or can_dial(port, number))):
                return port
        return None

    def callback(self, call_id: str, agent_id: str, number: str, now: float) -> None:
        """The ACD's Callback decision."""
        request = self._requests.setdefault(call_id, _Request())
        request.attempts += 1
        attempt = CallbackCall(self, call_id, agent_id, number, request.attempts, request, now)
        if self.app.draining:
            log.info("call back %s not dialled: the appliance is draining", attempt.leg_id)
            self.app.acd_event(CallbackResult(call_id, answered=False), now)
            return
        self.by_call[call_id] = attempt
        self.legs[attempt.leg_id] = attempt
        attempt.guard(now, lambda: attempt.start(now))

    def cancel(self, call_id: str, now: float) -> None:
        attempt = self.by_call.get(call_id)
        if attempt is not None:
            attempt.guard(now, lambda: attempt.cancel(now))

    def done(self, attempt: CallbackCall) -> None:
        if self.by_call.get(attempt.call_id) is attempt:
            del self.by_call[attempt.call_id]

    def left_queue(self, call_id: str) -> None:
        """The ACD is done with the call (answered by a call back, or every attempt failed):
        no attempt will follow, so what the original call left can go."""
        self._requests.pop(call_id, None)

    # --- what the loop hands over -------------------------------------------------------------

    def listen(self, rx: np.ndarray, now: float) -> None:
        """Run the answer detector over this block's rx (one call for every line watched)."""
        if not self.detector.watching:
            return
        for event in self.detector.process(rx):
            attempt = self.lines.get(event.channel)
            if attempt is not None:
                attempt.guard(now, lambda a=attempt, e=event: a.heard(e.what, now))

    def playback_ended(self, channels, now: float) -> None:
        for attempt in list(self.legs.values()):
            for channel in channels:
                if channel in (attempt.leg.line, getattr(attempt.station, "port", None)):
                    attempt.guard(now, lambda a=attempt, c=channel: a.playback_ended(c, now))

    def record_frames(self, rx: np.ndarray) -> None:
        for attempt in self.lines.values():
            if attempt.records_audio:
                attempt.record_frame(rx)

    def wrap_ups(self, agent_id: str, now: float) -> None:
        for attempt in list(self.legs.values()):
            if attempt.waiting_for_wrap_up == agent_id:
                attempt.wrap_up_ended(now)

    def close(self, now: float) -> None:
        for attempt in list(self.legs.values()):
            attempt.guard(now, lambda a=attempt: a.release(now, "shutdown"))
        for attempt in list(self.legs.values()):
            attempt.finish(now)


def _span(start: float | None, end: float | None) -> float:
    if start is None or end is None:
        return 0.0
    return max(0.0, end - start)
