"""Transfers in the ACD engine: a colleague rung for a call, and a call handed over.

Part of ``Distributor`` (a mixin: the same records, the same invariants). A call talking to
its agent (CONNECTED) may have one colleague (``call.consult``) reserved while their phone
rings and talking once they answer; the agent stays TALKING throughout (on hold or
consulting is still talking). ``TransferCompleted`` ends the agent's leg (wrap-up, a TRANSFER
log entry with that leg's talk time) and gives the call to the colleague, to a queue (it waits
there with its class, behind nobody who arrived after it: its arrival time is kept) or to
nobody in the ACD (a supervisor, an outside number). The call stays one call for the KPIs: it
entered once and is answered once; the TRANSFER entry adds the leg's talk time to the queue
and counts a completed call for the agent who handed it on.

A colleague rung for a call whose agent has already left (a blind transfer) who does not
answer sends the call back to its queue. A caller who hangs up, or a call that ends, releases
the colleague too (``release_colleague``), so nobody is left reserved or talking to nobody.
"""

from branchline.acd._errors import CallStateError, OfferMismatch, UnknownPriorityClass
from branchline.acd._records import CONNECTED, WAITING, AgentRecord, CallRecord
from branchline.acd.agent_states import AgentState, Trigger
from branchline.acd.decisions import CallLeftQueue, CancelOffer, LeaveReason
from branchline.acd.eventlog import QueueEvent
from branchline.acd.eventlog import QueueEventKind as Kind
from branchline.acd.events import (
    TransferAnswered,
    TransferCancelled,
    TransferCompleted,
    TransferOffered,
)

TRANSFER_REASON = "transfer"


