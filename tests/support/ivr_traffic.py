"""Generated call records with real IVR paths, for the menus' funnel (tests and bench).

    paths = journeys(400, seed=7)                        # real Session traces, varied callers
    records = list(calls(paths, days=3, per_day=200))   # CallRecords spread over opening hours

``journeys`` runs seeded random callers through the sample bank flow on the IVR harness:
balance, lost card, branch info, a person, random keys, silence, hang-ups at any moment, host
ok/error/no reply, queue answered/overflow/closed/abandoned; with ``older``, that share of
callers first press the older callers' key (9) in the first menu. ``calls`` lays those paths out
as call records over days (09:00-17:00 Shanghai unless told), callers drawn from a pool so
that some call again; the outcome follows the path the way ``records.cdr`` decides it.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

from ivr_harness import SHANGHAI, IvrHarness, luhn_complete, make_call

from branchline.firmware.records.types import CallRecord, TraceStep
from branchline.ivr import AgentCallEnded, CallerHungUp, QueueOutcome, sample_flow, sample_prompts

DIALLED = "075588880001"


def journeys(n: int, seed: int, flow=None, older: float = 0.0
             ) -> list[tuple[TraceStep, ...]]:
    flow = flow or sample_flow()
    prompts = sample_prompts()
    rng = random.Random(seed)
    out = []
    for i in range(n):
        card = luhn_complete("62" + "".join(rng.choice("0123456789") for _ in range(13)))
        pin = "".join(rng.choice("0123456789") for _ in range(6))
        lang = rng.choice("123")
        journey = rng.choice([[lang, "1", card + "#", "1", pin, "9"],
                              [lang, "2", card + "#", "1", "1"], [lang, "3", "9"],
                              [lang, "3"], [lang, "0"], [lang], [], [lang, "1", "7", "0"]])
        noise = [rng.choice("0123456789*#") for _ in range(rng.choice([0, 0, 0, 1, 3]))]
        if older and rng.random() < older:
            journey = ["9", *journey]
        host = rng.choice([(0.5, "ok"), (0.5, "ok"), (0.5, "error"), None])
        queue = rng.choice([[(rng.uniform(2, 90), QueueOutcome("answered", "a1")),
                             (rng.uniform(60, 300), AgentCallEnded())],
                            [(3.0, QueueOutcome("overflow"))],
                            [(rng.uniform(5, 60), QueueOutcome("abandoned"))],
                            [(1.0, QueueOutcome("closed"))]])

        def answer(request, host=host):
            if host is None:
                return None
            return host[0], host[1], {"balance": "1234.56", "reference": "20261124001"}

        when = dt.datetime(2026, 11, 24, rng.choice([10, 14, 20]), 0, tzinfo=SHANGHAI)
        h = IvrHarness(flow, call=make_call(vip=rng.random() < 0.05, when=when,
                                            call_id=f"g{i}"),
                       prompts=prompts, host=answer, queue=lambda e, q=queue: list(q))
        h.start()
        t = rng.uniform(0.5, 3.0)
        for text in journey + noise:
            h.keys(text, at=t, gap=0.2)
            t += len(text) * 0.2 + rng.choice([1.0, 2.0, 4.0, 9.0])
        if rng.random() < 0.3:
            h.at(rng.uniform(1.0, 120.0), CallerHungUp())
        h.run()
        out.append(tuple(TraceStep(round(tr.at, 3), tr.what, tr.node, tr.detail)
                         for tr in h.traces))
    return out


def _outcome(path: tuple[TraceStep, ...]) -> tuple[str, str | None, str]:
    queued = any(s.what == "enter" and s.detail == "queue" for s in path)
    answered = any(s.what == "queue" and ": answered" in s.detail for s in path)
    end = next((s.detail for s in reversed(path) if s.what == "end"), "")
    hung_up = end in ("caller hung up", "caller left the queue")
    side = "caller" if hung_up else "system"
    queue = "general" if queued else None
    if answered:
        return "answered", queue, side
    if end == "caller left the queue":
        return "abandoned-in-queue", queue, side
    if queued and any(s.what == "queue" for s in path):
        return "overflowed", queue, side
    served = any(s.what == "enter" and s.detail == "play" for s in path) or any(
        s.what == "host" and s.detail.endswith(": ok") for s in path)
    if hung_up and not served:
        return "abandoned-in-ivr", queue, side
    return "self-served", queue, side


def calls(paths: list[tuple[TraceStep, ...]], *, days: int, per_day: int, seed: int = 1,
          version: int = 1, first_day: dt.date = dt.date(2026, 1, 5), callers: int = 5000,
          dialled: str = DIALLED, prefix: str = "y", hours: tuple[int, int] = (9, 17)
          ) -> Iterator[CallRecord]:
    rng = random.Random(seed)
    outcomes = [_outcome(p) for p in paths]
    n = 0
    for d in range(days):
        opening = dt.datetime.combine(first_day + dt.timedelta(days=d), dt.time(hours[0]),
                                      SHANGHAI).timestamp()
        span = (hours[1] - hours[0]) * 3600
        for start in sorted(rng.uniform(0, span) for _ in range(per_day)):
            i = rng.randrange(len(paths))
            path = paths[i]
            outcome, queue, side = outcomes[i]
            started = round(opening + start, 3)
            n += 1
            yield CallRecord(
                call_id=f"{prefix}{n:07d}", started_at=started,
                ended_at=started + path[-1].at, caller=f"139{rng.randrange(callers):08d}",
                dialled=dialled, port="fxo1", config_version=version, outcome=outcome,
                hangup_side=side, language="zh", ivr_path=path, queue=queue)
