"""Contract tests: random event streams through the engine, on every strategy.

The test plays the runtime: it keeps its own model of calls and agents, built only from the
events it sent and the decisions it got back, and checks after every step that

* every call leaves the queue at most once, and at the end every call has left or is still held
  (a call-back placeholder may stay);
* an agent holds at most one offer, is offered only straight from READY, and is RESERVED exactly
  while it holds one;
* the call offered is the most urgent in its line (priority class, first come first served,
  callers past their aging bound first);
* no agent is READY while a call they could take waits (no polling, no idle agent beside a queue);
* illegal events raise and change nothing;
* the live KPIs equal those recomputed from the log, and agree with the decisions.
"""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from branchline.acd import (
    AgentLogin,
    AgentLogout,
    AgentModel,
    AgentNotReady,
    AgentReady,
    AgentStateChanged,
    Announce,
    CallArrived,
    Callback,
    CallbackRequested,
    CallbackResult,
    CallEnded,
    CallerLeft,
    CallLeftQueue,
    CancelOffer,
    Distributor,
    IllegalEvent,
    LeaveReason,
    Membership,
    NoAgents,
    Offer,
    OfferAnswered,
    OfferDeclined,
    OfferNoAnswer,
    Overflow,
    QueueClosed,
    QueueModel,
    Strategy,
    Tick,
    WrapUpEnded,
    kpis_from_log,
)

SKILLS = [(), ("cantonese",), ("mandarin",)]
AGENTS = [
    ("a1", {"cards": 0}, {"mandarin": 9}),
    ("a2", {"cards": 0, "loans": 1}, {"mandarin": 5, "cantonese": 7}),
    ("a3", {"loans": 0}, {"cantonese": 10}),
    ("a4", {"cards": 2, "loans": 0}, {"mandarin": 3}),
    ("a5", {"cards": 1}, {"cantonese": 2, "mandarin": 2}),
]
DOOR = {LeaveReason.FULL, LeaveReason.CLOSED, LeaveReason.NO_AGENTS}


def config(strategy):
    queues = [
        QueueModel(name=name, strategy=strategy, wrap_up_s=5, ring_timeout_s=15, max_wait_s=400,
                   overflow_target="voicemail", max_length=12, announce={"every_s": 30},
                   callback={"enabled": True, "retries": 1, "retry_interval_s": 40},
                   classes=[{"name": "vip", "priority": 10, "promote_after_s": 300},
                            {"name": "normal", "priority": 0, "promote_after_s": 25}])
        for name in ("cards", "loans")
    ]
    agents = [AgentModel(id=i, name=i, station=f"s-{i}", skills=skills,
                         queues=[Membership(queue=q, penalty=p) for q, p in member.items()])
              for i, member, skills in AGENTS]
    return queues, agents


