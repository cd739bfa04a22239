"""Staffing per interval: Erlang C and Erlang A agents, shrinkage, predictions."""

import datetime as dt

import pytest

from branchline.acd import erlang
from branchline.acd.erlang_a import ErlangA
from branchline.acd.planning import (
    SLOTS,
    DayForecast,
    on_shift,
    predict,
    shrinkage,
    staff_day,
)


def day_of(calls_at_peak, patience_s):
    calls = [0.0] * SLOTS
    calls[40] = calls_at_peak
    calls[41] = calls_at_peak / 2
    return DayForecast("general", dt.date(2026, 11, 24), "tue", tuple(calls),
                       (180.0,) * SLOTS, patience_s, (), 1.0)


def test_each_interval_gets_the_fewest_agents_for_its_target():
    rows = staff_day(day_of(50.0, 90.0), 80, 20, 0.25)
    peak = rows[40]
    rate = 50 / 900
    assert peak.erlangs == pytest.approx(10.0)
    assert peak.erlang_c == erlang.agents_needed(rate, 180, 80, 20) == 14
    assert ErlangA(rate, 180, 90, peak.erlang_a).service_level(20) >= 0.8
    assert ErlangA(rate, 180, 90, peak.erlang_a - 1).service_level(20) < 0.8
    assert peak.erlang_a <= peak.erlang_c
    assert peak.on_shift == on_shift(peak.erlang_a, 0.25) >= peak.erlang_a / 0.75
    assert rows[41].erlang_a < peak.erlang_a
    assert rows[0].calls == 0 and rows[0].erlang_a == rows[0].on_shift == 0


def test_impatient_callers_need_fewer_agents_by_erlang_a():
    patient = staff_day(day_of(50.0, 3600.0), 80, 20, 0.0)[40]
    hasty = staff_day(day_of(50.0, 30.0), 80, 20, 0.0)[40]
    assert hasty.erlang_a < patient.erlang_a <= patient.erlang_c


def test_shrinkage_is_the_not_ready_share_of_logged_in_time():
    states = [{"ready": 600.0, "talking": 1500.0, "not_ready": 300.0},
              {"not_ready": 900.0, "logged_out": 5000.0}, {}]
    assert shrinkage(states) == pytest.approx(1200 / 3300)
    assert shrinkage([]) == 0.0
    assert on_shift(10, 0.2) == 13 and on_shift(8, 0.2) == 10
    with pytest.raises(ValueError, match=r"shrinkage 1\.0 must be in"):
        on_shift(3, 1.0)


def test_a_prediction_for_the_agents_scheduled():
    figures = predict(50.0, 180.0, 90.0, 12, 20)
    assert figures.service_level_c == pytest.approx(erlang.service_level(50 / 900, 180, 12, 20))
    assert figures.service_level_a > figures.service_level_c
    assert 0 < figures.abandon_a < 0.1
    assert predict(0.0, 180.0, 90.0, 3, 20).service_level_a is None
    assert predict(5.0, 180.0, 90.0, 0, 20).abandon_a == 1.0
