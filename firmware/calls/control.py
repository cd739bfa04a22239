"""Call control on an answered call: hold, consult, conference, transfers, supervisors.

``CallControl(call, agent_station, now)`` is made by a ``CallSession`` when an agent answers
and lives until the call ends. It owns the call's ``Conversation`` (firmware/calls/
conversation.py: the phase table and the mix paths) and carries out each step::

    operation            who asks                        effects
    hold / resume        agent: flash; page; SIP re-INVITE   music on hold on the caller's port
                                                          (the document's prompt), dial tone to
                                                          the agent
    consult(agent)       agent: *21{agent}# while held   TransferOffered; the colleague's
                                                          phone rings; ringback to the agent
    conference()         agent: *3#                      everyone hears everyone
    complete()           agent: *4# or hangs up          TransferCompleted(to_agent)
    transfer_agent(a)    agent: *41{a}# while held       TransferOffered + TransferCompleted;
                         SIP REFER                        the agent leaves at once
    transfer_queue(q)    agent: *42{digit}# while held   TransferCompleted(to_queue); the call
                                                          waits in q with its class
    transfer_outside(n)  agent: *43{digit}# while held   TransferCompleted (out of the ACD);
                                                          the caller bridged or REFERred to n
    monitor(station, m)  supervisor: *51..53{agent}#;    listen / whisper / barge; the coach
                         page                             beep to the agent only
    take_over(station)   supervisor: *54{agent}#; page   TransferCompleted (out of the ACD);
                                                          the supervisor is the agent party
    hung_up(port)        any phone on hook               the step that port's leaving means

Every operation returns True if it was done, False if it was refused (the station then beeps
three times); a refused operation changes nothing. After every step the call's mix paths are
routed in one go (``Mixer.route``), so the mix is always what the conversation says.

Records: ``legs`` lists who talked to the caller, in order (agent id, or ``supervisor:<user>``;
start, end, how the leg ended); ``hold_s`` sums the time on hold. The caller is on hold while
they hear the music (held, a colleague ringing or consulted, a blind transfer ringing); each
hold, when it ends, is a ``CallHold`` record (who put the caller on hold, from, to), so the
call record's ``hold_seconds`` and each leg's share can be read back. Every monitor session
writes one audit entry when it ends: who, which call, the mode, when it started and how long
it ran; a take-over writes one too.

Watchers: after every step, each of ``app.control_listeners`` is called on the loop thread as
``listener(control, before, now)`` when the phase, the agent or the hold changed (``before``:
the ``Shown`` state before the step); the CTI feed turns that into the agent desk's call state
and the ``held`` / ``retrieved`` / ``conferenced`` events.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from branchline.acd import (
    CallEnded,
    CallerLeft,
    TransferAnswered,
    TransferCancelled,
    TransferCompleted,
    TransferOffered,
)
from branchline.dsp import CALL_PROGRESS_TONES
from branchline.firmware.calls import outside
from branchline.firmware.calls.conversation import (
    Conversation,
    ConversationError,
    Monitor,
    MonitorMode,
    Phase,
    Step,
)
from branchline.firmware.records.database import AuditEntry
from branchline.firmware.records.holds import CallHold

__all__ = ["CallControl", "Leg", "Shown"]

log = logging.getLogger("branchline.calls")

_RING_TIMER = "__transfer_ring"
_MUSIC = (Phase.HELD, Phase.CONSULT_RINGING, Phase.CONSULTING, Phase.TRANSFER_RINGING)


@dataclass(slots=True)
class Leg:
    """One party's time with the caller: an agent, or a supervisor who took over."""

    who: str
    station: str
    started: float
    ended: float | None = None
    how: str = ""


@dataclass(frozen=True, slots=True)
class Shown:
    """What watchers see of a call's control: its phase, its agent, whether the caller is
    held (hears the music), and the colleague's agent id while one is rung or talking."""

    phase: Phase
    agent_id: str
    held: bool
    over: bool
    colleague_id: str | None


