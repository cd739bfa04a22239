"""A caller who hangs up at any moment: in the menus, in the queue, while talking.

On an ordinary Chinese line only the exchange's busy tone says so; the runtime hears it with
CallProgressRx. Each case must leave no half-open call (line, ACD, timers) and exactly one
call record with the right outcome.
"""

from runtime_harness import (
    RuntimeHarness,
    bank_url,  # noqa: F401 - fixture
    prompts_dir,  # noqa: F401 - fixture
    scenario_text,
)

from branchline.acd import AgentState

# Busy tone is detected about 1.45 s after it starts (docs/dsp-tones.md); allow 3 s.
DETECT_S = 3.0


def _one_call(h):
    h.run_until(lambda: h.board.callers() and h.board.callers()[0].outcome is not None, 600)
    caller = h.board.callers()[0]
    h.run_until(lambda: h.app.active_calls == 0, DETECT_S)
    return caller


def _assert_clean(h):
    assert h.app.active_calls == 0
    assert h.app.acd.waiting("general") == 0
    assert h.app.counters["call_errors"] == 0
    assert h.app.counters["illegal_acd"] == 0
    assert not h.board._off_hook[0], "the trunk was left off hook"


def test_hang_up_in_the_menus(tmp_path, prompts_dir, bank_url):  # noqa: F811
    h = RuntimeHarness(tmp_path / "d", scenario_text(goal_steps='[{keys: "1"}, {hang_up: true}]'),
                       prompts_dir=prompts_dir, bank_url=bank_url)
    caller = _one_call(h)
    _assert_clean(h)
    [cdr] = h.close()
    assert (cdr.outcome, cdr.hangup_side, cdr.hangup_reason) == (
        "abandoned-in-ivr", "caller", "caller_hung_up")
    assert cdr.ended_at - h.app.wall_epoch(caller.ended) < DETECT_S
    assert cdr.queue is None


def test_hang_up_in_the_queue(tmp_path, prompts_dir, bank_url):  # noqa: F811
    # The only agent's shift starts at 10:00: nobody answers, the caller gives up after 20 s.
    text = scenario_text(goal_steps='[{keys: "0"}, {wait_agent: true}]',
                         queue_patience=20)
    text = text.replace('start: "09:00", end: "23:00"', 'start: "10:00", end: "23:00"')
    h = RuntimeHarness(tmp_path / "d", text, prompts_dir=prompts_dir, bank_url=bank_url)
    caller = _one_call(h)
    _assert_clean(h)
    [cdr] = h.close()
    assert (cdr.outcome, cdr.hangup_side, cdr.queue) == ("abandoned-in-queue", "caller",
                                                          "general")
    assert 19.0 < cdr.wait_seconds < 20 + DETECT_S
    assert cdr.ended_at - h.app.wall_epoch(caller.ended) < DETECT_S
    kinds = [e.name for e in h.events() if e.call_id == cdr.call_id]
    assert kinds == ["ENTERQUEUE", "ABANDON"]


def test_hang_up_while_talking(tmp_path, prompts_dir, bank_url):  # noqa: F811
    text = scenario_text(goal_steps='[{keys: "0"}, {wait_agent: true}]',
                         handle="{kind: fixed, value: 600}")
    h = RuntimeHarness(tmp_path / "d", text, prompts_dir=prompts_dir, bank_url=bank_url)
    h.run_until(lambda: h.board.callers() and h.board.callers()[0].connected is not None, 300)
    h.run(5)
    h.hang_up_caller(0)
    hung_up = h.clock.now()
    h.run_until(lambda: h.app.active_calls == 0, DETECT_S)
    _assert_clean(h)
    assert h.app.acd.agent_state("1001") is AgentState.WRAP_UP
    station = h.app.stations[h.board.trunks]
    assert station.state.value == "caller_gone"  # the agent hears busy tone
    assert h.app.loop.tones.active(station.port)
    h.run(12)  # the queue's 10 s wrap-up ends; the record is written then
    assert h.app.acd.agent_state("1001") is AgentState.READY
    [cdr] = [r for r in h.close() if r.caller == h.board.callers()[0].number]
    assert (cdr.outcome, cdr.hangup_side, cdr.agent_id) == ("answered", "caller", "1001")
    assert 5.0 <= cdr.talk_seconds < 5.0 + DETECT_S
    assert 9.9 < cdr.wrapup_seconds < 10.1
    assert cdr.ended_at - h.app.wall_epoch(hung_up) < DETECT_S
    kinds = [e.name for e in h.events() if e.call_id == cdr.call_id]
    assert kinds[:2] == ["ENTERQUEUE", "CONNECT"] and "COMPLETECALLER" in kinds
