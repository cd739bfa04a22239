"""Erlang B and C against published table values."""

import math

import pytest

from branchline.acd.erlang import (
    agents_needed,
    average_speed_of_answer,
    erlang_b,
    probability_of_waiting,
    service_level,
)

# 100 calls in 30 minutes, 180 s handle time: A = 10 Erlangs (the worked example of Call Centre
# Helper's "Erlang C formula - made simple", which needs 14 agents for 80 % in 20 s). P(wait)
# as in Erlang C tables for A = 10.
RATE = 100 / 1800
AHT = 180.0


@pytest.mark.parametrize(("agents", "p_wait"), [(11, 0.6821), (12, 0.4494), (13, 0.2853),
                                                (14, 0.1741)])
def test_probability_of_waiting_matches_the_table(agents, p_wait):
    assert probability_of_waiting(RATE, AHT, agents) == pytest.approx(p_wait, abs=5e-5)


def test_agents_for_80_in_20_and_the_figures_around_it():
    assert agents_needed(RATE, AHT, 80, 20) == 14
    assert service_level(RATE, AHT, 13, 20) < 0.80 < service_level(RATE, AHT, 14, 20)
    # ASA = C * AHT / (N - A)
    assert average_speed_of_answer(RATE, AHT, 11) == pytest.approx(0.6821 * 180 / 1, rel=1e-3)


@pytest.mark.parametrize(("lines", "traffic"), [(10, 4.46), (20, 12.03), (5, 1.36)])
def test_erlang_b_at_one_percent_blocking_matches_the_table(lines, traffic):
    # Erlang B tables, 1 % grade of service: 5 lines 1.36 E, 10 lines 4.46 E, 20 lines 12.03 E.
    assert erlang_b(lines, traffic) == pytest.approx(0.01, abs=5e-4)


def test_overload_means_everyone_waits_forever():
    assert probability_of_waiting(RATE, AHT, 10) == 1.0
    assert math.isinf(average_speed_of_answer(RATE, AHT, 9))
    assert service_level(RATE, AHT, 10, 20) == 0.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: probability_of_waiting(-1, 180, 3), "need arrivals_per_s >= 0"),
        (lambda: agents_needed(RATE, AHT, 100, 20), "target_pct 100 must be between 0 and 100"),
    ],
)
def test_bad_inputs_say_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()
