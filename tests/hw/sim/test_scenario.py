"""Scenario files: the shipped samples validate; bad ones say where, what and what is allowed."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from hwsim_kit import BASE, scenario_data

from branchline.hw.sim.board import SimBoard
from branchline.hw.sim.scenario import (
    ScenarioError,
    ScenarioWarning,
    Step,
    load_scenario,
    luhn_valid,
    parse_scenario,
    scenario_warnings,
)

DEFAULTS = Path(__file__).resolve().parents[3] / "config" / "defaults"


def test_the_day_sample_is_a_branch_day_with_a_lunch_peak():
    day = load_scenario(DEFAULTS / "scenario_day.yaml")
    assert (day.board.trunks, day.board.stations) == (8, 6)
    assert (day.day.start, day.day.end) == (9 * 3600, 17 * 3600)
    rates = {h: day.arrivals.rate(h) for h in range(9, 17)}
    assert max(rates, key=rates.get) == 12
    assert day.arrivals.rate(8) == day.arrivals.rate(17) == 0
    assert {g: len(v.steps) > 0 for g, v in day.callers.goals.items()} == {
        "balance": True, "card_loss": True, "hours": True, "agent": True}
    assert [lang.key for lang in day.callers.languages.values()] == ["1", "2", "3"]
    assert all(luhn_valid(a.card) for a in day.callers.accounts)
    assert len(day.agents.roster) == 6


def test_the_demo_sample_is_a_gentle_trickle():
    demo = load_scenario(DEFAULTS / "scenario_demo.yaml")
    assert (demo.board.trunks, demo.board.stations) == (4, 3)
    # A call every 30-60 s on average means 60-120 calls an hour.
    assert 60 <= demo.arrivals.rate(3) == demo.arrivals.rate(15) <= 120


def test_a_sample_day_runs_on_the_board():
    board = SimBoard(scenario=DEFAULTS / "scenario_day.yaml")
    silence = np.zeros((14, 160), np.int16)
    for k in range(round(600 / 0.02)):  # the first ten minutes, nobody answering
        board.tick(k * 0.02)
        board.read_block()
        board.write_block(silence)
    counters = board.counters()
    assert counters.offered > 0
    assert counters.answered == 0
    assert [a.logged_in for a in board.agents()] == [True, True, True, False, False, False]


def test_luhn():
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert not luhn_valid("7992739871x")


def problems(data):
    with pytest.raises(ScenarioError) as info:
        parse_scenario_data(data)
    return info.value


def parse_scenario_data(data):
    import yaml

    return parse_scenario(yaml.safe_dump(data), "test.yaml")


def test_valid_base():
    assert parse_scenario_data(scenario_data()).name == "test"


def test_an_unknown_distribution_names_the_allowed_kinds():
    callers = dict(BASE["callers"], ring_patience={"kind": "gamma", "shape": 2})
    error = problems(scenario_data(callers=callers))
    (path, message, _), = error.problems
    assert path == "callers.ring_patience"
    assert "'fixed', 'uniform', 'exponential', 'lognormal'" in message
    assert str(error).startswith("scenario test.yaml: 1 problem(s)")


def test_shares_must_add_up():
    callers = dict(BASE["callers"], languages={"mandarin": {"share": 0.7, "key": "1"},
                                               "english": {"share": 0.2, "key": "3"}})
    (path, message, _), = problems(scenario_data(callers=callers)).problems
    assert path == "callers.languages"
    assert message == "language shares add up to 0.9; they must add up to 1"


def test_a_card_must_pass_luhn():
    callers = dict(BASE["callers"], accounts=[{"card": "6222020200112233445", "pin": "135790"}])
    (path, message, value), = problems(scenario_data(callers=callers)).problems
    assert (path, value) == ("callers.accounts.0.card", "6222020200112233445")
    assert "Luhn" in message


def test_unquoted_times_are_explained():
    text = "callers: {}\nday: {start: 09:00, end: 17:00}\n"
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "day.yaml")
    found = {p: (m, v) for p, m, v in info.value.problems}
    assert found["day.end"] == (
        "a time of day must be a quoted string 'HH:MM' (YAML reads unquoted 17:00 as the "
        "number 1020)", 1020)


def test_a_step_does_exactly_one_thing():
    with pytest.raises(ValueError, match="exactly one of keys, listen, wait_agent, hang_up"):
        Step(keys="1", hang_up=True)
    with pytest.raises(ValueError, match=r"keys '1\{acct\}'"):
        Step(keys="1{acct}")
    assert Step(keys="{card}#").keys == "{card}#"


def test_typos_are_errors_not_defaults():
    data = scenario_data(keypad={"erly": 0.2})
    (path, message, value), = problems(data).problems
    assert (path, value) == ("keypad.erly", 0.2)
    assert message == "Extra inputs are not permitted"


def test_agents_need_existing_distinct_stations():
    roster = [{"id": "1001", "station": 0, "shift": {"start": "09:00", "end": "17:00"}},
              {"id": "1002", "station": 0, "shift": {"start": "09:00", "end": "17:00"}}]
    (path, message, _), = problems(scenario_data(agents={"roster": roster})).problems
    assert path == "agents.roster"
    assert message == "agent stations [0] appear more than once; one each"
    lone = [dict(roster[0], station=5)]
    (path, message, _), = problems(scenario_data(agents={"roster": lone})).problems
    assert "agent 1001 sits at station 5; the board has stations 0..0" in message


def test_the_board_checks_the_scenario_fits_its_size():
    roster = [{"id": "1001", "station": 1, "shift": {"start": "09:00", "end": "17:00"}}]
    data = scenario_data(board={"trunks": 2, "stations": 2}, agents={"roster": roster})
    scenario = parse_scenario_data(data)
    with pytest.raises(ScenarioError, match=r"agents\.roster\.0\.station: agent 1001's "
                                            r"station does not exist on a board with 1 "):
        SimBoard(stations=1, scenario=scenario)


def test_bad_yaml_is_reported():
    with pytest.raises(ScenarioError, match="not valid YAML"):
        parse_scenario("callers: [", "broken.yaml")


def test_the_300_seat_sample_is_a_call_centre_day():
    centre = load_scenario(DEFAULTS / "scenario_300.yaml")
    assert (centre.board.trunks, centre.board.stations) == (200, 300)
    assert len(centre.agents.roster) == 300
    assert 8500 <= sum(centre.arrivals.rate(h) for h in range(9, 17)) <= 9500
    starts = sorted({a.shift.start for a in centre.agents.roster})
    assert starts == [9 * 3600, 12 * 3600 + 1800]  # two teams, overlapping at lunch
    board = SimBoard(scenario=centre)
    assert len(board.ports) == 500


def test_a_virtual_board_may_pass_a_cards_120_ports_up_to_1000():
    data = scenario_data(board={"trunks": 1000, "stations": 1000})
    parse_scenario(yaml_dump(data))
    with pytest.raises(ScenarioError, match=r"board.trunks: .*less than or equal to 1000"):
        parse_scenario(yaml_dump(scenario_data(board={"trunks": 1001, "stations": 1})))


def test_a_callback_step_names_one_key_and_the_answer_shares_fit():
    assert Step(callback="1").callback == "1"
    with pytest.raises(ValueError, match="exactly one of keys, listen, wait_agent, hang_up, "
                                         "callback"):
        Step(callback="1", wait_agent=True)
    callers = dict(BASE["callers"], callback={"busy": 0.7, "no_answer": 0.6})
    with pytest.raises(ScenarioError, match=r"callers.callback: busy \(0.7\) and no_answer "
                                            r"\(0.6\) add up to more than 1"):
        parse_scenario(yaml_dump(scenario_data(callers=callers)))
    steps = [{"keys": "0"}, {"callback": "12"}]
    callers = dict(BASE["callers"], goals={"g": {"share": 1, "steps": steps}})
    with pytest.raises(ScenarioError, match=r"callers.goals.g.steps.1.callback"):
        parse_scenario(yaml_dump(scenario_data(callers=callers)))


def shifts(*spans):
    return scenario_data(board={"trunks": 2, "stations": len(spans)}, agents={"roster": [
        {"id": f"10{i:02d}", "station": i, "shift": {"start": a, "end": b}}
        for i, (a, b) in enumerate(spans)]})


def test_shifts_outside_the_day_are_warned_about_with_the_fix():
    warnings = scenario_warnings(parse_scenario_data(shifts(
        ("09:00", "17:00"), ("08:00", "12:00"), ("13:00", "18:30"), ("06:00", "09:00"),
        ("17:00", "20:00"))))
    assert warnings == [
        ScenarioWarning("agents.roster.1.shift", "agent 1001's shift 08:00-12:00 starts before "
                        "the day 09:00-17:00: the agent logs in at 09:00",
                        "start the shift at 09:00 or later"),
        ScenarioWarning("agents.roster.2.shift", "agent 1002's shift 13:00-18:30 ends after "
                        "the day 09:00-17:00: what it does after 17:00 is never played",
                        "end the shift at 17:00 or earlier, or the day later"),
        ScenarioWarning("agents.roster.3.shift", "agent 1003's shift 06:00-09:00 lies outside "
                        "the day 09:00-17:00: the agent never works",
                        "move the shift into 09:00-17:00, or the day to cover the shift"),
        ScenarioWarning("agents.roster.4.shift", "agent 1004's shift 17:00-20:00 lies outside "
                        "the day 09:00-17:00: the agent never works",
                        "move the shift into 09:00-17:00, or the day to cover the shift"),
    ]


def test_a_day_no_agent_works_is_warned_about():
    no_agents = ScenarioWarning(
        "agents.roster", "no agent works in the day 09:00-17:00: every call queued for a "
        "person goes unanswered", "add agents whose shifts lie in 09:00-17:00")
    assert scenario_warnings(parse_scenario_data(scenario_data())) == [no_agents]
    outside = scenario_warnings(parse_scenario_data(shifts(("18:00", "20:00"))))
    assert [w.path for w in outside] == ["agents.roster.0.shift", "agents.roster"]
    assert outside[-1] == no_agents


@pytest.mark.parametrize("name", ["scenario_day.yaml", "scenario_demo.yaml",
                                  "scenario_300.yaml"])
def test_the_samples_draw_no_warning(name):
    assert scenario_warnings(load_scenario(DEFAULTS / name)) == []


def yaml_dump(data):
    return yaml.safe_dump(data)
