"""Queueing theory check: the engine on a virtual clock behaves as an M/M/N queue should.

Poisson arrivals, exponential handle times, infinite patience, no wrap-up, one class, longest
idle, offers answered at once: the probability of waiting and the average speed of answer must
match Erlang C within statistical tolerance. The tolerance is four standard errors from batch
means (20 batches), so a seeded run fails only if the engine is wrong.
"""

import heapq
import random
import statistics

from branchline.acd import (
    AgentLogin,
    AgentModel,
    AgentReady,
    CallArrived,
    CallEnded,
    Distributor,
    Membership,
    Offer,
    OfferAnswered,
    QueueEventKind,
    QueueModel,
    Tick,
)
from branchline.acd.erlang import average_speed_of_answer, probability_of_waiting

AGENTS = 5
AHT = 60.0
RATE = 4 / AHT  # 4 Erlangs on 5 agents: 80 % occupancy, a queue most of the time
CALLS = 24_000
WARM_UP = 2_000
BATCHES = 20


def simulate(seed):
    rng = random.Random(seed)
    queue = QueueModel(name="q", wrap_up_s=0, announce={"every_s": 0}, ring_timeout_s=30,
                       classes=[{"name": "normal", "priority": 0, "promote_after_s": 1e9}])
    agents = [AgentModel(id=f"a{i}", name=f"a{i}", station=f"s{i}",
                         queues=[Membership(queue="q")]) for i in range(AGENTS)]
    acd = Distributor([queue], agents)
    waits = {}
    pending = []  # (time, seq, event)
    seq = 0

    def react(decisions, now):
        nonlocal seq
        for d in decisions:
            if isinstance(d, Offer):
                react(acd.handle(OfferAnswered(d.call_id, d.agent_id), now), now)
                seq += 1
                heapq.heappush(pending, (now + rng.expovariate(1 / AHT), seq,
                                         CallEnded(d.call_id)))

    for i in range(AGENTS):
        acd.handle(AgentLogin(f"a{i}"), 0.0)
        acd.handle(AgentReady(f"a{i}"), 0.0)
    t = 0.0
    for n in range(CALLS):
        t += rng.expovariate(RATE)
        seq += 1
        heapq.heappush(pending, (t, seq, CallArrived(f"c{n}", "q")))
    while pending:
        due = acd.next_deadline()
        if due is not None and due < pending[0][0]:
            react(acd.handle(Tick(), due), due)
            continue
        now, _, event = heapq.heappop(pending)
        react(acd.handle(event, now), now)
        for entry in acd.take_log():
            if entry.kind is QueueEventKind.CONNECT:
                waits[int(entry.call_id[1:])] = entry.wait_s
    return [waits[n] for n in range(WARM_UP, CALLS)]


def _within(samples, expected):
    size = len(samples) // BATCHES
    means = [statistics.fmean(samples[i * size:(i + 1) * size]) for i in range(BATCHES)]
    error = statistics.stdev(means) / BATCHES ** 0.5
    return abs(statistics.fmean(means) - expected) < 4 * error, statistics.fmean(means), error


def test_probability_of_waiting_and_asa_match_erlang_c():
    waits = simulate(seed=11)
    p_ok, p, p_err = _within([w > 0 for w in waits], probability_of_waiting(RATE, AHT, AGENTS))
    asa_ok, asa, asa_err = _within(waits, average_speed_of_answer(RATE, AHT, AGENTS))
    assert p_ok, (p, p_err, probability_of_waiting(RATE, AHT, AGENTS))
    assert asa_ok, (asa, asa_err, average_speed_of_answer(RATE, AHT, AGENTS))
    # The tolerance is tight enough to mean something: a few percent of the expected values.
    assert p_err < 0.02 and asa_err < 0.1 * average_speed_of_answer(RATE, AHT, AGENTS)
