"""ACD engine benchmarks: time per event under a deep queue, and a simulated day.

Engine only: the "runtime" here is a few lines of Python that answer offers and end calls; its
time is measured apart from the engine's `handle()` time.
"""

import heapq
import random
import statistics
import time

from branchline.acd import (
    AgentLogin,
    AgentModel,
    AgentReady,
    CallArrived,
    CallEnded,
    CallerLeft,
    Distributor,
    IllegalEvent,
    Membership,
    Offer,
    OfferAnswered,
    QueueModel,
    Tick,
    WrapUpEnded,
)

LANGUAGES = ["mandarin", "cantonese", "english", "minnan"]
PRODUCTS = ["cards", "loans", "wealth", "fx", "mortgage"]


def _config(rng, n_queues, n_agents, wrap_up_s):
    queues = [QueueModel(name=f"q{i}", wrap_up_s=wrap_up_s, announce={"every_s": 30},
                         ring_timeout_s=15, expected_handle_s=240) for i in range(n_queues)]
    agents = []
    for i in range(n_agents):
        skills = {lang: rng.randint(3, 10) for lang in rng.sample(LANGUAGES, 2)}
        skills |= {p: rng.randint(1, 10) for p in rng.sample(PRODUCTS, 2)}
        member = rng.sample(range(n_queues), 3)
        agents.append(AgentModel(id=f"a{i}", name=f"agent {i}", station=f"fxs{i}", skills=skills,
                                 queues=[Membership(queue=f"q{q}", penalty=k)
                                         for k, q in enumerate(member)]))
    return queues, agents


def _call_skills(rng):
    # Most callers need a language only; some a product too.
    skills = [rng.choices(LANGUAGES, weights=[6, 2, 1, 1])[0]]
    if rng.random() < 0.3:
        skills.append(rng.choice(PRODUCTS))
    return tuple(skills)