class CallControl:
    """See the module docstring."""

    def __init__(self, call, agent_station: int, agent_id: str, now: float,
                 before: CallControl | None = None):
        self.call = call
        self.app = call.app
        self.conv = Conversation(call.port, agent_station)
        # A call answered again after it went back to a queue keeps its earlier legs.
        self.legs = [*(before.legs if before else ()),
                     Leg(agent_id, self._name(agent_station), now)]
        self.hold_s = before.hold_s if before else 0.0
        self._held_since: float | None = None
        self._colleague_id: str | None = None  # the ACD agent rung, if the colleague is one
        self._music = False
        self._held_by = ""
        self.in_acd = True  # False once a supervisor or an outside number has the call
        self._shown: Shown | None = None
        self._route(now)

    # --- what the session and stations ask ----------------------------------------------------

    @property
    def phase(self) -> Phase:
        return self.conv.phase

    @property
    def agent_port(self) -> int | None:
        return self.conv.agent

    @property
    def agent_id(self) -> str:
        return self.legs[-1].who

    @property
    def playing_music(self) -> bool:
        return self._music

    @property
    def colleague_id(self) -> str | None:
        return self._colleague_id

    @property
    def held_since(self) -> float | None:
        return self._held_since

    def involves(self, port: int) -> bool:
        return port in self.conv.parties()

    def shown(self) -> Shown:
        return Shown(self.phase, self.agent_id, self._held_since is not None, self.conv.over,
                     self._colleague_id)

    # --- the agent's operations ---------------------------------------------------------------

    def hold(self, now: float) -> bool:
        return self._step(Step.HOLD, now)

    def resume(self, now: float) -> bool:
        if self.phase in (Phase.CONSULT_RINGING, Phase.CONSULTING):
            colleague = self.conv.colleague
            if not self._step(Step.RESUME, now):
                return False
            self._let_colleague_go(colleague, now, no_answer=False)
            return True
        return self._step(Step.RESUME, now)

    def consult(self, agent_id: str, now: float) -> bool:
        return self._ring_colleague(agent_id, Step.CONSULT, now)

    def conference(self, now: float) -> bool:
        return self._step(Step.CONFERENCE, now)

    def complete(self, now: float) -> bool:
        if self.phase not in (Phase.CONSULTING, Phase.CONFERENCE):
            return False
        return self._hand_over(Step.COMPLETE, now)

    def transfer_agent(self, agent_id: str, now: float) -> bool:
        return self._ring_colleague(agent_id, Step.BLIND, now)

    def transfer_queue(self, queue: str, now: float) -> bool:
        if (self.phase is not Phase.HELD or not self.in_acd
                or queue not in {q.name for q in self.call.document.acd.queues}):
            return False
        left = self.conv.agent
        self._end_leg(now, f"transferred:queue:{queue}")
        self.end(now)
        self._release_station(left, now)
        # Waiting again before the ACD hears it: it may offer the call at once.
        self.call.requeued(queue, now)
        self.app.acd_event(TransferCompleted(self.call.call_id, to_queue=queue), now)
        return True

    def transfer_outside(self, number: str, now: float) -> bool:
        """Blind transfer to an outside number over SIP (firmware/calls/outside.py): the
        agent leaves at once and the call leaves the ACD (``TransferCompleted`` with detail
        ``outside:<number>``: the agent's wrap-up starts, the KPIs count the call once)."""
        if self.phase is not Phase.HELD or not self.in_acd:
            return False
        why = outside.refusal(self.call, number)
        if why is not None:
            outside.refuse(self.call, number, why, now)
            return False
        if not self.app.acd_event(TransferCompleted(self.call.call_id,
                                                    detail=f"outside:{number}"), now):
            return False
        self.in_acd = False
        left = self.conv.agent
        self._end_leg(now, f"transferred:outside:{number}")  # still the record's agent
        self.end(now)
        self._release_station(left, now)
        return self.call.transfer_outside(number, now)

    # --- supervisors ----------------------------------------------------------------------------

    def monitor(self, station: int, supervisor: str, mode: MonitorMode, now: float) -> bool:
        if station in (self.conv.caller, self.conv.agent, self.conv.colleague):
            return False
        current = self.conv.monitors.get(station)
        if current is not None:
            if current.mode is mode:
                return True
            self._audit_monitor(current, now)
            current.mode, current.mode_started = mode, now
        else:
            self.conv.monitors[station] = Monitor(station, supervisor, mode, now, now)
        log.info("call %s: %s %s from %s", self.call.call_id, supervisor, mode.value,
                 self._name(station))
        self._route(now)
        if mode is not MonitorMode.LISTEN and self.call.document.call_control.coach_beep:
            self._coach_beep()
        return True

    def take_over(self, station: int, now: float) -> bool:
        monitor = self.conv.monitors.get(station)
        if monitor is None or self.phase is Phase.TRANSFER_RINGING:
            return False
        if self.in_acd and not self.app.acd_event(
                TransferCompleted(self.call.call_id, detail=f"supervisor:{monitor.supervisor}"),
                now):
            return False
        self.in_acd = False
        self._audit_monitor(monitor, now)
        self._audit(monitor.supervisor, f"call {self.call.call_id}: took over from agent "
                                        f"{self.agent_id}", now)
        colleague = self.conv.colleague
        left = self.conv.take_over(station)
        self._end_leg(now, f"taken_over:{monitor.supervisor}")
        self.legs.append(Leg(f"supervisor:{monitor.supervisor}", self._name(station), now))
        self.call.agent_changed(station, None)
        self._release_station(left, now)
        if colleague is not None:
            self._let_colleague_go(colleague, now, no_answer=False)
        self._route(now)
        return True

    # --- phones -----------------------------------------------------------------------------

    def colleague_answered(self, port: int, now: float) -> None:
        if port != self.conv.colleague:
            return
        blind = self.phase is Phase.TRANSFER_RINGING
        self.app.loop.timers.cancel(self, _RING_TIMER)
        if self._colleague_id is not None:
            self.app.acd_event(TransferAnswered(self.call.call_id, self._colleague_id), now)
        if blind:  # the colleague's leg first: watchers see them take the caller
            self._start_colleague_leg(port, now)
        self._step(Step.ANSWERED, now)

    def hung_up(self, port: int, now: float) -> None:
        """A phone in this call went on hook (not the caller: that is ``caller_left``)."""
        if port in self.conv.monitors:
            self._audit_monitor(self.conv.monitors.pop(port), now)
            self._route(now)
        elif port == self.conv.colleague:
            if self.phase in (Phase.CONSULTING, Phase.CONFERENCE):
                self._let_colleague_go(port, now, no_answer=False)
                self._step(Step.COLLEAGUE_LEFT, now)
        elif port == self.conv.agent:
            if self.phase in (Phase.CONSULT_RINGING, Phase.CONSULTING, Phase.CONFERENCE):
                self._hand_over(Step.AGENT_LEFT, now)
            else:
                self._end_leg(now, "agent_hung_up")
                self.end(now)
                self.call.agent_hung_up(now)

    def timer(self, name: str, now: float) -> None:
        if name != _RING_TIMER or self.conv.colleague is None:
            return
        colleague, blind = self.conv.colleague, self.phase is Phase.TRANSFER_RINGING
        station = self.app.stations.get(colleague)
        if station is not None:
            station.cancel_transfer_ring(self.call)
        if blind:
            # The ACD puts the call back in its queue; the session waits for the next offer.
            colleague_id = self._colleague_id
            self.end(now)
            self.call.requeued(None, now)
            if colleague_id is not None:
                self.app.acd_event(TransferCancelled(self.call.call_id, colleague_id,
                                                     no_answer=True), now)
        else:
            self._let_colleague_go(None, now, no_answer=True)
            self._step(Step.NO_ANSWER, now)

    def colleague_withdrawn(self, now: float) -> None:
        """The ACD stopped the colleague's ringing (they logged out or went not ready)."""
        colleague = self.conv.colleague
        station = self.app.stations.get(colleague)
        if station is not None:
            station.cancel_transfer_ring(self.call)
        self._colleague_id = None
        self.app.loop.timers.cancel(self, _RING_TIMER)
        if self.phase is Phase.TRANSFER_RINGING:
            self.conv.end()
            self._route(now)
            self.call.requeued(None, now)
        elif self.phase is Phase.CONSULT_RINGING:
            self._step(Step.NO_ANSWER, now)

    def call_left(self, now: float, *, by_caller: bool) -> None:
        """The call ends from the caller's side (hang-up, line lost, the IVR, shutdown):
        the ACD hears it and every other phone in the call is let go."""
        call_id = self.call.call_id
        if self.in_acd:
            if self.phase is Phase.TRANSFER_RINGING:
                self.app.acd_event(CallerLeft(call_id), now)
            else:
                self.app.acd_event(CallEnded(call_id, by_caller=by_caller), now)
        self.in_acd = False
        ports = self.conv.parties()
        self._end_leg(now, "caller_hung_up" if by_caller else "ended")
        self.end(now)
        for port in ports:
            if port != self.conv.caller:
                self._release_station(port, now)

    def end(self, now: float) -> None:
        """The conversation is over: audit monitors, stop music and timers, drop the paths,
        and let the colleague and the supervisors go (busy tone if they are off hook)."""
        for monitor in list(self.conv.monitors.values()):
            self._audit_monitor(monitor, now)
        self.app.loop.timers.cancel(self, _RING_TIMER)
        others = [self.conv.colleague, *self.conv.monitors]
        if self.conv.colleague is not None:
            station = self.app.stations.get(self.conv.colleague)
            if station is not None:
                station.cancel_transfer_ring(self.call)
        self.conv.end()
        self._route(now)
        for port in others:
            self._release_station(port, now)

    # --- inside ---------------------------------------------------------------------------

    def _step(self, step: Step, now: float) -> bool:
        try:
            self.conv.step(step)
        except ConversationError as exc:
            log.info("call %s: %s", self.call.call_id, exc)
            return False
        self._route(now)
        return True

    def _ring_colleague(self, agent_id: str, step: Step, now: float) -> bool:
        if self.phase is not Phase.HELD or not self.in_acd:
            return False
        station = next((s for s in self.app.stations.values() if s.agent_id == agent_id), None)
        if station is None or station.off_hook or station.broken or self.involves(station.port):
            return False
        call_id = self.call.call_id
        if not self.app.acd_event(TransferOffered(call_id, agent_id), now):
            return False
        if step is Step.BLIND and not self.app.acd_event(
                TransferCompleted(call_id, to_agent=agent_id), now):
            self.app.acd_event(TransferCancelled(call_id, agent_id), now)
            return False
        left = self.conv.agent
        self._colleague_id = agent_id
        self.conv.ring(station.port)
        self._step(step, now)
        station.ring_transfer(self.call)
        ring_s = self.call.document.call_control.consult_ring_s
        self.app.loop.timers.schedule(now + ring_s, self, _RING_TIMER)
        if step is Step.BLIND:
            self._end_leg(now, f"transferred:agent:{agent_id}")
            self._release_station(left, now)
        return True

    def _hand_over(self, step: Step, now: float) -> bool:
        """The agent gives the caller to the colleague (COMPLETE, or hanging up)."""
        colleague_id, colleague = self._colleague_id, self.conv.colleague
        ringing = self.phase is Phase.CONSULT_RINGING
        if self.in_acd and colleague_id is not None and not self.app.acd_event(
                TransferCompleted(self.call.call_id, to_agent=colleague_id), now):
            return False
        left = self.conv.agent
        self.conv.step(step)
        self._end_leg(now, f"transferred:agent:{colleague_id}")
        if not ringing:
            self._start_colleague_leg(colleague, now)
        self._release_station(left, now)
        self._route(now)
        return True

    def _start_colleague_leg(self, port: int, now: float) -> None:
        agent_id = self._colleague_id
        self.legs.append(Leg(agent_id or self._name(port), self._name(port), now))
        self._colleague_id = None
        self.call.agent_changed(port, agent_id)

    def _let_colleague_go(self, port: int | None, now: float, *, no_answer: bool) -> None:
        """The ACD releases the colleague (their phone may still be off hook: busy tone)."""
        self.app.loop.timers.cancel(self, _RING_TIMER)
        colleague_id, self._colleague_id = self._colleague_id, None
        port = self.conv.colleague if port is None else port
        if colleague_id is not None and self.in_acd:
            self.app.acd_event(TransferCancelled(self.call.call_id, colleague_id,
                                                 no_answer=no_answer), now)
        if port is not None:
            station = self.app.stations.get(port)
            if station is not None:
                station.cancel_transfer_ring(self.call)
            self._release_station(port, now)

    def _release_station(self, port: int | None, now: float) -> None:
        station = self.app.stations.get(port)
        if station is not None and station.call is self.call:
            station.left_call()

    def _end_leg(self, now: float, how: str) -> None:
        leg = self.legs[-1]
        if leg.ended is None:
            leg.ended, leg.how = now, how

    def _route(self, now: float) -> None:
        app, caller = self.app, self.conv.caller
        app.loop.mixer.route(self.call, self.conv.paths())
        music = not self.conv.over and self.phase in _MUSIC
        if music and self._held_since is None:
            self._held_since, self._held_by = now, self.agent_id
        if not music:
            self._stop_hold_clock(now)
        name = self.call.document.call_control.music_on_hold
        if music and not self._music:
            self._music = True
            if name is not None:
                app.loop.renderer.play(caller, app.prompts.render_items([name],
                                                                        self.call.s.language))
        elif not music and self._music:
            self._music = False
            app.loop.renderer.stop(caller)
        agent = self.conv.agent
        if agent is not None and not self.conv.over:
            tones = CALL_PROGRESS_TONES[self.call.document.site.country]
            tone = {Phase.HELD: "dial", Phase.CONSULT_RINGING: "ringback"}.get(self.phase)
            app.loop.tones.stop(agent)
            if tone is not None:
                app.loop.tones.start(agent, tones[tone])
        self._tell(now)

    def _tell(self, now: float) -> None:
        shown, before = self.shown(), self._shown
        if shown == before:
            return
        self._shown = shown
        for listener in self.app.control_listeners:
            listener(self, before, now)

    def music_ended(self, now: float) -> None:
        """The hold music came to its end: it starts again while the caller is held."""
        name = self.call.document.call_control.music_on_hold
        if self._music and name is not None:
            self.app.loop.renderer.play(self.conv.caller, self.app.prompts.render_items(
                [name], self.call.s.language))

    def _stop_hold_clock(self, now: float) -> None:
        if self._held_since is not None:
            self.hold_s += now - self._held_since
            wall = self.app.wall_epoch
            self.app.writer.submit(CallHold(self.call.call_id, self._held_by,
                                            wall(self._held_since), wall(now)))
            self._held_since = None

    def _coach_beep(self) -> None:
        if self.conv.agent is not None:
            self.app.loop.tones.start(self.conv.agent, self.app.beep, repeat=False)

    def _audit_monitor(self, monitor: Monitor, now: float) -> None:
        self._audit(monitor.supervisor,
                    f"call {self.call.call_id}: {monitor.mode.value} agent {self.agent_id} "
                    f"from {self._name(monitor.station)}, {now - monitor.mode_started:.1f} s",
                    monitor.mode_started)
        monitor.mode_started = now

    def _audit(self, who: str, what: str, at: float) -> None:
        self.app.writer.submit(AuditEntry(self.app.wall_epoch(at), who, what))

    def _name(self, port: int | None) -> str:
        return "" if port is None else self.app.board.ports[port].name
