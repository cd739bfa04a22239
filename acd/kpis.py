"""Call-centre KPIs from the ACD's event log: per queue, per agent, per 15-minute interval.

One fold, `KpiAccumulator.add(entry)`, defines every figure. The Distributor feeds it each event
as it records it (live, O(1) per event); `kpis_from_log` feeds it a stored log and must give the
same report. docs/kpis.md defines each KPI; the formulas are repeated next to the properties.

Attribution: a call's queue figures count in the interval it entered the queue; talk, wrap-up and
agent state times count where they happened (split at interval boundaries for agents).
"""

import copy
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from branchline.acd.eventlog import QueueEvent, QueueEventKind
from branchline.acd.models import QueueModel

SHORT_ABANDON_S = 5.0  # default: abandons quicker than this are excluded (common practice)
INTERVAL_S = 900.0  # 15-minute reporting intervals


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


@dataclass(slots=True)
class QueueKpis:
    offered: int = 0  # entered the queue (ENTERQUEUE)
    refused: int = 0  # turned away at the door: closed, full, nobody logged in
    answered: int = 0
    answered_in_sl: int = 0  # answered with wait <= the class's service_level_s
    abandoned: int = 0  # hung up while waiting, wait >= short-abandon threshold
    abandoned_in_sl: int = 0  # of those, hung up within the service-level time
    short_abandoned: int = 0
    timed_out: int = 0  # left by max wait or because nobody was logged in (overflowed)
    # left by a crash while waiting (also in timed_out) or for a call back (callbacks_failed)
    lost_in_restart: int = 0
    callbacks_requested: int = 0
    callbacks_answered: int = 0
    callbacks_failed: int = 0  # gave up after the last retry
    wait_answered_s: float = 0.0
    wait_abandoned_s: float = 0.0  # short abandons included
    wait_timed_out_s: float = 0.0
    callback_response_s: float = 0.0  # request -> call back answered, summed
    completed: int = 0  # conversations ended (talk time known)
    talk_s: float = 0.0
    wrap_ups: int = 0
    wrap_s: float = 0.0

    @property
    def service_level(self) -> float | None:
        """Default (variant A): answered in SL / (answered + abandoned + timed out)."""
        return _ratio(self.answered_in_sl, self.answered + self.abandoned + self.timed_out)

    @property
    def service_level_variants(self) -> dict[str, float | None]:
        handled = self.answered + self.abandoned + self.timed_out
        return {
            "A": self.service_level,
            # B: abandons within the SL time are left out of the denominator.
            "B": _ratio(self.answered_in_sl, handled - self.abandoned_in_sl),
            # C: abandons within the SL time count as met.
            "C": _ratio(self.answered_in_sl + self.abandoned_in_sl, handled),
            # D: answered calls only.
            "D": _ratio(self.answered_in_sl, self.answered),
        }

    @property
    def abandon_rate(self) -> float | None:
        """abandoned / (answered + abandoned + timed out); short abandons excluded."""
        return _ratio(self.abandoned, self.answered + self.abandoned + self.timed_out)

    @property
    def asa(self) -> float | None:
        """Average speed of answer: wait of answered calls / answered."""
        return _ratio(self.wait_answered_s, self.answered)

    @property
    def average_wait(self) -> float | None:
        """Wait of every call that left the line (answered, abandoned incl. short, timed out)."""
        n = self.answered + self.abandoned + self.short_abandoned + self.timed_out
        return _ratio(self.wait_answered_s + self.wait_abandoned_s + self.wait_timed_out_s, n)

    @property
    def aht(self) -> float | None:
        """Average handle time: (talk + wrap-up) / conversations completed."""
        return _ratio(self.talk_s + self.wrap_s, self.completed)

    @property
    def acw(self) -> float | None:
        """Average after-call work: wrap-up time / wrap-ups."""
        return _ratio(self.wrap_s, self.wrap_ups)

    @property
    def callback_response(self) -> float | None:
        """Average time from the callback request to the caller answering the call back."""
        return _ratio(self.callback_response_s, self.callbacks_answered)