def deep_queue(events=60_000):
    """10,000 waiting callers, 1,000 agents (all talking), 20 queues: time each handle()."""
    rng = random.Random(1)
    queues, agents = _config(rng, 20, 1000, wrap_up_s=30)
    acd = Distributor(queues, agents, seed=1)
    now = 0.0
    offered_to = {}  # agent -> call ringing
    talking = {}  # agent -> call
    waiting = []  # calls waiting (may include a few that were offered since: skipped)
    n = 0
    samples = []

    def handle(event):
        start = time.perf_counter_ns()
        out = acd.handle(event, now)
        samples.append(time.perf_counter_ns() - start)
        for d in out:
            if isinstance(d, Offer):
                offered_to[d.agent_id] = d.call_id
        return out

    for a in agents:
        acd.handle(AgentLogin(a.id), now)
        acd.handle(AgentReady(a.id), now)
    # Fill every agent with a call, then let 10,000 callers queue up.
    while len(talking) < len(agents) or len(waiting) < 10_000:
        n += 1
        out = acd.handle(CallArrived(f"c{n}", rng.choice(queues).name, "normal",
                                     _call_skills(rng)), now)
        if not out or not isinstance(out[-1], Offer):
            waiting.append(f"c{n}")
        for d in out:
            if isinstance(d, Offer):
                acd.handle(OfferAnswered(d.call_id, d.agent_id), now)
                talking[d.agent_id] = d.call_id
        now += 0.001
    depth = len(waiting)
    gone = set()
    samples.clear()
    while len(samples) < events:
        now += 0.01
        kind = rng.random()
        if kind < 0.5:
            n += 1
            handle(CallArrived(f"c{n}", rng.choice(queues).name,
                               rng.choice(["vip", "normal", "normal", "normal"]),
                               _call_skills(rng)))
            waiting.append(f"c{n}")
        elif kind < 0.65:
            i = rng.randrange(len(waiting))
            waiting[i], waiting[-1] = waiting[-1], waiting[i]
            call = waiting.pop()
            if call not in gone and call not in offered_to.values():
                handle(CallerLeft(call))
                gone.add(call)
        else:
            agent = rng.choice(list(talking))
            handle(CallEnded(talking.pop(agent)))
            offered_to.pop(agent, None)
            handle(WrapUpEnded(agent))
            if agent in offered_to:
                call = offered_to.pop(agent)
                gone.add(call)
                handle(OfferAnswered(call, agent))
                talking[agent] = call
        if (due := acd.next_deadline()) is not None and due <= now:
            handle(Tick())
        acd.take_log()
    samples.sort()
    total = sum(samples) / 1e9
    return {
        "depth": depth,
        "events": len(samples),
        "per_s": len(samples) / total,
        "mean_us": statistics.fmean(samples) / 1e3,
        "p50_us": samples[len(samples) // 2] / 1e3,
        "p99_us": samples[int(len(samples) * 0.99)] / 1e3,
        "waiting_end": sum(acd.waiting(q.name) for q in queues),
    }


def simulated_day(seats=300, hours=10.0):
    """A 300-seat centre for a day: Poisson arrivals at ~85 % occupancy, exponential talk
    (mean 240 s), 15 s wrap-up, callers who give up after an exponential patience (mean 180 s)."""
    rng = random.Random(2)
    queues, agents = _config(rng, 6, seats, wrap_up_s=15)
    # Everyone speaks Mandarin in this centre so skills never strand a caller for the day.
    agents = [a.model_copy(update={"skills": a.skills | {"mandarin": 5}}) for a in agents]
    acd = Distributor(queues, agents, seed=2)
    rate = seats * 0.85 / (240 + 15)
    pending = []
    seq = 0
    engine_ns = 0
    events = 0
    calls = 0

    def push(t, event):
        nonlocal seq
        seq += 1
        heapq.heappush(pending, (t, seq, event))

    def handle(event, now):
        nonlocal engine_ns, events
        start = time.perf_counter_ns()
        out = acd.handle(event, now)
        engine_ns += time.perf_counter_ns() - start
        events += 1
        for d in out:
            if isinstance(d, Offer):
                push(now + rng.uniform(2, 6), OfferAnswered(d.call_id, d.agent_id))
        return out

    answered = set()
    for a in agents:
        handle(AgentLogin(a.id), 0.0)
        handle(AgentReady(a.id), 0.0)
    t = 0.0
    while t < hours * 3600:
        t += rng.expovariate(rate)
        calls += 1
        push(t, CallArrived(f"c{calls}", rng.choice(queues).name,
                            "vip" if rng.random() < 0.1 else "normal", ("mandarin",)))
        push(t + rng.expovariate(1 / 180), CallerLeft(f"c{calls}"))
    wall = time.perf_counter()
    while pending:
        due = acd.next_deadline()
        if due is not None and due < pending[0][0]:
            handle(Tick(), due)
            continue
        now, _, event = heapq.heappop(pending)
        if isinstance(event, CallerLeft) and event.call_id in answered:
            continue
        if isinstance(event, OfferAnswered):
            try:
                handle(event, now)
            except IllegalEvent:  # the caller left while it rang: the offer was withdrawn
                continue
            answered.add(event.call_id)
            push(now + rng.expovariate(1 / 240), CallEnded(event.call_id))
            continue
        handle(event, now)
        acd.take_log()
    while (due := acd.next_deadline()) is not None:
        handle(Tick(), due)
    wall = time.perf_counter() - wall
    report = acd.kpis(hours * 3600)
    q = [k for k in report.queues.values()]
    answered_n = sum(k.answered for k in q)
    in_sl = sum(k.answered_in_sl for k in q)
    handled = sum(k.answered + k.abandoned + k.timed_out for k in q)
    return {
        "calls": calls, "events": events, "engine_s": engine_ns / 1e9, "wall_s": wall,
        "answered": answered_n, "sl": in_sl / handled if handled else 0.0,
    }


def run() -> str:
    deep = deep_queue()
    day = simulated_day()
    rows = [
        ("events per second, deep queue", f"{deep['per_s']:,.0f}"),
        ("time per event: mean / p50 / p99",
         f"{deep['mean_us']:.1f} / {deep['p50_us']:.1f} / {deep['p99_us']:.1f} µs"),
        ("callers waiting at the start / end of the run",
         f"{deep['depth']:,} / {deep['waiting_end']:,}"),
        (f"simulated day, 300 seats, {day['calls']:,} calls, {day['events']:,} events: "
         "engine time", f"{day['engine_s']:.2f} s"),
        ("same day, engine + simulation harness", f"{day['wall_s']:.2f} s"),
        ("same day: answered; service level (variant A)",
         f"{day['answered']:,}; {day['sl']:.1%}"),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    return f"""## ACD

| figure | value |
|---|---|
{table}

How measured. *Deep queue*: 20 queues, 1,000 agents (each in 3 queues with tiers, 2 languages
and 2 products, levels 1–10), every agent talking and {deep['depth']:,} callers waiting with
mixed skills; then {deep['events']:,} events of a steady mix (of the random draws: 50 %
arrivals with 25 % VIPs, 15 % a caller hanging up at a random place in line, 35 % a call
ending, its wrap-up key and the next offer answered; plus `Tick`s when due, with announcements
every 30 s). Each `handle()` is timed alone with `time.perf_counter_ns()`. *Simulated day*: 300
agents in 6 queues, Poisson arrivals at 85 % occupancy for 10 hours, exponential talk time
(mean 240 s), 15 s wrap-up, offers answered after 2–6 s, callers who hang up after an
exponential patience (mean 180 s), on a virtual clock; "engine time" sums the `handle()` calls
only.
"""


if __name__ == "__main__":
    print(run())
