"""KPIs on a scripted hour whose figures are worked out by hand (docs/kpis.md has the formulas)."""

import pytest

from branchline.acd import (
    CallArrived,
    CallbackRequested,
    CallbackResult,
    CallEnded,
    CallerLeft,
    OfferAnswered,
    QueueModel,
    kpis_from_log,
)


@pytest.fixture
def day(make_desk, make_agent):
    queue = QueueModel(name="q", wrap_up_s=10, announce={"every_s": 0},
                       callback={"enabled": True})
    desk = make_desk([queue], [make_agent("a", "q")], interval_s=100)
    desk.ready(0, "a")
    script = [
        (10, CallArrived("c1", "q")), (12, OfferAnswered("c1", "a")),  # waits 2 s
        (20, CallArrived("c2", "q")), (23, CallerLeft("c2")),  # short abandon, 3 s
        (30, CallArrived("c3", "q")), (60, CallerLeft("c3")),  # abandons after 30 s
        (70, CallArrived("c4", "q")), (72, CallEnded("c1")),  # talk 60; wrap-up to 82
        (85, OfferAnswered("c4", "a")),  # offered at 82, waited 15 s
        (100, CallArrived("c5", "q")),
        (145, CallEnded("c4")),  # talk 60; wrap-up to 155, then c5 is offered
        (156, OfferAnswered("c5", "a")),  # waited 56 s
        (160, CallArrived("c6", "q")), (161, CallbackRequested("c6", "138")),
        (176, CallEnded("c5")),  # talk 20; wrap-up to 186, then the call back to c6
        (190, CallbackResult("c6", answered=True)),  # 29 s after the request
    ]
    for t, event in script:
        desk.at(t, event)
    desk.run_until(200)
    return desk


def test_queue_kpis_match_the_hand_count(day):
    q = day.acd.kpis(200).queues["q"]
    assert (q.offered, q.answered, q.answered_in_sl, q.abandoned, q.short_abandoned) == (
        6, 3, 2, 1, 1)
    assert q.service_level == pytest.approx(2 / 4)  # (c1, c4) / (3 answered + c3)
    assert q.service_level_variants == pytest.approx(
        {"A": 2 / 4, "B": 2 / 4, "C": 2 / 4, "D": 2 / 3})
    assert q.abandon_rate == pytest.approx(1 / 4)
    assert q.asa == pytest.approx((2 + 15 + 56) / 3)
    assert q.aht == pytest.approx((60 + 60 + 20 + 30) / 3)
    assert q.acw == pytest.approx(10)
    assert q.average_wait == pytest.approx((2 + 15 + 56 + 3 + 30) / 5)
    assert (q.callbacks_requested, q.callbacks_answered) == (1, 1)
    assert q.callback_response == pytest.approx(29)


def test_agent_kpis_match_the_hand_count(day):
    a = day.acd.kpis(200).agents["a"]
    assert a.answered == 4  # three offers and the call back
    assert a.login_s == pytest.approx(200)
    assert a.state_s["talking"] == pytest.approx(60 + 60 + 20 + 10)  # c6 talks from 190
    assert a.state_s["wrap_up"] == pytest.approx(30)
    assert a.state_s["reserved"] == pytest.approx(2 + 3 + 1 + 4)
    assert a.state_s["ready"] == pytest.approx(10)
    assert a.occupancy == pytest.approx(180 / 200)


def test_intervals_split_agent_time_and_count_calls_where_they_entered(day):
    report = day.acd.kpis(200)
    assert report.queue_intervals[0.0, "q"].offered == 4
    assert report.queue_intervals[100.0, "q"].offered == 2
    assert report.agent_intervals[0.0, "a"].login_s == pytest.approx(100)
    assert report.agent_intervals[100.0, "a"].login_s == pytest.approx(100)


def test_the_log_gives_the_same_kpis_as_the_live_counters(day):
    assert kpis_from_log(day.log, day.queues, 200, interval_s=100) == day.acd.kpis(200)


def test_the_short_abandon_threshold_is_a_setting(make_desk, make_agent):
    desk = make_desk([QueueModel(name="q", announce={"every_s": 0})], [make_agent("a", "q")],
                     short_abandon_s=2)
    desk.at(0, CallArrived("c1", "q"))
    desk.at(3, CallerLeft("c1"))
    q = desk.acd.kpis(3).queues["q"]
    assert (q.abandoned, q.short_abandoned) == (1, 0)
