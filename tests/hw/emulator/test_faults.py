"""Fault plans and boardemu:// URLs: what they say, and the errors for what they cannot."""

import pytest

from branchline.hw.emulator.faults import FaultPlan, FaultSpecError, TimedFault, parse_faults
from branchline.hw.emulator.options import EmulatorUrlError, parse_emulator_url


def test_the_documented_example_reads_as_written():
    plan = parse_faults("noise:0.001,drop:0.01,stall@600,reset@1200,unplug@1800+30")
    assert plan == FaultPlan(noise=0.001, drop=0.01, late=0.0, timed=(
        TimedFault("stall", 600.0, 5.0),
        TimedFault("reset", 1200.0, 0.0),
        TimedFault("unplug", 1800.0, 30.0),
    ))
    assert str(plan) == "noise:0.001,drop:0.01,stall@600+5,reset@1200,unplug@1800+30"
    assert parse_faults(str(plan)) == plan


def test_timed_faults_are_sorted_and_default_durations_apply():
    plan = parse_faults("unplug@90, late:0.5 ,stall@10+2")
    assert [(f.kind, f.at, f.end) for f in plan.timed] == [("stall", 10.0, 12.0),
                                                          ("unplug", 90.0, 100.0)]
    assert plan.late == 0.5


@pytest.mark.parametrize("text", ["", None, " , "])
def test_nothing_is_no_fault(text):
    assert parse_faults(text).empty


@pytest.mark.parametrize(("text", "why"), [
    ("stal@600", "'stal' is not a timed fault"),
    ("noise:2", "2 is not a probability"),
    ("noise:0.1,noise:0.2", "noise is given twice"),
    ("reset@5+3", "a reset takes no duration"),
    ("unplug@5+0", "the duration must be more than 0 seconds"),
    ("drop", "not a fault"),
    ("jitter:0.1", "'jitter' is not a rate fault"),
    ("unplug@10+30,reset@20", "it starts before the unplug at 10 s is over (40 s)"),
])
def test_bad_plans_name_the_item_and_list_the_forms(text, why):
    with pytest.raises(FaultSpecError) as caught:
        parse_faults(text)
    message = str(caught.value)
    assert why in message
    assert "noise:P, drop:P, late:P, stall@T[+D], reset@T, unplug@T[+D]" in message


def test_a_full_url_reads_every_parameter():
    options = parse_emulator_url(
        "boardemu://?trunks=8&stations=4&scenario=scenario_demo.yaml&seed=1&echo_rl_db=9"
        "&echo_tail_ms=32&faults=noise:0.001,drop:0.01,stall@600,reset@1200,unplug@1800+30"
        "&serial_number=BR-0042")
    assert (options.trunks, options.stations, options.scenario, options.seed) == (
        8, 4, "scenario_demo.yaml", 1)
    assert (options.echo_rl_db, options.echo_tail_ms) == (9.0, 32)
    assert options.faults.drop == 0.01 and len(options.faults.timed) == 3
    assert options.serial_number == "BR-0042"


def test_a_bare_url_takes_every_default():
    for url in ("boardemu://", "boardemu://?", "boardemu:///"):
        options = parse_emulator_url(url)
        assert options.trunks is None and options.faults.empty and options.echo_rl_db is None


@pytest.mark.parametrize(("url", "expected"), [
    ("boardemu://?trunk=8", "parameter trunk='8': no such parameter; the parameters are "
                            "trunks: FXO lines"),
    ("boardemu://?trunks=0", "parameter trunks='0': expected 1-64"),
    ("boardemu://?trunks=eight", "parameter trunks='eight': expected a whole number 1-64"),
    ("boardemu://?echo_rl_db=1", "parameter echo_rl_db='1': expected 3-40"),
    ("boardemu://?seed=1&seed=2", "parameter seed='2': given twice"),
    ("boardemu://?faults=reset@", "parameter faults: 'reset@': not a fault"),
    ("boardemu://host?trunks=2", "a boardemu URL has only parameters"),
    ("boardemu://?scenario=", "parameter scenario='': must not be empty"),
])
def test_bad_urls_name_the_parameter(url, expected):
    with pytest.raises(EmulatorUrlError) as caught:
        parse_emulator_url(url)
    assert expected in str(caught.value)
    assert repr(url) in str(caught.value)