@dataclass(slots=True)
class AgentKpis:
    answered: int = 0
    completed: int = 0
    talk_s: float = 0.0  # conversations that ended
    wrap_s: float = 0.0
    state_s: dict[str, float] = field(default_factory=dict)  # time in each state but logged out

    @property
    def login_s(self) -> float:
        """Logged-in time: every state but logged_out."""
        return sum(self.state_s.values())

    @property
    def occupancy(self) -> float | None:
        """(talking + wrap_up) / (ready + reserved + talking + wrap_up) time."""
        busy = self.state_s.get("talking", 0.0) + self.state_s.get("wrap_up", 0.0)
        avail = self.state_s.get("ready", 0.0) + self.state_s.get("reserved", 0.0)
        return _ratio(busy, busy + avail)

    @property
    def aht(self) -> float | None:
        return _ratio(self.talk_s + self.wrap_s, self.completed)


@dataclass(slots=True)
class KpiReport:
    queues: dict[str, QueueKpis]
    agents: dict[str, AgentKpis]
    queue_intervals: dict[tuple[float, str], QueueKpis]  # (interval start, queue)
    agent_intervals: dict[tuple[float, str], AgentKpis]  # (interval start, agent)


class KpiAccumulator:
    def __init__(self, queues: Sequence[QueueModel], *, interval_s: float = INTERVAL_S,
                 short_abandon_s: float = SHORT_ABANDON_S):
        self._sl = {(q.name, c.name): c.service_level_s for q in queues for c in q.classes}
        self._interval_s = interval_s
        self._short = short_abandon_s
        self._queues: dict[str, QueueKpis] = {q.name: QueueKpis() for q in queues}
        self._agents: dict[str, AgentKpis] = {}
        self._qi: dict[tuple[float, str], QueueKpis] = {}
        self._ai: dict[tuple[float, str], AgentKpis] = {}
        self._entered: dict[str, float] = {}  # call -> interval start, while it is in the queue
        self._agent_state: dict[str, tuple[str, float, str]] = {}  # agent -> state, since, queue

    def _start(self, t: float) -> float:
        return math.floor(t / self._interval_s) * self._interval_s

    def _q(self, entry: QueueEvent, interval: float | None = None) -> tuple[QueueKpis, ...]:
        start = self._start(entry.time) if interval is None else interval
        key = (start, entry.queue)
        if key not in self._qi:
            self._qi[key] = QueueKpis()
        return self._queues.setdefault(entry.queue, QueueKpis()), self._qi[key]

    def add(self, e: QueueEvent) -> None:
        k = e.kind
        if k is QueueEventKind.AGENTSTATE:
            self._agent_segment(e)
            return
        if k is QueueEventKind.ENTERQUEUE:
            self._entered[e.call_id] = self._start(e.time)
            for q in self._q(e):
                q.offered += 1
            return
        if k in (QueueEventKind.JOINEMPTY, QueueEventKind.FULL, QueueEventKind.CLOSED):
            for q in self._q(e):
                q.refused += 1
            return
        if k in (QueueEventKind.COMPLETECALLER, QueueEventKind.COMPLETEAGENT):
            for q in self._q(e):
                q.completed += 1
                q.talk_s += e.talk_s
            agent = self._agents.setdefault(e.agent_id, AgentKpis())
            agent.completed += 1
            agent.talk_s += e.talk_s
            return
        if k is QueueEventKind.TRANSFER:
            # The leg's talk time counts; the call completes once, with its last agent.
            for q in self._q(e):
                q.talk_s += e.talk_s
            agent = self._agents.setdefault(e.agent_id, AgentKpis())
            agent.completed += 1
            agent.talk_s += e.talk_s
            return
        if k is QueueEventKind.CONNECT and e.reason == "transfer":
            self._agents.setdefault(e.agent_id, AgentKpis()).answered += 1
            return  # the queue counted the call when its first agent answered
        interval = self._entered.get(e.call_id)
        if interval is None:
            return  # ring and call-back attempts of calls that entered before the log began
        sl_met = e.wait_s <= self._sl.get((e.queue, e.priority_class), math.inf)
        if k is QueueEventKind.CONNECT:
            del self._entered[e.call_id]
            for q in self._q(e, interval):
                q.answered += 1
                q.answered_in_sl += sl_met
                q.wait_answered_s += e.wait_s
            self._agents.setdefault(e.agent_id, AgentKpis()).answered += 1
        elif k is QueueEventKind.ABANDON:
            del self._entered[e.call_id]
            short = e.wait_s < self._short
            for q in self._q(e, interval):
                q.short_abandoned += short
                q.abandoned += not short
                q.abandoned_in_sl += (not short) and sl_met
                q.wait_abandoned_s += e.wait_s
        elif k in (QueueEventKind.EXITWITHTIMEOUT, QueueEventKind.EXITEMPTY):
            del self._entered[e.call_id]
            for q in self._q(e, interval):
                q.timed_out += 1
                q.wait_timed_out_s += e.wait_s
        elif k is QueueEventKind.EXITWITHKEY:
            for q in self._q(e, interval):
                q.callbacks_requested += 1
        elif k is QueueEventKind.CALLBACKCONNECT:
            del self._entered[e.call_id]
            for q in self._q(e, interval):
                q.callbacks_answered += 1
                q.callback_response_s += e.wait_s
            self._agents.setdefault(e.agent_id, AgentKpis()).answered += 1
        elif k is QueueEventKind.CALLBACKFAILED and e.reason == "gave up":
            del self._entered[e.call_id]
            for q in self._q(e, interval):
                q.callbacks_failed += 1
        elif k is QueueEventKind.APPLIANCERESTART:
            # The caller never got the agent or the call back they waited for.
            del self._entered[e.call_id]
            for q in self._q(e, interval):
                q.lost_in_restart += 1
                if e.reason == "callback":
                    q.callbacks_failed += 1
                else:
                    q.timed_out += 1
                    q.wait_timed_out_s += e.wait_s

    def _agent_segment(self, e: QueueEvent) -> None:
        prev = self._agent_state.get(e.agent_id)
        if prev is not None:
            self._close(self._agents, self._ai, e.agent_id, prev, e.time)
        if e.new_state == "logged_out":
            self._agent_state.pop(e.agent_id, None)
        else:
            self._agent_state[e.agent_id] = (e.new_state, e.time, e.queue)

    def _close(self, agents: dict, intervals: dict, agent_id: str,
               segment: tuple[str, float, str], end: float) -> None:
        state, start, queue = segment
        agent = agents.setdefault(agent_id, AgentKpis())
        agent.state_s[state] = agent.state_s.get(state, 0.0) + (end - start)
        t = start
        while t < end:
            bin_start = self._start(t)
            stop = min(end, bin_start + self._interval_s)
            slot = intervals.setdefault((bin_start, agent_id), AgentKpis())
            slot.state_s[state] = slot.state_s.get(state, 0.0) + (stop - t)
            t = stop
        if state == "wrap_up" and queue:
            agent.wrap_s += end - start
            for q in (self._queues.setdefault(queue, QueueKpis()),
                      self._qi.setdefault((self._start(end), queue), QueueKpis())):
                q.wrap_ups += 1
                q.wrap_s += end - start

    def report(self, now: float) -> KpiReport:
        """The figures as of `now`: open agent states count up to `now`."""
        agents = copy.deepcopy(self._agents)
        ai = copy.deepcopy(self._ai)
        for agent_id, (state, start, _) in self._agent_state.items():
            # An open wrap-up has time but has not ended: no queue wrap-up is counted for it.
            self._close(agents, ai, agent_id, (state, start, ""), now)
        return KpiReport(copy.deepcopy(self._queues), agents, copy.deepcopy(self._qi), ai)


def kpis_from_log(
    log: Iterable[QueueEvent],
    queues: Sequence[QueueModel],
    now: float,
    *,
    interval_s: float = INTERVAL_S,
    short_abandon_s: float = SHORT_ABANDON_S,
) -> KpiReport:
    """Recompute every KPI from a stored event log (the same figures the live engine keeps)."""
    acc = KpiAccumulator(queues, interval_s=interval_s, short_abandon_s=short_abandon_s)
    for entry in log:
        acc.add(entry)
    return acc.report(now)
