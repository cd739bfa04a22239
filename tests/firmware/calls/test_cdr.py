"""A call's record: the outcome and hang-up side from what happened (call_cdr.build_record)."""

import dataclasses

import pytest

from branchline.firmware.records.cdr import CallFacts, build_record
from branchline.ivr import Trace

BASE = CallFacts(
    call_id="c1", caller="13800138000", dialled="075588880001", port="fxo1",
    config_version=3, rang_at=1000.0, answered_at=1002.0, ended_at=1100.0, language="zh",
    traces=(Trace("enter", "language_menu", "menu", 2.0),), host={}, queue=None,
    priority_class=None, agent_id=None, wait_s=0.0, talk_s=0.0, wrap_s=0.0, survey=None,
    recording=None, caller_hung_up=False, ended_by_agent=False, queued_at_end=False,
    queue_outcomes=(), transferred=False, failed=False, reason="caller_done", message=False)
PLAYED = (Trace("enter", "balance_said", "play", 40.0),)


@pytest.mark.parametrize(("changes", "outcome", "side"), [
    ({}, "self-served", "system"),
    ({"caller_hung_up": True}, "abandoned-in-ivr", "caller"),
    ({"caller_hung_up": True, "traces": PLAYED}, "self-served", "caller"),
    ({"caller_hung_up": True, "host": {"balance": {"status": "ok"}}}, "self-served", "caller"),
    ({"caller_hung_up": True, "host": {"balance": {"status": "error", "code": "bad_pin"}}},
     "abandoned-in-ivr", "caller"),
    ({"caller_hung_up": True, "message": True}, "self-served", "caller"),
    ({"caller_hung_up": True, "queue": "general", "queued_at_end": True},
     "abandoned-in-queue", "caller"),
    ({"queue": "general", "agent_id": "1001", "ended_by_agent": True}, "answered", "agent"),
    ({"queue": "general", "agent_id": "1001", "caller_hung_up": True}, "answered", "caller"),
    ({"queue": "general", "queue_outcomes": ("overflow",)}, "overflowed", "system"),
    ({"queue": "general", "queue_outcomes": ("callback",)}, "callback", "system"),
    ({"transferred": True}, "transferred", "system"),
    ({"failed": True, "agent_id": "1001"}, "error", "system"),
])
def test_outcome_and_side(changes, outcome, side):
    record = build_record(dataclasses.replace(BASE, **changes))
    assert (record.outcome, record.hangup_side) == (outcome, side)


def test_record_fields_come_through_rounded():
    facts = dataclasses.replace(
        BASE, traces=(Trace("enter", "main_menu", "menu", 30.319999999999443),),
        queue="general", priority_class="normal", agent_id="1001", wait_s=2.0000000000010232,
        talk_s=20.000000000010232, wrap_s=10.0, survey=4,
        recording="recordings/2026/11/24/c1.wav", host={"balance": {"status": "ok"}})
    record = build_record(facts)
    assert record.ivr_path[0].at == 30.32
    assert (record.wait_seconds, record.talk_seconds, record.wrapup_seconds) == (2.0, 20.0, 10.0)
    assert (record.started_at, record.answered_at, record.ended_at) == (1000.0, 1002.0, 1100.0)
    assert (record.config_version, record.survey_score, record.language) == (3, 4, "zh")
    assert record.host_results == {"balance": {"status": "ok"}}
