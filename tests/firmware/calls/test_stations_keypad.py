"""Agents work their shift from the station keypad: the sim board's virtual agents key the
document's codes as DTMF audio; the runtime hears them on the FXS ports, drives the ACD and
stores the agent state history."""

from runtime_harness import (
    RuntimeHarness,
    bank_url,  # noqa: F401 - fixture
    prompts_dir,  # noqa: F401 - fixture
    scenario_text,
)

from branchline.acd import AgentState
from branchline.firmware.calls.stations import StationState
from branchline.firmware.records.database import Records

SHIFT = ('[{id: "1001", station: 0, skills: [mandarin], shift: {start: "09:00", end: "09:05",'
         ' breaks: [{start: "09:02", end: "09:03", reason: 2}]}}]')


def _scenario():
    text = scenario_text(rate=0, end="09:06")
    start = text.index("    - {id:")
    return text[:start] + "    - " + SHIFT[1:-1] + "\n"


def _history(h):
    with Records(h.data_dir / "records.db") as records:
        return [(c.from_state, c.to_state, c.reason) for c in records.agent_history("1001")]


def test_login_ready_break_logout(tmp_path, prompts_dir, bank_url):  # noqa: F811
    h = RuntimeHarness(tmp_path / "d", _scenario(), prompts_dir=prompts_dir, bank_url=bank_url)
    h.run(60)
    assert h.app.acd.agent_state("1001") is AgentState.READY
    assert h.app.stations[1].agent_id == "1001"
    h.run(90)  # 09:02:30: on the break
    assert h.app.acd.agent_state("1001") is AgentState.NOT_READY
    h.run(180)  # 09:05:30: shift over
    assert h.app.acd.agent_state("1001") is AgentState.LOGGED_OUT
    assert h.app.stations[1].state is StationState.IDLE
    h.close()
    assert _history(h) == [
        ("logged_out", "not_ready", "logged in"),
        ("not_ready", "ready", ""),
        ("ready", "not_ready", "lunch"),  # reason digit 2 in the document's agent_codes
        ("not_ready", "ready", ""),
        ("ready", "logged_out", ""),
    ]
    assert h.app.counters["illegal_acd"] == 0


def test_login_refused_at_another_agents_station(tmp_path, prompts_dir, bank_url):  # noqa: F811
    def move_agent(document):
        document["board"]["stations"] = 2
        document["acd"]["agents"][0]["station"] = "fxs2"

    text = _scenario().replace("stations: 1}", "stations: 2}")
    h = RuntimeHarness(tmp_path / "d", text, prompts_dir=prompts_dir, bank_url=bank_url,
                       edit_document=move_agent)
    beeps = []
    start = h.app.loop.tones.start
    h.app.loop.tones.start = lambda ch, spec, **kw: beeps.append((ch, spec.name)) or start(
        ch, spec, **kw)
    h.run(60)
    assert h.app.acd.agent_state("1001") is AgentState.LOGGED_OUT
    assert h.app.stations[1].agent_id is None
    assert (1, "refused") in beeps and (1, "confirm") not in beeps
    h.close()
    assert _history(h) == []
