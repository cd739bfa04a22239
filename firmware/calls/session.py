"""A call session: one trunk call from the first ring to its call record.

``CallSession(app, port, call_id, config, now)`` is made by the appliance on a trunk's first
``Ring``. It answers when the caller ID arrives (it comes between the first and second ring,
China: Bell 202 FSK) or, if none comes, when the second ring starts; then it runs an IVR
``Session`` on the flow the line's config names, with the config version current when the call
started (a call keeps that version to the end), and executes the session's actions:

``Play`` -> prompt audio from the prompt store -> ``TxRenderer.play``; ``PlaybackFinished``
when the renderer reports the end. ``StopPlayback`` -> ``TxRenderer.stop``. ``StartTimer`` /
``CancelTimer`` -> the loop's timer heap. ``HostRequest`` -> ``HostClient.submit`` (never
blocks); ``HostReplied`` when polled. ``Enqueue`` -> the ACD's ``CallArrived``; the ACD's
decisions come back through ``offered``, ``connected``, ``announce`` and ``left_queue``.
``RecordMessage`` -> a mono WAV of the caller. ``Transfer`` -> on a SIP channel, the caller
handed to the number by REFER or a bridged second call (firmware/calls/outside.py); on an
analog line traced, then the call ends (transfer by hook flash needs the hardware issue).
A ``Transfer(returns=True)`` (the node has ``on_failure``) that fails, or any on an analog
line, does not end the call: the IVR hears ``TransferOutcome`` and carries the caller on.
``HangUp`` -> trunk on hook.

A caller who hangs up at any moment (busy/congestion tone heard by ``CallProgressRx``, or the
line's ``FarEndHangup``) is ``caller_gone``: the ACD hears ``CallerLeft`` (queued) or
``CallEnded`` (talking), the IVR ``CallerHungUp``, the recording stops, the trunk goes on hook.

Every call ends in exactly one ``CallRecord`` (``call_cdr.build_record``). A call answered by
an agent waits for the agent's wrap-up to end before its record is written, so the record holds
the wrap-up time. An exception from an engine or from our own code for this call is logged
with the call id and ends this call cleanly with outcome ``error``; other calls go on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from branchline.acd import CallArrived, CallbackRequested, CallEnded, CallerLeft, LeaveReason
from branchline.firmware.calls import outside
from branchline.firmware.calls.callback import listen_for_hangup
from branchline.firmware.calls.control import CallControl
from branchline.firmware.ops.logs import call_context
from branchline.firmware.records.cdr import CallFacts, build_record, call_quality
from branchline.firmware.records.database import CallOpened
from branchline.firmware.records.recorder import recording_path
from branchline.hw.ports import PortKind
from branchline.ivr import (
    AgentCallEnded,
    CallerHungUp,
    CallStarted,
    CancelTimer,
    Digit,
    Enqueue,
    HangUp,
    HostReplied,
    HostRequest,
    MessageRecorded,
    Play,
    PlaybackFinished,
    QueueOutcome,
    RecordMessage,
    Session,
    StartTimer,
    StopPlayback,
    StopRecording,
    StoreSurvey,
    TimerFired,
    Trace,
    Transfer,
    say_number,
)

__all__ = ["CallSession", "ConfigInForce"]

log = logging.getLogger("branchline.calls")

# A ringing call whose next ring does not come within one China ring period (1 s on + 4 s off,
# GB 3380) plus a margin was abandoned before we answered.
RING_GONE_S = 6.0
_MESSAGE_TIMER = "__message"
_RING_TIMER = "__ring"
_QUEUE_OUTCOMES = {
    LeaveReason.TIMEOUT: "overflow",
    LeaveReason.FULL: "overflow",
    LeaveReason.NO_AGENTS: "overflow",
    LeaveReason.CLOSED: "closed",
    LeaveReason.CALLBACK: "callback",
    LeaveReason.CALLBACK_FAILED: "callback",
}


@dataclass(frozen=True, slots=True)
class ConfigInForce:
    """A published configuration version and its checked document."""

    version: int
    document: object  # branchline.config.document.loading.Document


@dataclass(slots=True)
class _Queueing:
    queue: str
    priority_class: str | None
    entered: float
    left: float | None = None
    agent_id: str | None = None
    station: int | None = None  # the agent's port once connected
    talk_started: float | None = None
    talk_ended: float | None = None
    wrap_ended: float | None = None
    ended_by_agent: bool = False
    ringing: bool = False
    bridged: bool = False  # the station's audio is ours: only then may we silence it


@dataclass(slots=True)
class _Recording:
    rec: int
    path: str
    started: float
    ended: bool = False


@dataclass(slots=True)
class _State:
    answered_at: float | None = None
    session: Session | None = None
    play_id: int | None = None  # the IVR's play on the line; None: ours (announcement) or none
    language: str = ""
    traces: list = field(default_factory=list)
    host: dict = field(default_factory=dict)
    host_pending: int = 0
    queueing: _Queueing | None = None
    in_acd: bool = False
    queue_outcomes: list = field(default_factory=list)
    recording: _Recording | None = None
    message: _Recording | None = None
    survey: int | None = None
    caller_hung_up: bool = False
    left_queue_hanging_up: bool = False
    ended_at: float | None = None
    end_reason: str = ""
    transferred: bool = False
    failed: bool = False
    written: bool = False
    quality: object = None  # CallQuality of a SIP call, taken at its hang-up
    queue_music: bool = False  # re-queued by a transfer: the hold music until an agent answers
    outside: object = None  # OutsideTransfer: the caller handed to an outside number


class CallSession:
    """One trunk call (see the module docstring)."""

    def __init__(self, app, port: int, call_id: str, config: ConfigInForce, now: float):
        self.app = app
        self.port = port
        self.call_id = call_id
        self.config = config
        self.document = config.document
        self.port_name = app.board.ports[port].name
        line = self.document.line_for(self.port_name)
        self.line = line
        self.rang_at = now
        self.caller = ""
        self.caller_absent = "none"  # until a caller ID says otherwise
        self.s = _State()
        self.control: CallControl | None = None  # once an agent answers
        app.loop.timers.schedule(now + RING_GONE_S, self, _RING_TIMER)

    def __repr__(self) -> str:
        return f"CallSession({self.call_id} on {self.port_name})"

    # --- state the appliance asks about ------------------------------------------------------

    @property
    def answered(self) -> bool:
        return self.s.answered_at is not None

    @property
    def over(self) -> bool:
        return self.s.ended_at is not None

    @property
    def host_pending(self) -> int:
        return self.s.host_pending

    # --- ringing and answering --------------------------------------------------------------

    def ring(self, count: int, now: float) -> None:
        if self.answered:
            return
        self.app.loop.timers.schedule(now + RING_GONE_S, self, _RING_TIMER)
        if count >= 2:
            self._answer(now)

    def caller_id(self, number: str | None, now: float, absent: str | None = None) -> None:
        self.caller = number or ""
        self.caller_absent = "" if self.caller else (absent or "O")
        if not self.answered:
            self._answer(now)

    def _answer(self, now: float) -> None:
        if self.app.draining:
            return  # let it ring: a draining appliance takes no new call
        app, port = self.app, self.port
        self.app.loop.timers.cancel(self, _RING_TIMER)
        app.board.answer(port)
        app.loop.dtmf.reset(port)
        app.loop.progress.reset(port)
        listen_for_hangup(app, port, self.document)
        self.s.answered_at = now
        flow_name = self.line.flow if self.line is not None else next(iter(self.document.flows))
        flow = self.document.flow(flow_name)
        self.s.language = flow.default_language
        dialled = self.line.number if self.line is not None else ""
        started = CallStarted(self.call_id, self.caller, dialled, self.port_name,
                              self.document.is_vip(self.caller), app.clock.wall(now),
                              self.caller_absent)
        log.info("call %s answered on %s from %s (config v%d)", self.call_id, self.port_name,
                 self.caller or "(no caller id)", self.config.version)
        # Durable at once: if the appliance dies before this call's record, the next start
        # still knows the call was up (firmware/records/reconcile.py).
        app.writer.submit(CallOpened(self.call_id, app.wall_epoch(self.rang_at),
                                     app.wall_epoch(now), self.caller, dialled,
                                     self.port_name, self.config.version))
        self.guard(now, lambda: self._start_session(flow, started, now))

    def _start_session(self, flow, started, now) -> None:
        self.s.session = Session(flow, started, now)
        self._execute(self.s.session.start(now), now)

    # --- events from the loop -----------------------------------------------------------------

    def guard(self, now: float, step) -> None:
        """Run one step of this call; an exception ends this call only (outcome 'error')."""
        if self.over:
            return
        try:
            with call_context(self.call_id):
                step()
        except Exception:
            log.exception("call %s failed; ending it", self.call_id)
            self.app.counters["call_errors"] += 1
            self.s.failed = True
            self._leave_acd(now, by_caller=True)
            self.release(now, "error")

    def feed(self, event, now: float) -> None:
        session = self.s.session
        if session is None or session.ended:
            return
        self.guard(now, lambda: self._execute(session.handle(event, now), now))

    def digit(self, key: str, now: float) -> None:
        if not self.answered:
            return
        q = self.s.queueing
        if self.s.in_acd and q is not None and q.talk_started is None:
            self._queue_key(key, now)
            return
        self.feed(Digit(key), now)

    def timer(self, name: str, now: float) -> None:
        if name == _RING_TIMER:
            if not self.answered:
                self._abandoned_ringing(now)
        elif name == _MESSAGE_TIMER:
            self._finish_message(now)
        else:
            self.feed(TimerFired(name), now)

    def playback_ended(self, now: float) -> None:
        if self.control is not None and self.control.playing_music:
            self.control.music_ended(now)
            return
        if self.s.queue_music and not self.over:
            self._queue_music()
            return
        play_id, self.s.play_id = self.s.play_id, None
        if play_id is not None:
            self.feed(PlaybackFinished(play_id), now)

    def host_replied(self, reply: HostReplied, endpoint: str, now: float) -> None:
        self.s.host_pending -= 1
        entry = {"status": reply.status}
        if reply.status in ("error", "failed") and "code" in reply.data:
            entry["code"] = str(reply.data["code"])
        self.s.host[endpoint] = entry
        self.feed(reply, now)

    def caller_gone(self, now: float, how: str) -> None:
        """The far end cleared (a hang-up tone or the line's own signal)."""
        if self.over:
            return
        log.info("call %s: caller hung up (%s)", self.call_id, how)
        self.s.caller_hung_up = True
        if not self.answered:
            self._abandoned_ringing(now)
            return
        self.guard(now, lambda: self._leave_acd(now, by_caller=True))
        if self.s.session is not None and not self.s.session.ended:
            self.feed(CallerHungUp(), now)
        if not self.over:
            self.release(now, "caller_hung_up")

    def line_lost(self, now: float, reason: str) -> None:
        """The trunk went out of service (board lost, line cut): end the call now. The record
        says ``line_lost:<reason>``; its outcome is ``answered`` if an agent had answered,
        else ``error`` (the call failed for a technical reason, not by anyone's choice)."""
        if self.over:
            return
        log.warning("call %s: line lost (%s)", self.call_id, reason)
        q = self.s.queueing
        if q is None or q.talk_started is None:
            self.s.failed = True
        if not self.answered:
            self.app.loop.timers.cancel(self, _RING_TIMER)
            self.s.ended_at, self.s.end_reason = now, f"line_lost:{reason}"
            self.app.call_over(self, now)
            self._write_record()
            return
        self.guard(now, lambda: self._leave_acd(now, by_caller=True))
        self.release(now, f"line_lost:{reason}")

    # --- the ACD's side ---------------------------------------------------------------------

    def offered(self, station: int, agent_id: str) -> None:
        q = self.s.queueing
        if q is not None:
            q.ringing, q.station, q.agent_id = True, station, agent_id

    def offer_withdrawn(self, station: int, now: float) -> None:
        control = self.control
        if control is not None and control.conv.colleague == station:
            control.colleague_withdrawn(now)  # a colleague rung for a transfer
        elif self.s.queueing is not None:
            self.s.queueing.ringing = False

    def connected(self, now: float) -> None:
        """An agent answered (again, after a transfer to a queue or one nobody answered:
        the call keeps its recording, its legs and its place in the IVR)."""
        q = self.s.queueing
        first = q.talk_started is None
        if first:
            q.talk_started = now
        q.ringing = False
        agent_id, station = q.agent_id, q.station
        app = self.app
        self.s.queue_music = False
        app.loop.renderer.stop(self.port)
        self.control = CallControl(self, station, agent_id, now, self.control)  # the mix
        q.bridged = True
        self.s.play_id = None
        if self.s.recording is None:
            path = recording_path(self.call_id, app.clock.wall(self.s.answered_at))
            self.s.recording = _Recording(app.recorder.open(path, channels=2), path, now)
            app.recording.add(self)
        log.info("call %s: agent %s answered at %s", self.call_id, agent_id,
                 app.board.ports[station].name)
        if first:
            self.feed(QueueOutcome("answered", agent_id), now)

    def agent_changed(self, station: int, agent_id: str | None) -> None:
        """Call control gave the caller to another phone: a colleague (an ACD agent, whose
        wrap-up the record then waits for) or a supervisor (``agent_id`` None)."""
        q = self.s.queueing
        q.station, q.agent_id = station, agent_id
        if agent_id is None:
            self.s.in_acd = False  # out of the ACD: the supervisor is no ACD agent

    def requeued(self, queue: str | None, now: float) -> None:
        """The call waits in a queue again (transferred to ``queue``, or to the same one when
        a blind transfer was not answered) until the ACD's next offer."""
        q = self.s.queueing
        if queue is not None:
            q.queue = queue
        q.station, q.agent_id, q.ringing, q.bridged = None, None, False, False
        self.s.in_acd = True
        # Not silence: the hold music (between the queue's announcements) until an answer.
        self.s.queue_music = self.document.call_control.music_on_hold is not None
        if self.s.queue_music:
            self._queue_music()

    def _queue_music(self) -> None:
        name = self.document.call_control.music_on_hold
        self.app.loop.renderer.play(self.port, self.app.prompts.render_items([name],
                                                                             self.s.language))
        self.s.play_id = None

    def announce(self, position: int, expected_wait_s: int | None, now: float) -> None:
        """Tell a waiting caller their place (and wait) with the document's optional
        ``queue.position`` / ``queue.wait`` + ``queue.minutes`` prompts; without them, nothing
        is said (a bare number in the silence would puzzle a caller)."""
        q = self.s.queueing
        prompts = self.document.prompts
        requeued = self.s.queue_music  # waiting again after a transfer
        if (q is None or q.ringing or (q.talk_started is not None and not requeued)
                or "queue.position" not in prompts):
            return
        lang = self.s.language
        items = ["queue.position", *say_number(position, lang)]
        if expected_wait_s is not None and {"queue.wait", "queue.minutes"} <= prompts.keys():
            minutes = max(1, -(-expected_wait_s // 60))
            items += ["queue.wait", *say_number(minutes, lang), "queue.minutes"]
        self.app.loop.renderer.play(self.port, self.app.prompts.render_items(items, lang))
        self.s.play_id = None

    def left_queue(self, reason: LeaveReason, now: float) -> None:
        q = self.s.queueing
        if q is not None and q.left is None:
            q.left = now
        self.s.queue_music = False
        if reason in (LeaveReason.ANSWERED, LeaveReason.ABANDONED):
            return  # answered: `connected` told the IVR; abandoned: the caller is gone
        self.s.in_acd = False
        outcome = _QUEUE_OUTCOMES[reason]
        self.s.queue_outcomes.append(outcome)
        self.app.loop.renderer.stop(self.port)
        self.feed(QueueOutcome(outcome), now)

    def agent_hung_up(self, now: float) -> None:
        """The agent's phone went on hook during the conversation."""
        q = self.s.queueing
        q.talk_ended, q.ended_by_agent = now, True
        self._unbridge()
        if self.s.in_acd:
            self.app.acd_event(CallEnded(self.call_id, by_caller=False), now)
        self.s.in_acd = False
        self.feed(AgentCallEnded(), now)

    def wrap_up_ended(self, now: float) -> None:
        q = self.s.queueing
        if q is not None and q.wrap_ended is None:
            q.wrap_ended = now
        if self.over and not self.s.written:
            self._write_record()

    @property
    def waiting_for_wrap_up(self) -> str | None:
        q = self.s.queueing
        if q is None or q.talk_started is None or q.wrap_ended is not None:
            return None
        return q.agent_id

    # --- executing the IVR's actions ------------------------------------------------------------

    def _execute(self, actions, now: float) -> None:
        app = self.app
        for action in actions:
            match action:
                case Trace():
                    self.s.traces.append(action)
                case Play():
                    self.s.language = action.language
                    audio = app.prompts.render_items(action.items, action.language,
                                                     action.speed)
                    app.loop.renderer.play(self.port, audio)
                    self.s.play_id = action.play_id
                case StopPlayback():
                    if self.s.play_id == action.play_id:
                        app.loop.renderer.stop(self.port)
                        self.s.play_id = None
                case StartTimer():
                    app.loop.timers.schedule(action.at, self, action.name)
                case CancelTimer():
                    app.loop.timers.cancel(self, action.name)
                case HostRequest():
                    self.s.host_pending += 1
                    app.submit_host(self, action)
                case Enqueue():
                    self._enqueue(action, now)
                case RecordMessage():
                    self._start_message(action, now)
                case StopRecording():
                    self._finish_message(now)
                case StoreSurvey():
                    self.s.survey = action.score
                case Transfer():
                    self.s.transferred = True
                    if app.board.ports[self.port].kind is PortKind.SIP:
                        self.transfer_outside(action.target, now, returns=action.returns)
                        continue
                    if action.returns:
                        outside.fail_back(self, action.target,
                                          "not available on analog lines", now)
                        continue
                    log.info("call %s: transfer to %s is not available on analog lines yet; "
                             "ending the call", self.call_id, action.target)
                    self.release(now, f"transfer:{action.target}")
                case HangUp():
                    self.release(now, action.reason)

    def transfer_outside(self, number: str, now: float, returns: bool = False) -> bool:
        """Hand the caller to ``number`` over SIP (firmware/calls/outside.py); False if it
        is refused (logged, counted): from the IVR the caller then hears why and the call
        ends (or, with ``returns``, the flow goes on at the node's ``on_failure``), an
        agent's station beeps and nothing changes."""
        why = outside.refusal(self, number)
        if why is not None:
            outside.refuse(self, number, why, now)
            if self.control is None:
                self.s.outside = outside.OutsideTransfer(self, number, now, returns)
                self.s.outside.failed(now, "refused")
            return False
        q = self.s.queueing
        if q is not None and q.talk_started is not None and q.talk_ended is None:
            q.talk_ended = now  # an agent handed the caller on: their talk ends here
        self.s.in_acd = False
        self.s.outside = outside.OutsideTransfer(self, number, now, returns)
        self.s.outside.start(now)
        return True

    def transfer_ended(self, status: int, now: float) -> None:
        """The board's REFER of this caller ended (``TransferEnded``)."""
        if self.s.outside is not None:
            self.s.outside.refer_ended(status, now)

    def _enqueue(self, action: Enqueue, now: float) -> None:
        queue = next(q for q in self.document.acd.queues if q.name == action.queue)
        eligible = [c for c in queue.classes if c.priority <= action.priority]
        chosen = max(eligible, key=lambda c: c.priority).name if eligible else None
        if action.priority == 0:
            chosen = None  # the queue's default class
        self.s.queueing = _Queueing(action.queue, chosen or queue.default_class, now)
        self.s.in_acd = True
        data = {"caller": self.caller, **{k: str(v) for k, v in action.data.items()}}
        self.app.acd_event(CallArrived(self.call_id, action.queue, chosen,
                                       tuple(action.skills), data), now)

    def _queue_key(self, key: str, now: float) -> None:
        q = self.s.queueing
        queue = next(x for x in self.document.acd.queues if x.name == q.queue)
        if (queue.callback.enabled and key == queue.callback.key and self.caller
                and not q.ringing):
            self.app.dialer.requested(self.call_id, q.queue, self.s.language)
            self.app.acd_event(CallbackRequested(self.call_id, self.caller), now)
            self.s.in_acd = False
            self.s.queue_outcomes.append("callback")
            self.app.loop.renderer.stop(self.port)
            self.feed(QueueOutcome("callback"), now)

    def _start_message(self, action: RecordMessage, now: float) -> None:
        app = self.app
        if action.beep:
            app.loop.tones.start(self.port, app.beep, repeat=False)
        path = recording_path(self.call_id, app.clock.wall(self.s.answered_at), "-message")
        self.s.message = _Recording(app.recorder.open(path, channels=1), path, now)
        app.recording.add(self)
        app.loop.timers.schedule(now + action.max_seconds, self, _MESSAGE_TIMER)

    def _finish_message(self, now: float) -> None:
        message = self.s.message
        if message is None or message.ended:
            return
        message.ended = True
        self._recorded()
        self.app.loop.timers.cancel(self, _MESSAGE_TIMER)
        self.app.recorder.close(message.rec)
        self.feed(MessageRecorded(round(now - message.started, 2)), now)

    # --- media the appliance hands us after each block -----------------------------------------

    def record_frame(self, rx: np.ndarray) -> None:
        rec = self.s.recording
        if rec is not None and not rec.ended:
            frame = np.empty((rx.shape[1], 2), dtype=np.int16)
            # The far side is what the caller heard from people: the mix into the caller's
            # port (the agent; with a barge or conference every voice in it).
            frame[:, 0] = rx[self.port]
            frame[:, 1] = self.app.loop.mixer.mixed[self.port]
            self.app.recorder.write(rec.rec, frame)
        message = self.s.message
        if message is not None and not message.ended:
            self.app.recorder.write(message.rec, rx[self.port])

    def _recorded(self) -> None:
        """A recording or message ended: the loop stops visiting this call if none goes on."""
        rec, message = self.s.recording, self.s.message
        if not ((rec is not None and not rec.ended)
                or (message is not None and not message.ended)):
            self.app.recording.discard(self)

    # --- ending ------------------------------------------------------------------------------

    def _leave_acd(self, now: float, *, by_caller: bool) -> None:
        q = self.s.queueing
        control = self.control
        if control is not None and not control.conv.over:  # talking, in any phase
            self.s.in_acd = False
            q.talk_ended = now
            control.call_left(now, by_caller=by_caller)  # the ACD, every other phone
            self._unbridge()
            return
        if not self.s.in_acd or q is None:
            return
        self.s.in_acd = False
        if q.talk_started is not None and q.talk_ended is None:
            q.talk_ended = now  # answered once, waiting again after a transfer
        self.s.left_queue_hanging_up = by_caller
        self.app.acd_event(CallerLeft(self.call_id), now)

    def _unbridge(self) -> None:
        q = self.s.queueing
        self.s.queue_music = False
        self.app.loop.renderer.stop(self.port)
        # Only this call's own paths go: a station this call only rang (offer withdrawn, no
        # answer) or already left may be bridged to another call by now.
        self.app.loop.mixer.drop(self)
        if q is not None:
            q.bridged = False
        rec = self.s.recording
        if rec is not None and not rec.ended:
            rec.ended = True
            self.app.recorder.close(rec.rec)
            self._recorded()

    def _abandoned_ringing(self, now: float) -> None:
        self.s.caller_hung_up = True
        self.s.ended_at = now
        self.s.end_reason = "abandoned_ringing"
        self.app.loop.timers.cancel(self, _RING_TIMER)
        self.app.call_over(self, now)
        self._write_record()

    def release(self, now: float, reason: str) -> None:
        """End the call now: leave the ACD, stop media, put the trunk on hook, and write the
        record (or wait for the agent's wrap-up to end)."""
        if self.over:
            return
        app, port = self.app, self.port
        self.s.ended_at = now
        self.s.end_reason = reason
        if self.s.in_acd or (self.control is not None and not self.control.conv.over):
            self._leave_acd(now, by_caller=False)
        self._unbridge()
        self._finish_message(now)
        app.loop.tones.stop(port)
        app.loop.timers.cancel_owner(self, ("digit", "host", "ivr_time", _MESSAGE_TIMER,
                                            _RING_TIMER))
        if self.s.outside is not None:
            self.s.outside.end(now)
        app.board.hang_up(port)
        self.s.quality = call_quality(app.board, port)
        app.call_over(self, now)
        log.info("call %s ended: %s", self.call_id, reason)
        if self.waiting_for_wrap_up is None or self.s.failed:
            self._write_record()

    def finish(self, now: float) -> None:
        """Write the record now even if the agent's wrap-up has not ended (shutdown)."""
        if self.over and not self.s.written:
            self._write_record()

    def _write_record(self) -> None:
        self.s.written = True
        record = build_record(self._facts())
        self.app.submit_record(record)

    def _facts(self) -> CallFacts:
        s, wall = self.s, self.app.wall_epoch
        q = s.queueing
        return CallFacts(
            call_id=self.call_id, caller=self.caller,
            dialled=self.line.number if self.line is not None else "",
            port=self.port_name, config_version=self.config.version,
            rang_at=wall(self.rang_at),
            answered_at=None if s.answered_at is None else wall(s.answered_at),
            ended_at=wall(s.ended_at if s.ended_at is not None else self.rang_at),
            language=s.language, traces=tuple(s.traces), host=dict(s.host),
            queue=q.queue if q else None, priority_class=q.priority_class if q else None,
            agent_id=(self.control.agent_id if self.control is not None else
                      q.agent_id if q and q.talk_started is not None else None),
            wait_s=_span(q.entered, q.left or q.talk_started or s.ended_at) if q else 0.0,
            talk_s=_span(q.talk_started, q.talk_ended) if q else 0.0,
            wrap_s=_span(q.talk_ended, q.wrap_ended) if q else 0.0,
            survey=s.survey, recording=s.recording.path if s.recording else None,
            caller_hung_up=s.caller_hung_up,
            ended_by_agent=bool(q and q.ended_by_agent),
            queued_at_end=s.left_queue_hanging_up,
            queue_outcomes=tuple(s.queue_outcomes), transferred=s.transferred,
            failed=s.failed, reason=s.end_reason,
            message=s.message is not None, quality=s.quality,
            hold_s=self.control.hold_s if self.control is not None else 0.0,
        )


def _span(start: float | None, end: float | None) -> float:
    if start is None or end is None:
        return 0.0
    return max(0.0, end - start)