class Model:
    """What the runtime knows, from its own events and the engine's decisions."""

    def __init__(self, queues, agents):
        self.queues = {q.name: q for q in queues}
        self.agents = {a.id: a for a in agents}
        self.state = {a.id: "logged_out" for a in agents}
        self.offer = {}  # agent -> call
        self.calls = {}  # call -> dict
        self.left = {}  # call -> reason
        self.seq = 0
        self.answered = 0
        self.abandoned = 0

    def eligible(self, agent_id, call):
        a = self.agents[agent_id]
        return (any(m.queue == call["queue"] for m in a.queues)
                and set(call["skills"]) <= set(a.skills))

    def key(self, call, t):
        if t >= call["promote_at"]:
            return (1, -call["promote_at"], 0)
        return (0, call["priority"], -call["seq"])

    def arrive(self, event, t):
        queue = self.queues[event.queue]
        klass = next(c for c in queue.classes if c.name == (event.priority or "normal"))
        self.seq += 1
        self.calls[event.call_id] = dict(
            queue=event.queue, skills=frozenset(event.skills), priority=klass.priority,
            seq=self.seq, promote_at=t + klass.promote_after_s, state="waiting", number="")

    def apply(self, decisions, t):
        previous = None
        for d in decisions:
            match d:
                case AgentStateChanged():
                    assert self.state[d.agent_id] == d.old, d
                    self.state[d.agent_id] = d.new
                case Offer() | Callback():
                    assert previous == AgentStateChanged(d.agent_id, "ready", "reserved", "")
                    assert d.agent_id not in self.offer, "two offers to one agent"
                    call = self.calls[d.call_id]
                    assert self.eligible(d.agent_id, call)
                    if isinstance(d, Offer):
                        assert call["state"] == "waiting" and not call["number"]
                        self.check_most_urgent(d.call_id, t)
                    else:
                        assert call["state"] in ("waiting", "retry") and call["number"]
                    call["state"] = "offered"
                    self.offer[d.agent_id] = d.call_id
                case CancelOffer():
                    assert self.offer.pop(d.agent_id) == d.call_id
                    call = self.calls[d.call_id]
                    # A withdrawn call back may be back in line or waiting for its retry.
                    call["state"] = "retry" if call["number"] else "waiting"
                case CallLeftQueue():
                    assert d.call_id not in self.left, f"{d.call_id} left twice"
                    self.left[d.call_id] = d.reason
                    if d.reason is LeaveReason.ANSWERED:
                        self.answered += 1
                    if d.reason is LeaveReason.ABANDONED:
                        self.abandoned += 1
                    if d.call_id in self.calls and d.reason not in (
                            LeaveReason.ANSWERED, LeaveReason.CALLBACK):
                        self.calls[d.call_id]["state"] = "gone"
                case Announce():
                    assert self.calls[d.call_id]["state"] == "waiting"
                case Overflow() | NoAgents() | QueueClosed():
                    pass
                case _:
                    raise AssertionError(f"unexpected decision {d!r}")
            previous = d
        for agent_id, state in self.state.items():
            assert (state == "reserved") == (agent_id in self.offer), (agent_id, state)
            if state == "ready":
                for call_id, call in self.calls.items():
                    waiting = call["state"] == "waiting"
                    assert not (waiting and self.eligible(agent_id, call)), (
                        f"{agent_id} is ready while {call_id} waits")

    def check_most_urgent(self, call_id, t):
        call = self.calls[call_id]
        rivals = [c for c in self.calls.values()
                  if c["state"] == "waiting" and not c["number"]
                  and c["queue"] == call["queue"] and c["skills"] == call["skills"]]
        best = max(self.key(c, t) for c in rivals)
        assert self.key(call, t) == best, f"{call_id} offered before a more urgent caller"


# Actions, weighted towards the ones that move calls along.
ACTIONS = [0, 0, 0, 3, 4, 4, 4, 5, 6, 7, 8, 9, 9, 9, 9, 10, 10, 10, 11, 12, 13]
steps = st.lists(
    st.tuples(st.floats(0, 20), st.sampled_from(ACTIONS), st.integers(0, 50),
              st.integers(0, 50)),
    min_size=10, max_size=80,
)


def pick(items, j, default="nope"):
    items = sorted(items)
    return items[j % len(items)] if items else default


@pytest.mark.parametrize("strategy", list(Strategy))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=steps)
def test_invariants_hold_on_random_streams(strategy, script):
    run(strategy, script)


@pytest.mark.parametrize("strategy", list(Strategy))
def test_invariants_hold_through_a_long_busy_stream(strategy):
    rng = random.Random(2024)
    script = [(rng.expovariate(1 / 4), rng.choice(ACTIONS), rng.randrange(50),
               rng.randrange(50)) for _ in range(4000)]
    model = run(strategy, script)
    reasons = set(model.left.values())
    assert model.answered > 50
    assert {LeaveReason.ANSWERED, LeaveReason.ABANDONED, LeaveReason.CALLBACK,
            LeaveReason.TIMEOUT} <= reasons, reasons


