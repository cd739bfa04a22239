"""The forecast on generated history with known seasonality, holidays and a make-up day."""

import datetime as dt

import pytest
from planning_history import (
    AHT_S,
    GOLDEN_WEEK,
    PATIENCE_S,
    expected,
    generate,
)

from branchline.acd.planning import SLOTS, Calendar, QueueHistory, evaluate, forecast_day

START = dt.date(2026, 8, 3)  # a Monday; ten weeks of history run into October
FIT = {"default_aht_s": 180.0, "prior_patience_s": 60.0}


def truth_error(history, calendar, day, growth=0.02):
    """WAPE of the forecast of `day` against the true mean, not against a noisy sample."""
    made = forecast_day(history, calendar, day, **FIT)
    truth = [expected(day, s, calendar, START, 30.0, growth) for s in range(SLOTS)]
    return made, sum(abs(f - t) for f, t in zip(made.calls, truth, strict=True)) / sum(truth)


def test_it_beats_the_naive_forecast_on_held_out_weeks():
    history = generate(START, 56, GOLDEN_WEEK, seed=3)  # to 27 September
    accuracy = evaluate(history, GOLDEN_WEEK, holdout_days=14, **FIT)
    assert len(accuracy.days) == 14
    assert accuracy.wape < accuracy.naive_wape
    assert accuracy.mape < accuracy.naive_mape
    assert abs(accuracy.bias) < 0.08
    peak = next(s for s in accuracy.slots if s.slot == 41)  # 10:15
    assert peak.actual > 20 and peak.mape < peak.naive_mape


def test_the_forecast_follows_the_trend():
    history = generate(START, 63, Calendar(), seed=5, growth=0.05)
    day = START + dt.timedelta(days=63)  # the Monday after
    made, error = truth_error(history, Calendar(), day, growth=0.05)
    assert made.trend == pytest.approx(1.05, abs=0.03)
    assert error < 0.08
    flat = forecast_day(history, Calendar(), day, **FIT, trend=1.0)
    assert sum(flat.calls) < sum(made.calls) * 0.95  # without the trend it lags behind


def test_holidays_are_left_out_and_a_make_up_day_is_a_working_day():
    # History to Thursday 15 October: the golden week (1-7 Oct) closed, Saturday 10 Oct worked.
    history = generate(START, 74, GOLDEN_WEEK, seed=7)
    monday = dt.date(2026, 10, 19)
    made, error = truth_error(history, GOLDEN_WEEK, monday)
    assert dt.date(2026, 10, 5) not in made.basis  # a holiday Monday is no Monday
    assert error < 0.1
    # Told nothing of the holidays, the forecast takes the closed Monday for a quiet one.
    blind, blind_error = truth_error(history, Calendar(), monday)
    assert dt.date(2026, 10, 5) in blind.basis and blind_error > 2 * error
    # The next make-up Saturday is forecast as the working day it is, not as a Saturday.
    calendar = Calendar(GOLDEN_WEEK.holidays, GOLDEN_WEEK.workdays | {dt.date(2026, 10, 17)})
    saturday, error = truth_error(history.before(dt.date(2026, 10, 17)), calendar,
                                  dt.date(2026, 10, 17))
    assert saturday.kind == "workday" and error < 0.12
    assert sum(forecast_day(history, GOLDEN_WEEK, dt.date(2026, 10, 17), **FIT).calls) < \
        0.6 * sum(saturday.calls)
    assert sum(forecast_day(history, GOLDEN_WEEK, dt.date(2026, 10, 1), **FIT).calls) == 0


def test_handle_time_and_patience_come_from_the_records():
    history = generate(START, 56, Calendar(), seed=11)
    made = forecast_day(history, Calendar(), START + dt.timedelta(days=56), **FIT)
    assert made.aht_s[41] == pytest.approx(AHT_S, rel=0.06)
    assert made.aht_s[3] == pytest.approx(AHT_S, rel=0.06)  # night: the day's average
    assert made.patience_s == pytest.approx(PATIENCE_S, rel=0.08)
    empty = forecast_day(QueueHistory("general", {}), Calendar(), START, **FIT)
    assert empty.calls == (0.0,) * SLOTS and empty.aht_s[0] == 180.0
    assert empty.patience_s == 60.0


def test_a_short_history_or_day_is_refused_clearly():
    with pytest.raises(ValueError, match="95 intervals; a day has 96 of 15 minutes"):
        QueueHistory("general", {START: (generate(START, 1, Calendar()).days[START][0],) * 95})
    with pytest.raises(ValueError, match="holdout_days 0 must be at least 1"):
        evaluate(QueueHistory("general", {}), Calendar(), holdout_days=0)