class TransferMixin:
    """The Distributor's transfer handlers (see the module docstring)."""

    def _transfer(self, event, t: float, out: list) -> None:
        match event:
            case TransferOffered():
                self._transfer_offered(event, t, out)
            case TransferAnswered():
                call, colleague = self._colleague_of(event)
                self._check(colleague, Trigger.ANSWER, event)
                self._set_state(colleague, AgentState.TALKING, "", t, out, call.queue.model.name)
                if call.agent is colleague:  # a blind transfer: the colleague is the agent now
                    call.consult = None
                    call.talk_started = t
                    self._record_reconnect(call, colleague, t)
            case TransferCancelled():
                call, colleague = self._colleague_of(event)
                self._drop_colleague(call, colleague, t, out, event.no_answer)
            case TransferCompleted():
                self._transfer_completed(event, t, out)

    def _transfer_offered(self, event: TransferOffered, t: float, out: list) -> None:
        call, colleague = self._call(event.call_id), self._agent(event.agent_id)
        if call.state != CONNECTED or call.agent is None or call.consult is not None:
            what = (f"ringing {call.consult.id!r} already" if call.consult is not None
                    else call.state if call.state != CONNECTED else "without an agent")
            raise CallStateError(f"TransferOffered {call.id!r}: the call is {what}; only a "
                                 "call talking to its agent can ring one colleague")
        if colleague is call.agent:
            raise CallStateError(f"TransferOffered {call.id!r}: agent {colleague.id!r} is "
                                 "the call's own agent; ring another agent")
        self._check(colleague, Trigger.RESERVE, event)
        call.consult = colleague
        colleague.call = call
        self._set_state(colleague, AgentState.RESERVED, TRANSFER_REASON, t, out,
                        call.queue.model.name)

    def _colleague_of(self, event) -> tuple[CallRecord, AgentRecord]:
        call, agent = self._call(event.call_id), self._agent(event.agent_id)
        ringing = call.consult or (call.agent if call.agent and call.agent.state is
                                   AgentState.RESERVED and call.state == CONNECTED else None)
        if ringing is not agent:
            raise OfferMismatch(f"{type(event).__name__}: agent {agent.id!r} is not the "
                                f"colleague rung for call {call.id!r}")
        return call, agent

    def _drop_colleague(self, call: CallRecord, colleague: AgentRecord, t: float, out: list,
                        no_answer: bool = False) -> None:
        """Let the colleague go; a call left without an agent goes back to its queue."""
        if colleague.state is AgentState.TALKING:
            target = AgentState.READY
            if colleague.pending is not None:
                trigger, reason = colleague.pending
                target = (AgentState.LOGGED_OUT if trigger is Trigger.LOGOUT
                          else AgentState.NOT_READY)
            self._check(colleague, Trigger.RELEASE, "TransferCancelled")
            colleague.pending = None
            reason = colleague.reason if target is AgentState.NOT_READY else ""
        else:
            self._check(colleague, Trigger.NO_ANSWER if no_answer else Trigger.CANCEL,
                        "TransferCancelled")
            target = AgentState.NOT_READY if no_answer else AgentState.READY
            reason = "no answer" if no_answer else ""
        orphan = self._unlink_colleague(call, colleague)
        self._set_state(colleague, target, reason, t, out, call.queue.model.name)
        self._after_state(colleague, t, out)
        if orphan:
            self._back_to_queue(call, call.queue, t, out)

    def _unlink_colleague(self, call: CallRecord, colleague: AgentRecord) -> bool:
        """Forget the colleague on both sides; True if the call is left with no agent."""
        colleague.call = None
        orphan = call.agent is colleague
        if orphan:
            call.agent = None
        else:
            call.consult = None
        return orphan

    def _colleague_keyed(self, colleague: AgentRecord, target: AgentState, reason: str,
                         t: float, out: list) -> None:
        """A rung colleague logged out or went not ready: the ringing stops (CancelOffer)."""
        call = colleague.call
        out.append(CancelOffer(call.id, colleague.id, colleague.station))
        orphan = self._unlink_colleague(call, colleague)
        self._set_state(colleague, target, reason, t, out)
        self._after_state(colleague, t, out)
        if orphan:
            self._back_to_queue(call, call.queue, t, out)

    def release_colleague(self, call: CallRecord, t: float, out: list) -> None:
        if call.consult is not None:
            self._drop_colleague(call, call.consult, t, out)

    def _transfer_completed(self, event: TransferCompleted, t: float, out: list) -> None:
        call = self._call(event.call_id)
        agent = call.agent
        if call.state != CONNECTED or agent is None or agent.state is not AgentState.TALKING:
            raise CallStateError(f"TransferCompleted {call.id!r}: the call has no agent "
                                 "talking to hand it over")
        colleague = call.consult
        if event.to_agent is not None and (colleague is None or colleague.id != event.to_agent):
            raise CallStateError(f"TransferCompleted {call.id!r}: agent {event.to_agent!r} "
                                 "was not rung for the call; send TransferOffered first")
        if event.to_agent is None and colleague is not None:
            raise CallStateError(f"TransferCompleted {call.id!r}: colleague {colleague.id!r} "
                                 "is still rung for the call; cancel that first")
        queue = self._queue(event.to_queue) if event.to_queue is not None else None
        detail = event.detail or (f"agent:{event.to_agent}" if event.to_agent else
                                  f"queue:{event.to_queue}" if queue else "")
        self._leg_ended(call, agent, t, out, detail)
        if colleague is not None:
            call.agent, call.consult = colleague, None
            call.talk_started = t
            if colleague.state is AgentState.TALKING:
                self._record_reconnect(call, colleague, t)
        elif queue is not None:
            call.agent = None
            self._back_to_queue(call, queue, t, out)
        else:
            del self._calls[call.id]

    def _leg_ended(self, call: CallRecord, agent: AgentRecord, t: float, out: list,
                   detail: str) -> None:
        """The agent's part of the call is over: their wrap-up starts."""
        self._check(agent, Trigger.CALL_END, "TransferCompleted")
        talk = t - call.talk_started
        agent.call = None
        agent.calls += 1
        agent.talk_total += talk
        self._record(QueueEvent(t, Kind.TRANSFER, call_id=call.id, queue=call.queue.model.name,
                                agent_id=agent.id, priority_class=call.klass, talk_s=talk,
                                detail=detail))
        self._start_wrap(agent, call.queue, talk, t, out)

    def _record_reconnect(self, call: CallRecord, agent: AgentRecord, t: float) -> None:
        self._record(QueueEvent(t, Kind.CONNECT, call_id=call.id, queue=call.queue.model.name,
                                agent_id=agent.id, priority_class=call.klass,
                                reason=TRANSFER_REASON))

    def _back_to_queue(self, call: CallRecord, queue, t: float, out: list) -> None:
        """Wait again, in `queue`, with the call's class (or the queue's default) and its
        original arrival: it is served before anyone of its class who came later."""
        klass = call.klass if call.klass in queue.classes else queue.model.default_class
        if klass not in queue.classes:
            raise UnknownPriorityClass(f"call {call.id!r}: queue {queue.model.name!r} has no "
                                       f"class {klass!r}")
        if queue is not call.queue or klass != call.klass:
            pc = queue.classes[klass]
            call.queue, call.klass, call.priority = queue, klass, pc.priority
            call.promote_at = call.arrived + pc.promote_after_s
            call.sl_due = call.arrived + pc.service_level_s
            call.line = self._line(queue, call.line.skills)
        call.state = WAITING
        call.token += 1
        queue.in_queue += 1
        call.line.add_call(call.priority, call.seq, call.token, call.id, call.promote_at)
        self._dispatch_call(call, t, out)

    def _caller_left_transfer(self, call: CallRecord, t: float, out: list) -> bool:
        """A caller who hangs up while a colleague rings for them with no agent (a blind
        transfer): the colleague is let go and the call is over. False if not that case."""
        agent = call.agent
        if call.state != CONNECTED or agent is None or agent.state is not AgentState.RESERVED:
            return False
        agent.call = None
        del self._calls[call.id]
        self._set_state(agent, AgentState.READY, "", t, out, call.queue.model.name)
        self._after_state(agent, t, out)
        out.append(CallLeftQueue(call.id, LeaveReason.ABANDONED))
        return True
