"""The ACD engine: events in, decisions out; no I/O, no clock.

`Distributor(queues, agents).handle(event, now)` returns the decisions for one event. `now` is
seconds on any clock that never goes back. The engine keeps timers as state (ring timeouts,
wrap-up, max wait, announcements, call-back retries); `next_deadline()` says when the earliest is
due and the runtime then sends `Tick()`. Only `Tick` fires timers, so an illegal event raises
before anything changed (see the exception tree in `branchline.acd`).

Distribution is event-driven. A call that arrives takes the best ready agent of its line at once
(`branchline.acd._lines`); an agent who becomes ready takes the most urgent call among all the
lines they serve. Urgency, most urgent first:

1. a caller past their class's aging bound (`promote_after_s`), earliest bound first;
2. otherwise the higher priority class;
3. then the caller furthest past their service-level target (`now - arrival - service_level_s`);
4. then the caller who has waited longest.

So with an agent in several queues the rule is the same as within one queue, and no caller waits
past their aging bound while anyone newer is served ahead of them in a line that agent serves.
Reserving the agent and deciding the offer are one step: an agent is never offered two calls.

The module is longer than our usual modules because it is one state machine: every handler
reads and writes the same records, and the invariants (one offer per agent, one exit per call)
are easier to check in one place. The parts that stand alone live apart: the agent table
(`agent_states`), lines (`_lines`), strategies, records, KPIs.
"""

import heapq
import math
import random
from collections.abc import Sequence

from branchline.acd._errors import (
    AgentStateError,
    CallStateError,
    DuplicateCall,
    OfferMismatch,
    TimeWentBackwards,
    UnknownAgent,
    UnknownCall,
    UnknownPriorityClass,
    UnknownQueue,
)
from branchline.acd._lines import Line
from branchline.acd._records import (
    CONNECTED,
    DIALING,
    OFFERED,
    RETRY,
    WAITING,
    WORKING,
    AgentRecord,
    CallRecord,
    QueueRecord,
)
from branchline.acd._transfers import TransferMixin
from branchline.acd.agent_states import (
    IGNORE,
    ILLEGAL,
    PENDING,
    REASON_DECLINED,
    REASON_LOGGED_IN,
    REASON_NO_ANSWER,
    TABLE,
    AgentState,
    Trigger,
)
from branchline.acd.decisions import (
    AgentStateChanged,
    Announce,
    Callback,
    CallLeftQueue,
    CancelOffer,
    Decision,
    LeaveReason,
    NoAgents,
    Offer,
    Overflow,
    QueueClosed,
)
from branchline.acd.eventlog import QueueEvent
from branchline.acd.eventlog import QueueEventKind as Kind
from branchline.acd.events import (
    AgentLogin,
    AgentLogout,
    AgentNotReady,
    AgentReady,
    CallArrived,
    CallbackRequested,
    CallbackResult,
    CallEnded,
    CallerLeft,
    Event,
    OfferAnswered,
    OfferDeclined,
    OfferNoAnswer,
    QueueStatus,
    Tick,
    TransferAnswered,
    TransferCancelled,
    TransferCompleted,
    TransferOffered,
    WrapUpEnded,
)
from branchline.acd.kpis import KpiAccumulator, KpiReport
from branchline.acd.models import AcdConfig, AgentModel, QueueModel
from branchline.acd.strategies import agent_key

# Weight of the newest call in the average handle time behind wait estimates (our choice).
_AHT_WEIGHT = 0.1


