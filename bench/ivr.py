"""IVR engine throughput: events per second through Session.handle on the sample flow.

Random callers (seeded) walk the sample bank flow on the virtual clock of the test harness
(tests/support/ivr_harness.py): journeys for balance, lost card, branch info, a person,
silence, and random keys, with host and queue answers varied per call. The engine's own time
is measured around every start()/handle() call; the harness (the stand-in runtime) is
reported separately.
"""

from __future__ import annotations

import datetime as dt
import random
import time

from ivr_harness import SHANGHAI, IvrHarness, luhn_complete, make_call

from branchline.ivr import (
    AgentCallEnded,
    QueueOutcome,
    load_flow,
    sample_flow,
    sample_prompts,
    validate_flow,
)
from branchline.ivr._loader import _read_default

CALLS = 3000
SEED = 20261124


class TimedHarness(IvrHarness):
    engine_seconds = 0.0

    def start(self):
        t0 = time.perf_counter()
        actions = self.session.start(self.now)
        TimedHarness.engine_seconds += time.perf_counter() - t0
        self.events += 1
        return self._execute(actions)

    def send(self, event):
        t0 = time.perf_counter()
        actions = self.session.handle(event, self.now)
        TimedHarness.engine_seconds += time.perf_counter() - t0
        self.events += 1
        return self._execute(actions)


def _one_call(rng: random.Random, flow, prompts, n: int) -> int:
    card = luhn_complete("62" + "".join(rng.choice("0123456789") for _ in range(13)))
    pin = "".join(rng.choice("0123456789") for _ in range(6))
    journey = rng.choice([["1", "1", card + "#", "1", pin, "9"], ["1", "2", card + "#", "1"],
                          ["2", "3", "1", "9"], ["3", "0"], []])
    noise = [rng.choice("0123456789*#") for _ in range(rng.randint(0, 8))]
    host = rng.choice([(0.5, "ok"), (0.5, "error"), None])
    queue = rng.choice([[(5.0, QueueOutcome("answered", "a1")), (60.0, AgentCallEnded())],
                        [(3.0, QueueOutcome("overflow"))], [(3.0, QueueOutcome("closed"))]])

    def answer(request):
        if host is None:
            return None
        return host[0], host[1], {"balance": "1234.56", "reference": "20261124001"}

    when = dt.datetime(2026, 11, 24, rng.choice([10, 14, 20]), 0, tzinfo=SHANGHAI)
    h = TimedHarness(flow, call=make_call(vip=rng.random() < 0.1, when=when, call_id=str(n)),
                     prompts=prompts, host=answer, queue=lambda e: list(queue))
    h.start()
    t = rng.uniform(0.2, 2.0)
    for text in journey + noise:
        h.keys(text, at=t, gap=0.15)
        t += len(text) * 0.15 + rng.choice([0.3, 1.0, 3.0, 7.0])
    h.run()
    return h.events


def run() -> str:
    flow, prompts = sample_flow(), sample_prompts()
    rng = random.Random(SEED)
    TimedHarness.engine_seconds = 0.0
    t0 = time.perf_counter()
    events = sum(_one_call(rng, flow, prompts, n) for n in range(CALLS))
    total = time.perf_counter() - t0
    engine = TimedHarness.engine_seconds

    text = _read_default("bank_flow.yaml")
    t1 = time.perf_counter()
    for _ in range(50):
        load_flow(text)
    load_ms = (time.perf_counter() - t1) / 50 * 1000
    t2 = time.perf_counter()
    for _ in range(50):
        validate_flow(flow, queues={"general", "vip"}, endpoints={"balance", "card_loss"},
                      prompts=prompts)
    validate_ms = (time.perf_counter() - t2) / 50 * 1000

    return f"""## IVR engine

| figure | value |
|---|---|
| calls through the sample flow | {CALLS} |
| events handled (start + handle) | {events} |
| events per call (mean) | {events / CALLS:.1f} |
| engine events per second | {events / engine:,.0f} |
| engine time per event | {engine / events * 1e6:.1f} µs |
| with the harness (virtual runtime) events per second | {events / total:,.0f} |
| load_flow(bank_flow.yaml) | {load_ms:.2f} ms |
| validate_flow(sample) | {validate_ms:.2f} ms |

Measured by `bench/ivr.py`: {CALLS} seeded random callers (balance, lost card, branch info,
operator, silence, random keys; host ok/error/no reply; queue answered/overflow/closed; 10 %
VIP; open and closed hours) run through `Session` on the test harness's virtual clock, one
thread. Engine time is `time.perf_counter()` around every `start()`/`handle()` call; the
harness line includes the stand-in runtime. Load and validate are the mean of 50 runs.
"""
