"""Ports going out of service under the appliance (a board lost, a line cut), on the sim board.

``SimBoard.fail_port`` / ``restore_port`` raise ``PortOutOfService`` / ``PortInService`` as a
driver that lost its board does. A call on a lost trunk ends cleanly at once (record reason
``line_lost:<why>``, the agent freed to wrap-up, the recording closed) and the trunk takes no
call until it is back; an agent whose station is lost is made not ready, and an offer ringing
there is withdrawn (the caller keeps their place).
"""

import wave

from runtime_harness import (
    RuntimeHarness,
    bank_url,  # noqa: F401 - fixture
    prompts_dir,  # noqa: F401 - fixture
    scenario_text,
)

from branchline.acd import AgentState
from branchline.firmware.records.database import Records
from branchline.hw.ports import LineState
from branchline.hw.sim.caller import CallOutcome

TO_AGENT = '[{keys: "0", early: 0}, {wait_agent: true}]'


def _harness(tmp_path, prompts_dir, bank_url, **scenario):  # noqa: F811
    text = scenario_text(prelude="[]", goal_steps=TO_AGENT, **scenario)
    return RuntimeHarness(tmp_path / "d", text, prompts_dir=prompts_dir, bank_url=bank_url)


def test_a_trunk_lost_mid_conversation_ends_the_call_cleanly(
        tmp_path, prompts_dir, bank_url):  # noqa: F811
    h = _harness(tmp_path, prompts_dir, bank_url, trunks=2, stations=1, rate=180,
                 handle="{kind: fixed, value: 120}")
    h.run_until(lambda: any(c.connected for c in h.board.callers()), limit=600)
    caller = next(c for c in h.board.callers() if c.connected)
    h.run(5)
    h.board.fail_port(caller.port, "board unplugged")
    h.step()
    assert caller.port in h.app.out_of_service
    assert caller.port not in h.app.calls
    assert h.app.acd.agent_state("1001") in (AgentState.WRAP_UP, AgentState.READY)
    assert h.board.callers()[caller.id - 1].outcome is CallOutcome.LINE_LOST
    # While it is out, new callers are not put on it, and it comes back when restored.
    h.run(60)
    assert all(c.port != caller.port for c in h.board.callers() if c.arrived > h.clock.now() - 60)
    h.board.restore_port(caller.port)
    h.step()
    assert caller.port not in h.app.out_of_service
    records = {r.call_id: r for r in h.close()}
    lost = [r for r in records.values() if r.hangup_reason == "line_lost:board unplugged"]
    assert len(lost) == 1
    record = lost[0]
    assert record.outcome == "answered" and record.agent_id == "1001"
    assert record.talk_seconds > 4
    with wave.open(str(h.data_dir / record.recording)) as wav:  # closed, whole, both sides
        assert wav.getnchannels() == 2 and wav.getnframes() > 4 * 8000


def test_a_trunk_lost_in_the_menus_is_an_error_call_and_events_are_ignored_while_out(
        tmp_path, prompts_dir, bank_url):  # noqa: F811
    h = _harness(tmp_path, prompts_dir, bank_url, trunks=1, stations=1, rate=180,
                 agents=[("1001", 0)])
    h.run_until(lambda: h.app.active_calls == 1 and next(iter(h.app.calls.values())).answered,
                limit=600)
    h.app.on_input(h.clock.now(), [LineState(0, h.clock.now(), False, 0.0, 0.0)], [], [])
    assert h.app.active_calls == 0 and h.app.out_of_service == {0: "line_cut"}
    h.app.on_input(h.clock.now(), [LineState(0, h.clock.now(), True, 25.0, -48.0)], [], [])
    assert h.app.out_of_service == {}
    records = h.close()
    cut = [r for r in records if r.hangup_reason == "line_lost:line_cut"]
    assert len(cut) == 1 and cut[0].outcome == "error" and cut[0].hangup_side == "system"


def test_a_station_lost_makes_its_agent_not_ready_and_withdraws_the_offer(
        tmp_path, prompts_dir, bank_url):  # noqa: F811
    h = _harness(tmp_path, prompts_dir, bank_url, trunks=2, stations=2, rate=180,
                 agents=[("1001", 0), ("1002", 1)], answer_delay=10)
    station = h.board.trunks  # station 0, agent 1001
    h.run_until(lambda: h.app.acd.agent_state("1001") is AgentState.RESERVED, limit=600)
    h.board.fail_port(station, "board reset")
    h.step()
    assert h.app.acd.agent_state("1001") is AgentState.NOT_READY
    # The caller kept their place: the other agent takes the call.
    h.run_until(lambda: any(c.agent_port == station + 1 for c in h.board.callers()),
                limit=120)
    h.board.restore_port(station)
    h.run(1)
    assert not h.app.stations[station].broken
    assert h.app.acd.agent_state("1001") is AgentState.NOT_READY  # until they key ready
    h.close()
    with Records(h.data_dir / "records.db") as records:
        history = records.agent_history("1001")
    lost = [(c.from_state, c.to_state) for c in history if c.reason == "station_out_of_service"]
    assert lost == [("reserved", "not_ready")]