def run(strategy, script):
    queues, agents = config(strategy)
    acd = Distributor(queues, agents, seed=7)
    model = Model(queues, agents)
    log = []
    t = 0.0
    n = 0
    for agent_id, *_ in AGENTS:
        model.apply(acd.handle(AgentLogin(agent_id), t), t)
        model.apply(acd.handle(AgentReady(agent_id), t), t)
    log += acd.take_log()

    def send(event):
        try:
            out = acd.handle(event, t)
        except IllegalEvent:
            assert acd.take_log() == [], "an illegal event left a log entry"
            return None
        return out

    for dt, action, i, j in script:
        t += dt
        while (due := acd.next_deadline()) is not None and due <= t:
            model.apply(acd.handle(Tick(), due), due)
            log += acd.take_log()
        agent_id = AGENTS[i % len(AGENTS)][0]
        some_call = pick(model.calls, j)
        event = None
        match action:
            case 0:
                n += 1
                event = CallArrived(f"c{n}", ("cards", "loans")[i % 2],
                                    ("vip", "normal", "normal")[j % 3], SKILLS[j % 3])
            case 3:
                event = AgentLogin(agent_id)
            case 4:
                event = AgentReady(agent_id)
            case 5:
                event = AgentNotReady(agent_id, "break")
            case 6:
                event = AgentLogout(agent_id)
            case 7 | 8:
                waiting = [c for c, v in model.calls.items() if v["state"] == "waiting"]
                event = CallerLeft(pick(waiting, j, some_call) if action == 8 else some_call)
            case 9:
                agent_id = pick(model.offer, i, agent_id)  # mostly a real offer
                held = model.offer.get(agent_id, some_call)
                answer = (OfferAnswered, OfferAnswered, OfferDeclined, OfferNoAnswer)[j % 4]
                event = answer(held, agent_id)
                if model.calls.get(held, {}).get("number"):
                    event = CallbackResult(held, answered=j % 2 == 0)
            case 10:
                talking = [c for c, v in model.calls.items() if v["state"] == "connected"]
                event = CallEnded(pick(talking, j, some_call), by_caller=j % 2 == 0)
            case 11:
                event = WrapUpEnded(agent_id)
            case 12:
                event = CallbackRequested(some_call, "139")
            case 13:
                event = Tick()
        if isinstance(event, CallArrived):
            model.arrive(event, t)
        before = dict(model.state)
        out = send(event)
        if out is None:
            assert model.state == before
            if isinstance(event, CallArrived):
                raise AssertionError(f"{event} refused")
            continue
        match event:
            case OfferAnswered() | OfferDeclined() | OfferNoAnswer() | CallbackResult():
                model.offer.pop(event.agent_id if hasattr(event, "agent_id") else next(
                    a for a, c in model.offer.items() if c == event.call_id))
                call = model.calls[event.call_id]
                answered = isinstance(event, OfferAnswered) or getattr(event, "answered", False)
                call["state"] = "connected" if answered else (
                    "retry" if call["number"] else "waiting")
            case CallbackRequested():
                model.calls[event.call_id]["number"] = event.number  # still in its place
            case CallEnded():
                model.calls[event.call_id]["state"] = "ended"
        model.apply(out, t)
        log += acd.take_log()
    log += acd.take_log()
    # Every call has left once, or is still held by the engine.
    for call_id, call in model.calls.items():
        if call_id not in model.left:
            assert call["state"] in ("waiting", "offered", "retry"), (call_id, call)
    # KPIs: live == recomputed from the log, and they agree with the decisions.
    live = acd.kpis(t)
    assert kpis_from_log(log, queues, t) == live
    totals = live.queues.values()
    assert sum(q.answered for q in totals) == model.answered
    assert sum(q.abandoned + q.short_abandoned for q in totals) == model.abandoned
    entered = [c for c in model.calls if model.left.get(c) not in DOOR]
    assert sum(q.offered for q in totals) == len(entered)
    return model