class Distributor(TransferMixin):
    """The ACD for one appliance: every queue and agent of the configuration."""

    def __init__(
        self,
        queues: Sequence[QueueModel],
        agents: Sequence[AgentModel],
        *,
        seed: int = 0,
        interval_s: float = 900.0,
        short_abandon_s: float = 5.0,
    ):
        AcdConfig(queues=list(queues), agents=list(agents))  # cross-references, actionable
        self._queues = {q.name: QueueRecord(q) for q in queues}
        self._agents = {a.id: AgentRecord(a, i) for i, a in enumerate(agents)}
        for agent in self._agents.values():
            for name in agent.penalty:
                self._queues[name].members.append(agent)
        self._calls: dict[str, CallRecord] = {}
        self._rng = random.Random(seed)
        self._seq = 0
        self._offers = 0
        self._timers: list[tuple[float, int, str, str]] = []
        self._timer_seq = 0
        self._now = -math.inf
        self._log: list[QueueEvent] = []
        self._live = KpiAccumulator(queues, interval_s=interval_s,
                                    short_abandon_s=short_abandon_s)

    # --- public surface -------------------------------------------------------------------

    def handle(self, event: Event, now: float) -> list[Decision]:
        if now < self._now:
            raise TimeWentBackwards(
                f"Distributor.handle: now={now} is before the previous now={self._now}; "
                f"pass a monotonic clock"
            )
        self._now = now
        out: list[Decision] = []
        match event:
            case Tick():
                self._tick(now, out)
            case CallArrived():
                self._arrive(event, now, out)
            case CallerLeft():
                self._caller_left(event.call_id, now, out)
            case AgentLogin() | AgentLogout() | AgentReady() | AgentNotReady() | WrapUpEnded():
                self._agent_key(event, now, out)
            case OfferAnswered() | OfferDeclined() | OfferNoAnswer():
                self._offer_outcome(event, now, out)
            case CallEnded():
                self._call_ended(event, now, out)
            case CallbackRequested():
                self._callback_requested(event, now, out)
            case CallbackResult():
                self._callback_result(event, now, out)
            case QueueStatus():
                self._queue(event.queue).open = event.open
            case TransferOffered() | TransferAnswered() | TransferCancelled() | TransferCompleted():
                self._transfer(event, now, out)
            case _:
                raise TypeError(f"Distributor.handle: {event!r} is not an ACD event")
        return out

    def next_deadline(self) -> float | None:
        timers = self._timers
        while timers and not self._timer_live(timers[0]):
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    def take_log(self) -> list[QueueEvent]:
        """The queue events since the last call, oldest first, for the runtime to store."""
        log, self._log = self._log, []
        return log

    def kpis(self, now: float) -> KpiReport:
        """Live KPIs, kept incrementally (the same figures `kpis_from_log` computes)."""
        return self._live.report(now)

    def reconfigure(self, queues: Sequence[QueueModel], agents: Sequence[AgentModel]) -> None:
        """Take a newly published configuration without losing any state: callers keep
        their places, agents their states, KPIs their history.

        Applied at once: queue settings other than those below (wrap-up, ring timeout,
        maximum wait and length, overflow, call-back, announcements, required skills for
        calls that arrive from now on); agents added (logged out); logged-out agents
        changed (skills, queues, penalties, station) or removed; names. Refused with a
        ``ValueError`` that changes nothing: a queue added or removed, a queue's strategy or
        priority classes changed (they order what is already waiting; the day's service
        levels are judged by one target), a logged-in agent changed or removed. Those apply
        at the next start.
        """
        AcdConfig(queues=list(queues), agents=list(agents))
        problems = []
        new_queues = {q.name: q for q in queues}
        if new_queues.keys() != self._queues.keys():
            added = sorted(new_queues.keys() - self._queues.keys())
            removed = sorted(self._queues.keys() - new_queues.keys())
            problems.append(f"queues added {added} / removed {removed}")
        for name, record in self._queues.items():
            model = new_queues.get(name)
            if model is None:
                continue
            if model.strategy != record.model.strategy:
                problems.append(f"queue {name!r}: strategy {record.model.strategy} -> "
                                f"{model.strategy}")
            if model.classes != record.model.classes:
                problems.append(f"queue {name!r}: priority classes changed")
        new_agents = {a.id: a for a in agents}
        for agent_id, record in self._agents.items():
            model = new_agents.get(agent_id)
            if record.state is AgentState.LOGGED_OUT:
                continue
            if model is None:
                problems.append(f"agent {agent_id!r} is logged in and would be removed")
            elif (model.station != record.home or dict(model.skills) != record.skills
                  or {m.queue: m.penalty for m in model.queues} != record.penalty):
                problems.append(f"agent {agent_id!r} is logged in and would change")
        if problems:
            raise ValueError("Distributor.reconfigure: " + "; ".join(problems)
                             + "; these apply at the next start (or log the agents out first)")
        for name, record in self._queues.items():
            record.model = new_queues[name]
        for agent_id, record in self._agents.items():
            if agent_id not in new_agents:
                self._forget_agent(record)
                record.penalty = {}  # in no queue: never offered a call again
        for model in agents:
            record = self._agents.get(model.id)
            if record is None:
                record = self._agents[model.id] = AgentRecord(model, len(self._agents))
            elif record.state is AgentState.LOGGED_OUT:
                self._forget_agent(record)
                record.station = record.home = model.station
                record.skills = dict(model.skills)
                record.penalty = {m.queue: m.penalty for m in model.queues}
                record.lines = []
                record.epoch += 1  # any entry left in a ready heap goes stale
            else:
                continue
            for name in record.penalty:
                queue = self._queues[name]
                queue.members.append(record)
                record.lines += [line for skills, line in queue.lines.items()
                                 if skills <= record.skills.keys()]

    def _forget_agent(self, agent: AgentRecord) -> None:
        """Take a logged-out agent out of its queues (its lines hold no live entry of it)."""
        for name in agent.penalty:
            members = self._queues[name].members
            members[:] = [m for m in members if m is not agent]

    def agent_state(self, agent_id: str) -> AgentState:
        return self._agent(agent_id).state

    def agent_station(self, agent_id: str) -> str:
        """Where the agent's offers ring: the station chosen at login, else the configured."""
        return self._agent(agent_id).station

    def waiting(self, queue: str) -> int:
        """Calls in the queue: waiting, ringing an agent, or held by a call-back placeholder."""
        return self._queue(queue).in_queue

    # --- lookups --------------------------------------------------------------------------

    def _queue(self, name: str) -> QueueRecord:
        try:
            return self._queues[name]
        except KeyError:
            known = ", ".join(sorted(self._queues)) or "(none)"
            raise UnknownQueue(f"queue {name!r} is not configured; queues are: {known}") from None

    def _agent(self, agent_id: str) -> AgentRecord:
        try:
            return self._agents[agent_id]
        except KeyError:
            raise UnknownAgent(f"agent {agent_id!r} is not configured") from None

    def _call(self, call_id: str) -> CallRecord:
        try:
            return self._calls[call_id]
        except KeyError:
            raise UnknownCall(
                f"call {call_id!r} is not in the ACD (never arrived, or already left)"
            ) from None

    def _check(self, agent: AgentRecord, trigger: Trigger, event: object):
        outcome = TABLE[agent.state, trigger]
        if outcome is ILLEGAL:
            raise AgentStateError(
                f"{type(event).__name__} for agent {agent.id!r}: not allowed while "
                f"{agent.state.value}"
            )
        return outcome

    # --- logging and state ----------------------------------------------------------------

    def _record(self, entry: QueueEvent) -> None:
        self._log.append(entry)
        self._live.add(entry)

    def _set_state(self, agent: AgentRecord, new: AgentState, reason: str, t: float, out: list,
                   queue: str = "") -> None:
        old = agent.state
        was, now_working = old in WORKING, new in WORKING
        if was != now_working:
            step = 1 if now_working else -1
            for line in agent.lines:
                line.staffed += step
        if old is AgentState.LOGGED_OUT or new is AgentState.LOGGED_OUT:
            step = 1 if old is AgentState.LOGGED_OUT else -1
            for name in agent.penalty:
                self._queues[name].logged_in += step
        agent.state = new
        agent.reason = reason
        if new is AgentState.LOGGED_OUT:
            agent.station = agent.home
        if new is not AgentState.READY:
            agent.epoch += 1  # its ready entries go stale
        out.append(AgentStateChanged(agent.id, old.value, new.value, reason))
        self._record(QueueEvent(t, Kind.AGENTSTATE, agent_id=agent.id, queue=queue,
                                old_state=old.value, new_state=new.value, reason=reason))

    # --- timers ---------------------------------------------------------------------------

    def _arm(self, when: float, kind: str, key: str) -> int:
        self._timer_seq += 1
        heapq.heappush(self._timers, (when, self._timer_seq, kind, key))
        return self._timer_seq

    def _timer_live(self, timer: tuple[float, int, str, str]) -> bool:
        _, tid, kind, key = timer
        if kind == "wrap":
            agent = self._agents[key]
            return agent.wrap_timer == tid
        call = self._calls.get(key)
        return call is not None and getattr(call, kind) == tid

    def _tick(self, now: float, out: list) -> None:
        timers = self._timers
        while timers and timers[0][0] <= now:
            timer = heapq.heappop(timers)
            if not self._timer_live(timer):
                continue
            when, _, kind, key = timer
            if kind == "wrap":
                agent = self._agents[key]
                agent.wrap_timer = 0
                self._end_wrap(agent, AgentState.READY, "", when, out)
                continue
            call = self._calls[key]
            setattr(call, kind, 0)
            if kind == "offer_timer":
                agent = call.agent
                out.append(CancelOffer(call.id, agent.id, agent.station))
                self._ring_failed(call, agent, REASON_NO_ANSWER, when, out)
            elif kind == "wait_timer":
                if call.state == WAITING and not call.number:
                    self._leave_waiting(call, Kind.EXITWITHTIMEOUT, LeaveReason.TIMEOUT, when,
                                        out)
            elif kind == "announce_timer":
                self._announce(call, when, out)
            elif kind == "cb_timer":
                if call.state == RETRY:
                    self._requeue(call, when, out)
                else:  # the guard on a call back that never reported a result
                    out.append(CancelOffer(call.id, call.agent.id, call.agent.station))
                    self._callback_unanswered(call, when, out)

    # --- calls ----------------------------------------------------------------------------

    def _line(self, queue: QueueRecord, skills: frozenset[str]) -> Line:
        line = queue.lines.get(skills)
        if line is None:
            line = queue.lines[skills] = Line(queue.model.name, skills)
            for agent in queue.members:
                if skills <= agent.skills.keys():
                    agent.lines.append(line)
                    if agent.state in WORKING:
                        line.staffed += 1
                    if agent.state is AgentState.READY:
                        self._push_ready(agent, line)
        return line

    def _arrive(self, event: CallArrived, t: float, out: list) -> None:
        queue = self._queue(event.queue)
        klass = event.priority or queue.model.default_class
        if klass not in queue.classes:
            raise UnknownPriorityClass(
                f"CallArrived {event.call_id!r}: queue {event.queue!r} has no priority class "
                f"{klass!r}; its classes are {sorted(queue.classes)}"
            )
        if event.call_id in self._calls:
            raise DuplicateCall(f"CallArrived: call {event.call_id!r} is already in the ACD")
        model = queue.model
        refused = None
        if not queue.open:
            refused = (Kind.CLOSED, LeaveReason.CLOSED, QueueClosed(event.call_id, model.name))
        elif queue.logged_in == 0 and model.when_no_agents != "wait":
            refused = (Kind.JOINEMPTY, LeaveReason.NO_AGENTS, NoAgents(event.call_id, model.name))
        elif model.max_length is not None and queue.in_queue >= model.max_length:
            refused = (Kind.FULL, LeaveReason.FULL, None)
        if refused:
            kind, reason, decision = refused
            if decision:
                out.append(decision)
            target = self._overflow_target(queue, reason)
            if target:
                out.append(Overflow(event.call_id, target))
            out.append(CallLeftQueue(event.call_id, reason))
            self._record(QueueEvent(t, kind, call_id=event.call_id, queue=model.name,
                                    priority_class=klass, detail=target or ""))
            return
        skills = frozenset(event.skills) | frozenset(model.required_skills)
        self._seq += 1
        call = CallRecord(event.call_id, queue, klass, self._line(queue, skills), self._seq, t)
        self._calls[call.id] = call
        queue.in_queue += 1
        call.line.add_call(call.priority, call.seq, call.token, call.id, call.promote_at)
        call.orig_position = call.line.position(call.priority, call.seq)
        self._record(QueueEvent(t, Kind.ENTERQUEUE, call_id=call.id, queue=model.name,
                                priority_class=klass, position=call.orig_position,
                                orig_position=call.orig_position,
                                detail=event.data.get("caller", "")))
        if model.max_wait_s is not None:
            call.wait_timer = self._arm(t + model.max_wait_s, "wait_timer", call.id)
        self._dispatch_call(call, t, out)
        if call.state == WAITING and model.announce.every_s > 0:
            if model.announce.on_entry:
                self._announce(call, t, out)
            else:
                call.announce_timer = self._arm(t + model.announce.every_s, "announce_timer",
                                                call.id)

    def _overflow_target(self, queue: QueueRecord, reason: LeaveReason) -> str | None:
        model = queue.model
        if reason is LeaveReason.NO_AGENTS and model.when_no_agents != "overflow":
            return None
        return model.overflow_target

    def _live_call(self, call_id: str, token: int) -> bool:
        call = self._calls.get(call_id)
        return call is not None and call.token == token and call.state == WAITING

    def _live_agent(self, agent_id: str, epoch: int) -> bool:
        agent = self._agents[agent_id]
        return agent.epoch == epoch and agent.state is AgentState.READY

    def _dispatch_call(self, call: CallRecord, t: float, out: list) -> None:
        agent_id = call.line.first_agent(self._live_agent)
        if agent_id is not None:
            self._offer(call, self._agents[agent_id], t, out)

    def _urgency(self, call: CallRecord, now: float) -> tuple:
        if now >= call.promote_at:
            return (1, -call.promote_at, 0.0, 0.0, -call.seq)
        return (0, call.priority, now - call.sl_due, now - call.arrived, -call.seq)

    def _agent_free(self, agent: AgentRecord, t: float, out: list) -> None:
        """The agent is READY: take the most urgent call they may serve, else stand in line."""
        best, best_urgency = None, None
        for line in agent.lines:
            call_id = line.head(t, self._live_call)
            if call_id is None:
                continue
            call = self._calls[call_id]
            urgency = self._urgency(call, t)
            if best_urgency is None or urgency > best_urgency:
                best, best_urgency = call, urgency
        if best is not None:
            self._offer(best, agent, t, out)
            return
        agent.rnd = self._rng.random()
        for line in agent.lines:
            self._push_ready(agent, line)

    def _push_ready(self, agent: AgentRecord, line: Line) -> None:
        strategy = self._queues[line.queue].model.strategy
        key = agent_key(strategy, agent, agent.penalty[line.queue], line.skills)
        line.add_agent(key, agent.order, agent.epoch, agent.id)

    def _offer(self, call: CallRecord, agent: AgentRecord, t: float, out: list) -> None:
        call.line.remove_call(call.priority, call.seq)
        call.agent = agent
        call.offered_at = t
        agent.call = call
        self._offers += 1
        agent.last_offer = self._offers
        self._set_state(agent, AgentState.RESERVED, "", t, out, call.queue.model.name)
        if call.number:
            call.state = DIALING
            out.append(Callback(call.id, agent.id, call.number))
            self._record(QueueEvent(t, Kind.CALLBACKDIAL, call_id=call.id,
                                    queue=call.queue.model.name, agent_id=agent.id,
                                    priority_class=call.klass, detail=call.number))
            guard = call.queue.model.callback.dial_timeout_s
            call.cb_timer = self._arm(t + guard, "cb_timer", call.id)
        else:
            call.state = OFFERED
            out.append(Offer(call.id, agent.id, agent.station))
            call.offer_timer = self._arm(t + call.queue.model.ring_timeout_s, "offer_timer",
                                         call.id)

    def _requeue(self, call: CallRecord, t: float, out: list) -> None:
        """Back to its own place (its arrival number is kept), then look for an agent."""
        call.state = WAITING
        call.agent = None
        call.token += 1
        call.line.add_call(call.priority, call.seq, call.token, call.id, call.promote_at)
        if (not call.number and call.queue.model.max_wait_s is not None
                and t >= call.arrived + call.queue.model.max_wait_s):
            self._leave_waiting(call, Kind.EXITWITHTIMEOUT, LeaveReason.TIMEOUT, t, out)
            return
        self._dispatch_call(call, t, out)

    def _release(self, call: CallRecord) -> None:
        """The call leaves the queue: drop its timers and forget it for positions."""
        call.queue.in_queue -= 1
        call.offer_timer = call.wait_timer = call.announce_timer = call.cb_timer = 0
        call.token += 1

    def _leave_waiting(self, call: CallRecord, kind: Kind, reason: LeaveReason, t: float,
                       out: list) -> None:
        position = call.line.position(call.priority, call.seq)  # its place, even if ringing
        if call.state == WAITING:
            call.line.remove_call(call.priority, call.seq)
        self._release(call)
        del self._calls[call.id]
        target = None
        if reason is not LeaveReason.ABANDONED:
            target = self._overflow_target(call.queue, reason)
            if reason is LeaveReason.NO_AGENTS:
                out.append(NoAgents(call.id, call.queue.model.name))
            if target:
                out.append(Overflow(call.id, target))
        out.append(CallLeftQueue(call.id, reason))
        self._record(QueueEvent(t, kind, call_id=call.id, queue=call.queue.model.name,
                                priority_class=call.klass, position=position,
                                orig_position=call.orig_position, wait_s=t - call.arrived,
                                detail=target or ""))

    def _announce(self, call: CallRecord, t: float, out: list) -> None:
        if call.state != WAITING or call.number:
            return
        model = call.queue.model
        position = call.line.position(call.priority, call.seq)
        staffed = call.line.staffed
        wait = None
        if staffed:
            # Callers ahead and this one are served as agents free up: on average one every
            # AHT / staffed seconds.
            wait = math.ceil(position * call.queue.aht / staffed)
            grew = position > call.last_pos or staffed < call.last_staffed
            if call.last_wait is not None and wait > call.last_wait and not grew:
                wait = call.last_wait
        call.last_pos, call.last_wait, call.last_staffed = position, wait, staffed
        out.append(Announce(call.id, position, wait))
        call.announce_timer = self._arm(t + model.announce.every_s, "announce_timer", call.id)

    def _caller_left(self, call_id: str, t: float, out: list) -> None:
        call = self._call(call_id)
        if call.state == CONNECTED:
            if self._caller_left_transfer(call, t, out):
                return
            raise CallStateError(
                f"CallerLeft {call_id!r}: the call is connected to agent {call.agent.id!r}; "
                f"send CallEnded for a conversation that ends"
            )
        if call.number:
            return  # a call-back placeholder: the caller was expected to hang up
        if call.state == OFFERED:
            agent = call.agent
            out.append(CancelOffer(call.id, agent.id, agent.station))
            self._record(QueueEvent(t, Kind.RINGCANCELED, call_id=call.id,
                                    queue=call.queue.model.name, agent_id=agent.id,
                                    ring_s=t - call.offered_at))
            self._leave_waiting(call, Kind.ABANDON, LeaveReason.ABANDONED, t, out)
            agent.call = None
            self._set_state(agent, AgentState.READY, "", t, out)
            self._agent_free(agent, t, out)
            return
        self._leave_waiting(call, Kind.ABANDON, LeaveReason.ABANDONED, t, out)

    def _offered_to(self, call_id: str, agent_id: str,
                    event: object) -> tuple[CallRecord, AgentRecord]:
        call, agent = self._call(call_id), self._agent(agent_id)
        if call.state != OFFERED or call.agent is not agent:
            held = call.agent.id if call.state == OFFERED else None
            raise OfferMismatch(
                f"{type(event).__name__}: call {call_id!r} is not offered to agent "
                f"{agent_id!r} (it is {call.state}"
                + (f", offered to {held!r})" if held else ")")
            )
        return call, agent

    def _offer_outcome(self, event, t: float, out: list) -> None:
        call, agent = self._offered_to(event.call_id, event.agent_id, event)
        if isinstance(event, OfferAnswered):
            self._check(agent, Trigger.ANSWER, event)
            self._connect(call, agent, t, out)
            self._record(QueueEvent(t, Kind.CONNECT, call_id=call.id,
                                    queue=call.queue.model.name, agent_id=agent.id,
                                    priority_class=call.klass, wait_s=t - call.arrived,
                                    ring_s=t - call.offered_at,
                                    orig_position=call.orig_position))
            out.append(CallLeftQueue(call.id, LeaveReason.ANSWERED))
        elif isinstance(event, OfferDeclined):
            self._check(agent, Trigger.DECLINE, event)
            self._ring_failed(call, agent, REASON_DECLINED, t, out)
        else:
            self._check(agent, Trigger.NO_ANSWER, event)
            self._ring_failed(call, agent, REASON_NO_ANSWER, t, out)

    def _connect(self, call: CallRecord, agent: AgentRecord, t: float, out: list) -> None:
        self._release(call)
        call.state = CONNECTED
        call.talk_started = t
        self._set_state(agent, AgentState.TALKING, "", t, out, call.queue.model.name)

    def _ring_failed(self, call: CallRecord, agent: AgentRecord, reason: str, t: float,
                     out: list) -> None:
        call.offer_timer = 0
        self._record(QueueEvent(t, Kind.RINGNOANSWER, call_id=call.id,
                                queue=call.queue.model.name, agent_id=agent.id,
                                ring_s=t - call.offered_at, reason=reason))
        agent.call = None
        self._set_state(agent, AgentState.NOT_READY, reason, t, out)
        self._requeue(call, t, out)

    def _withdraw(self, agent: AgentRecord, t: float, out: list) -> CallRecord:
        """The reserved agent is leaving: stop the ringing and put the call back in place."""
        call = agent.call
        agent.call = None
        call.offer_timer = call.cb_timer = 0
        out.append(CancelOffer(call.id, agent.id, agent.station))
        self._record(QueueEvent(t, Kind.RINGCANCELED, call_id=call.id,
                                queue=call.queue.model.name, agent_id=agent.id,
                                ring_s=t - call.offered_at))
        return call

    def _call_ended(self, event: CallEnded, t: float, out: list) -> None:
        call = self._call(event.call_id)
        if call.state != CONNECTED:
            raise CallStateError(
                f"CallEnded {call.id!r}: the call is {call.state}, not connected to an agent; "
                f"send CallerLeft for a caller who hangs up before answer"
            )
        agent = call.agent
        self._check(agent, Trigger.CALL_END, event)
        self.release_colleague(call, t, out)
        del self._calls[call.id]
        talk = t - call.talk_started
        agent.call = None
        agent.calls += 1
        agent.talk_total += talk
        kind = Kind.COMPLETECALLER if event.by_caller else Kind.COMPLETEAGENT
        self._record(QueueEvent(t, kind, call_id=call.id, queue=call.queue.model.name,
                                agent_id=agent.id, priority_class=call.klass,
                                wait_s=call.talk_started - call.arrived, talk_s=talk,
                                orig_position=call.orig_position,
                                detail="callback" if call.number else ""))
        self._start_wrap(agent, call.queue, talk, t, out)

    def _start_wrap(self, agent: AgentRecord, queue: QueueRecord, talk: float, t: float,
                    out: list) -> None:
        agent.wrap_queue = queue.model.name
        agent.wrap_started = t
        self._set_state(agent, AgentState.WRAP_UP, "", t, out, queue.model.name)
        agent.last_talk = talk  # the wait estimate's handle time adds the wrap-up at its end
        wrap = queue.model.wrap_up_s
        if wrap > 0:
            agent.wrap_timer = self._arm(t + wrap, "wrap", agent.id)
        else:
            self._end_wrap(agent, AgentState.READY, "", t, out)

    def _end_wrap(self, agent: AgentRecord, target: AgentState, reason: str, t: float,
                  out: list) -> None:
        queue = self._queues[agent.wrap_queue]
        handle = agent.last_talk + (t - agent.wrap_started)
        queue.aht += _AHT_WEIGHT * (handle - queue.aht)
        agent.wrap_timer = 0
        if target is AgentState.READY and agent.pending is not None:
            trigger, reason = agent.pending
            target = AgentState.LOGGED_OUT if trigger is Trigger.LOGOUT else AgentState.NOT_READY
        agent.pending = None
        self._set_state(agent, target, reason, t, out, queue.model.name)
        self._after_state(agent, t, out)

    def _after_state(self, agent: AgentRecord, t: float, out: list) -> None:
        if agent.state is AgentState.READY:
            agent.ready_since = t
            self._agent_free(agent, t, out)
        elif agent.state is AgentState.LOGGED_OUT:
            self._empty_queues(agent, t, out)

    def _empty_queues(self, agent: AgentRecord, t: float, out: list) -> None:
        """The last agent of a queue that does not let callers wait alone has logged out."""
        for name in agent.penalty:
            queue = self._queues[name]
            if queue.logged_in or queue.model.when_no_agents == "wait":
                continue
            stranded = [c for c in self._calls.values()
                        if c.queue is queue and c.state == WAITING and not c.number]
            for call in sorted(stranded, key=lambda c: c.seq):
                self._leave_waiting(call, Kind.EXITEMPTY, LeaveReason.NO_AGENTS, t, out)

    # --- agents' own keys -----------------------------------------------------------------

    def _agent_key(self, event, t: float, out: list) -> None:
        agent = self._agent(event.agent_id)
        match event:
            case AgentLogin():
                trigger, target, reason = Trigger.LOGIN, AgentState.NOT_READY, REASON_LOGGED_IN
            case AgentLogout():
                trigger, target, reason = Trigger.LOGOUT, AgentState.LOGGED_OUT, ""
            case AgentReady():
                trigger, target, reason = Trigger.READY, AgentState.READY, ""
            case AgentNotReady():
                trigger, target, reason = Trigger.NOT_READY, AgentState.NOT_READY, event.reason
            case _:
                trigger, target, reason = Trigger.WRAP_END, AgentState.READY, ""
        outcome = self._check(agent, trigger, event)
        if outcome is IGNORE:
            return
        if outcome is PENDING:
            agent.pending = (trigger, reason)
            return
        if trigger is Trigger.LOGIN:
            agent.station = self._seat(agent, event.station or agent.home)
        if agent.state is AgentState.WRAP_UP:
            self._end_wrap(agent, target, reason, t, out)
            return
        if agent.state is AgentState.RESERVED and agent.call.state == CONNECTED:
            self._colleague_keyed(agent, target, reason, t, out)  # rung for a transfer
            return
        call = self._withdraw(agent, t, out) if agent.state is AgentState.RESERVED else None
        self._set_state(agent, target, reason, t, out)
        if call is not None:
            self._requeue(call, t, out)
        self._after_state(agent, t, out)

    def _seat(self, agent: AgentRecord, station: str) -> str:
        for other in self._agents.values():
            if (other is not agent and other.station == station
                    and other.state is not AgentState.LOGGED_OUT):
                raise AgentStateError(
                    f"AgentLogin for agent {agent.id!r} at station {station!r}: agent "
                    f"{other.id!r} is logged in there; choose another station or log "
                    f"{other.id!r} out first")
        return station

    # --- call back --------------------------------------------------------------------------

    def _callback_requested(self, event: CallbackRequested, t: float, out: list) -> None:
        call = self._call(event.call_id)
        policy = call.queue.model.callback
        if not policy.enabled:
            raise CallStateError(
                f"CallbackRequested {call.id!r}: queue {call.queue.model.name!r} does not offer "
                f"call back; enable queues[].callback or do not offer the key"
            )
        if call.state != WAITING or call.number:
            raise CallStateError(
                f"CallbackRequested {call.id!r}: the call is "
                f"{'already a call-back placeholder' if call.number else call.state}; "
                f"only a waiting caller can ask for a call back"
            )
        if not event.number:
            raise CallStateError(f"CallbackRequested {call.id!r}: the number is empty")
        call.number = event.number
        call.callback_at = t
        call.wait_timer = call.announce_timer = 0
        self._record(QueueEvent(t, Kind.EXITWITHKEY, call_id=call.id,
                                queue=call.queue.model.name, priority_class=call.klass,
                                position=call.line.position(call.priority, call.seq),
                                orig_position=call.orig_position, wait_s=t - call.arrived,
                                detail=policy.key))

    def _callback_result(self, event: CallbackResult, t: float, out: list) -> None:
        call = self._call(event.call_id)
        if call.state != DIALING:
            raise CallStateError(
                f"CallbackResult {call.id!r}: no call back is being dialled for it "
                f"(the call is {call.state})"
            )
        if event.answered:
            agent = call.agent
            self._check(agent, Trigger.ANSWER, event)
            self._connect(call, agent, t, out)
            self._record(QueueEvent(t, Kind.CALLBACKCONNECT, call_id=call.id,
                                    queue=call.queue.model.name, agent_id=agent.id,
                                    priority_class=call.klass, wait_s=t - call.callback_at))
            out.append(CallLeftQueue(call.id, LeaveReason.CALLBACK))
        else:
            self._callback_unanswered(call, t, out)

    def _callback_unanswered(self, call: CallRecord, t: float, out: list) -> None:
        agent = call.agent
        policy = call.queue.model.callback
        call.attempts += 1
        call.cb_timer = 0
        agent.call = None
        call.agent = None
        give_up = call.attempts > policy.retries
        self._record(QueueEvent(t, Kind.CALLBACKFAILED, call_id=call.id,
                                queue=call.queue.model.name, agent_id=agent.id,
                                priority_class=call.klass, wait_s=t - call.callback_at,
                                reason="gave up" if give_up else "retry"))
        if give_up:
            self._release(call)
            del self._calls[call.id]
            out.append(CallLeftQueue(call.id, LeaveReason.CALLBACK_FAILED))
        else:
            call.state = RETRY
            call.cb_timer = self._arm(t + policy.retry_interval_s, "cb_timer", call.id)
        # The agent did nothing wrong: back to ready, keeping the idle time they had.
        self._set_state(agent, AgentState.READY, "", t, out)
        self._agent_free(agent, t, out)
