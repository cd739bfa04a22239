"""Adherence per agent and interval: scheduled seconds against state seconds."""

from branchline.acd.planning.adherence import adherence, worst


def test_adherence_counts_the_scheduled_time_spent_as_scheduled():
    schedule = {("1001", 36): (900, 0), ("1001", 48): (300, 600), ("1002", 36): (900, 0),
                ("1002", 40): (0, 0)}
    actual = {("1001", 36): {"ready": 500, "talking": 300, "not_ready": 100},
              ("1001", 48): {"talking": 700, "not_ready": 200},
              ("1003", 36): {"ready": 900}}  # not scheduled: no row, no deviation
    rows = adherence(schedule, actual)
    assert [(r.agent, r.slot) for r in rows] == [("1001", 36), ("1001", 48), ("1002", 36)]
    first, lunch, absent = rows
    assert first.in_adherence_s == 800 and first.adherence == 800 / 900
    # 300 s scheduled on the phones (700 there: 300 count), 600 s break (200 not ready).
    assert lunch.in_adherence_s == 500 and lunch.deviation_s == 400
    assert absent.phones_s == 0 and absent.adherence == 0 and absent.deviation_s == 900
    assert worst(rows, 2) == [absent, lunch]
    assert worst([first], 5) == [first] and worst([], 5) == []
