"""Poisson callers and exponential handle times through the whole runtime match Erlang C.

Every caller presses 0 at the first menu (the operator key), waits as long as it takes, and
the agent talks for an exponential time with mean 20 s; no wrap-up. With 3 agents and 360
calls an hour (2 Erlangs) Erlang C gives P(wait) = 0.444 and ASA = 8.9 s. The callers reach
the queue after an IVR delay that is independent per caller, which keeps the arrivals
Poisson (the displacement theorem). The run is in event mode (`simulate --media events`:
the same appliance, IVR, ACD and records, without the audio, whose agreement with the audio
mode tests/firmware/test_event_mode.py checks), which takes seconds where audio took a minute.
Expected values are computed from the measured arrival
rate and handle time, so only the queueing itself is under test. Tolerances: about three
standard errors for an hour of traffic (~360 calls; waits are correlated, which
widens the error several times over the binomial one).
"""

import pytest
from runtime_harness import (
    RuntimeHarness,
    bank_url,  # noqa: F401 - fixture
    prompts_dir,  # noqa: F401 - fixture
    scenario_text,
)

from branchline.acd.erlang import average_speed_of_answer, probability_of_waiting

HOURS = 1.0
AHT_S = 20
RATE_PER_HOUR = 360
AGENTS = 3


def _no_wrap_up(document):
    for queue in document["acd"]["queues"]:
        queue["wrap_up_s"] = 0


@pytest.mark.slow
def test_waiting_matches_erlang_c(tmp_path, prompts_dir, bank_url):  # noqa: F811
    text = scenario_text(
        trunks=14, stations=AGENTS, rate=RATE_PER_HOUR,
        end=f"{9 + int(HOURS)}:{int(HOURS % 1 * 60):02d}",
        prelude="[]", goal_steps='[{keys: "0", early: 0}, {wait_agent: true}]',
        agents=[(f"100{i + 1}", i) for i in range(AGENTS)], answer_delay=0,
        handle=f"{{kind: exponential, mean: {AHT_S}}}", patience=100000, queue_patience=100000)
    text = text.replace("survey: {answer_share: 1.0", "survey: {answer_share: 0.0")
    h = RuntimeHarness(tmp_path / "d", text, prompts_dir=prompts_dir, bank_url=bank_url,
                       edit_document=_no_wrap_up, events=True)
    h.run(HOURS * 3600)
    kpis = h.app.acd.kpis(h.clock.now())
    q = kpis.queues["general"]
    assert q.abandoned == q.short_abandoned == q.timed_out == 0
    rate = q.offered / (HOURS * 3600)
    aht = q.talk_s / q.completed
    expected_pw = probability_of_waiting(rate, aht, AGENTS)
    expected_asa = average_speed_of_answer(rate, aht, AGENTS)
    connects = [e for e in h.events() if e.name == "CONNECT"]
    waited = sum(1 for e in connects if e.data.get("wait_s", 0.0) > 0.5)  # more than a ring
    observed_pw = waited / len(connects)
    observed_asa = sum(e.data.get("wait_s", 0.0) for e in connects) / len(connects)
    assert q.offered > 280
    assert aht == pytest.approx(AHT_S, rel=0.2)
    assert observed_pw == pytest.approx(expected_pw, abs=0.15)
    assert observed_asa == pytest.approx(expected_asa, rel=0.5, abs=3)
    h.close()
    print(f"offered {q.offered}, AHT {aht:.1f} s: P(wait) {observed_pw:.3f} vs Erlang C "
          f"{expected_pw:.3f}, ASA {observed_asa:.1f} s vs {expected_asa:.1f} s")
