"""Call back end to end on the virtual clock: the whole appliance and the sim board's exchange.

A caller waits in the queue while nobody is logged in, hears the announcement (position and
expected wait), presses the call back key, hears the confirmation and hangs up. An agent logs
in; the ACD reserves them and decides the call back; their phone rings; off hook, the line is
seized, dial tone heard, the number sent as DTMF (the sim's exchange decodes it with its own
DTMF receiver), the caller's phone rings and they answer with a hello: voice, so the two are
bridged and talk. A busy number is retried as the queue's policy says, then given up.
"""

import pytest
from runtime_harness import (
    RuntimeHarness,
    bank_url,  # noqa: F401 - fixture
    prompts_dir,  # noqa: F401 - fixture
    scenario_text,
)

from branchline.acd import AgentState
from branchline.hw.sim.caller import CallOutcome

AGENT_PORT = 4  # station 0 on a 4-trunk board


def _scenario(callback, *, rate=180):
    text = scenario_text(
        trunks=4, stations=1, rate=rate, end="09:01", prelude="[]",
        goal_steps='[{keys: "0", early: 0}, {callback: "1"}]', answer_delay=2,
        handle="{kind: fixed, value: 30}")
    text = text.replace('shift: {start: "09:00", end: "23:00"}',
                        'shift: {start: "09:03", end: "23:00"}')
    return text.replace("callers:\n", f"callers:\n  callback: {callback}\n", 1)


def _short_retries(document):
    for queue in document["acd"]["queues"]:
        queue["callback"] = {"enabled": True, "key": "1", "retries": 1,
                             "retry_interval_s": 20}
        queue["wrap_up_s"] = 0


def _first_asker(board):
    return next(c for c in board.callers() if c.callback_asked is not None)


def test_a_caller_asks_hangs_up_is_called_back_and_talks_to_the_agent(
        tmp_path, prompts_dir, bank_url):  # noqa: F811
    h = RuntimeHarness(tmp_path / "d", _scenario(
        "{busy: 0, no_answer: 0, answer_delay: {kind: fixed, value: 6}}"),
        prompts_dir=prompts_dir, bank_url=bank_url, edit_document=_short_retries)
    h.run_until(lambda: any(c.called_back for c in h.board.callers()), limit=600)
    h.run(90)
    records = {r.call_id: r for r in h.close()}
    caller = _first_asker(h.board)
    # The sim's person: asked while waiting (nobody logged in), was rung back and talked.
    assert caller.callback_asked < 180 < caller.called_back
    assert caller.callback_attempts == 1
    assert caller.agent_port == AGENT_PORT and caller.connected >= caller.called_back
    assert caller.outcome is CallOutcome.RELEASED  # the agent hung up, then the line
    assert [k.kind for k in caller.keys] == ["ok", "callback"]
    # The original call's record says it became a call back; the leg's record is linked by id.
    original = next(r for r in records.values() if r.caller == caller.number)
    assert original.outcome == "callback"
    leg = records[f"{original.call_id}-cb1"]
    assert leg.outcome == "answered" and leg.agent_id == "1001"
    assert leg.dialled == caller.number and leg.queue == "general"
    assert leg.talk_seconds == pytest.approx(30 - 2 - 3, abs=6)  # handle time less set-up
    assert leg.recording is not None and (h.data_dir / leg.recording).exists()
    steps = [s.what for s in leg.ivr_path]
    assert steps[:4] == ["ring_agent", "agent_answered", "seize", "dial_tone"]
    assert "dialled" in steps and steps[-1] == "voice"
    # Counted once by the queue: one call offered, answered by the call back.
    events = [e.name for e in h.events() if e.call_id == original.call_id]
    assert events.count("ENTERQUEUE") == 1
    assert "CALLBACKCONNECT" in events and "CALLBACKFAILED" not in events
    kpis = h.app.acd.kpis(h.clock.now()).queues["general"]
    assert kpis.offered == len({r.call_id for r in records.values()
                                if r.queue == "general" and "-cb" not in r.call_id})
    assert h.board.counters().dialled_unknown == 0


def test_a_busy_number_is_retried_then_given_up(tmp_path, prompts_dir, bank_url):  # noqa: F811
    h = RuntimeHarness(tmp_path / "d", _scenario("{busy: 1.0, no_answer: 0}", rate=120),
                       prompts_dir=prompts_dir, bank_url=bank_url,
                       edit_document=_short_retries)
    h.run_until(lambda: any(c.callback_attempts >= 2 for c in h.board.callers()), limit=900)
    h.run(30)
    records = {r.call_id: r for r in h.close()}
    caller = next(c for c in h.board.callers() if c.callback_attempts >= 2)
    assert caller.callback_attempts == 2  # the first try and one retry (retries: 1)
    assert caller.called_back is None and caller.outcome is CallOutcome.CALLBACK_PENDING
    original = next(r for r in records.values() if r.caller == caller.number)
    legs = [records[f"{original.call_id}-cb{n}"] for n in (1, 2)]
    assert [leg.outcome for leg in legs] == ["callback", "callback"]
    assert [leg.hangup_reason for leg in legs] == ["callback_busy", "callback_busy"]
    assert f"{original.call_id}-cb3" not in records
    assert legs[1].started_at - legs[0].ended_at == pytest.approx(20, abs=8)
    events = [e.name for e in h.events() if e.call_id == original.call_id]
    assert events.count("CALLBACKFAILED") == 2 and events.count("ENTERQUEUE") == 1


def test_no_line_to_dial_on_is_an_unanswered_attempt(
        tmp_path, prompts_dir, bank_url):  # noqa: F811
    text = _scenario("{busy: 0, no_answer: 0}", rate=180).replace(
        "board: {trunks: 4, stations: 1}", "board: {trunks: 1, stations: 1}")
    h = RuntimeHarness(tmp_path / "d", text, prompts_dir=prompts_dir, bank_url=bank_url,
                       edit_document=_short_retries)
    h.run_until(lambda: h.board.callers() and h.board.callers()[0].outcome is
                CallOutcome.CALLBACK_PENDING, limit=170)
    h.board.fail_port(0, "cable out")  # the only line: nothing to call back on
    h.run_until(lambda: h.app.acd.agent_state("1001") is AgentState.RESERVED, limit=300)
    h.run(60)
    records = {r.call_id: r for r in h.close()}
    legs = sorted((r for r in records.values() if "-cb" in r.call_id), key=lambda r: r.call_id)
    assert [(r.outcome, r.hangup_reason) for r in legs][:2] == [
        ("callback", "callback_no_line"), ("callback", "callback_no_line")]
    assert h.board.callers()[0].callback_attempts == 0  # the exchange never rang them
    # The agent heard busy tone, hung up, and was rung again for the retry.
    assert h.board.agents()[0].answered >= 2
