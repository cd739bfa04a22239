"""The first hour of the shipped day scenario, at the lunchtime peak's rate, end to end.

09:00-10:00 of config/defaults/scenario_day.yaml with the 09:00 arrival rate raised from 40 to
the day's peak of 95 calls an hour (to fit a day's worth of situations into the test budget):
agents logging in from their keypads, hybrid echo at 14 dB, mistyped, early and silent
callers, VIPs, private numbers, abandons. Every call the board placed ends in exactly one
record, nothing fails, and the KPIs recomputed from the stored ACD log agree with the live
engine's.
"""

import collections
from importlib import resources

import pytest
from runtime_harness import (
    RuntimeHarness,
    bank_url,  # noqa: F401 - fixture
    prompts_dir,  # noqa: F401 - fixture
)

from branchline.acd import kpis_from_log
from branchline.firmware.records.cdr import queue_event
from branchline.firmware.records.database import Records


@pytest.fixture(scope="module")
def day(tmp_path_factory, prompts_dir, bank_url):  # noqa: F811
    text = (resources.files("branchline.config") / "defaults" / "scenario_day.yaml").read_text()
    text = text.replace('day: {start: "09:00", end: "17:00"}',
                        'day: {start: "09:00", end: "10:00"}')
    text = text.replace("per_hour: {9: 40,", "per_hour: {9: 95,")
    assert "10:00" in text and "9: 95" in text
    h = RuntimeHarness(tmp_path_factory.mktemp("day"), text, prompts_dir=prompts_dir,
                       bank_url=bank_url)
    h.run(3600)
    live = h.app.acd.kpis(h.clock.now())
    now = h.clock.now()
    records = h.close()
    return h, records, live, now


def test_every_placed_call_has_exactly_one_record(day):
    h, records, _, _ = day
    placed = [c for c in h.board.callers() if c.port is not None]
    assert len(placed) > 60  # about 95 offered in the hour, a few blocked on 8 trunks
    assert len({r.call_id for r in records}) == len(records)
    assert len(records) == len(placed)
    # Private callers (3 % of the day) withhold caller ID: their records have no number.
    shown = collections.Counter(r.caller for r in records if r.caller)
    assert not shown - collections.Counter(c.number for c in placed)
    assert sum(shown.values()) >= 0.9 * len(placed)
    assert h.app.counters["call_errors"] == 0
    assert h.app.counters["records_refused"] == 0
    assert not [r for r in records if r.outcome == "error"]
    outcomes = collections.Counter(str(r.outcome) for r in records)
    assert outcomes["answered"] > 10 and outcomes["self-served"] > 10, outcomes


def test_answered_calls_have_their_recording_and_agent(day):
    h, records, _, _ = day
    answered = [r for r in records if r.outcome == "answered"]
    for record in answered:
        assert record.agent_id is not None
        assert (h.data_dir / record.recording).stat().st_size > 44  # more than a WAV header
        assert record.talk_seconds > 0


def test_kpis_from_the_stored_log_agree_with_the_live_engine(day):
    h, _, live, now = day
    with Records(h.data_dir / "records.db") as db:
        stored = [queue_event(row, h.app.epoch0) for row in db.iter_events()]
    queues = h.app.config.document.acd.queues
    replayed = kpis_from_log([e for e in stored if e.time <= now], queues, now)
    for name, q in live.queues.items():
        r = replayed.queues[name]
        for count in ("offered", "answered", "answered_in_sl", "abandoned", "short_abandoned",
                      "timed_out", "completed"):
            assert getattr(r, count) == getattr(q, count), (name, count)
        for total in ("wait_answered_s", "wait_abandoned_s", "talk_s", "wrap_s"):
            assert getattr(r, total) == pytest.approx(getattr(q, total), abs=1e-3)
    assert live.queues["general"].offered > 20
    for agent, a in live.agents.items():
        assert replayed.agents[agent].answered == a.answered
        for state, seconds in a.state_s.items():
            assert replayed.agents[agent].state_s[state] == pytest.approx(seconds, abs=1e-3)


def test_agent_state_history_is_stored(day):
    h, _, _, _ = day
    with Records(h.data_dir / "records.db") as db:
        latest = db.latest_agent_states()
    # Everyone on shift at 09:00-10:00 logged in from the keypad: 1001-1003.
    assert set(latest) == {"1001", "1002", "1003"}
    assert all(change.to_state != "logged_out" for change in latest.values())



def test_agents_who_missed_a_ring_keyed_ready_again(day):
    h, _, _, _ = day
    agents = [a for a in h.board.agents() if a.rings]
    # 4 % of rings go unanswered: the ACD makes the agent not ready ("no answer"), and the
    # agent keys ready again (no breaks fall in 09:00-10:00, so every later ready is that).
    assert sum(a.missed for a in agents) > 0
    for agent in agents:
        readies = [code for _, code in agent.codes].count("*12#")
        assert readies - 1 >= min(agent.missed, 1), agent
        assert agent.answered > agent.missed  # nobody sat out the hour not ready
