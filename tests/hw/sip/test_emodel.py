"""The E-model against ITU-T G.107's default rating and published points."""

from dataclasses import replace

import pytest

from branchline.hw.sip.emodel import G711_BPL, Parameters, estimate, mos, rating


def test_default_parameters_give_g107s_rating():
    # G.107 §7.7 / Table 3: "the default values ... R = 93.2".
    assert rating() == pytest.approx(93.2, abs=0.05)
    assert mos(rating()) == pytest.approx(4.41, abs=0.005)


@pytest.mark.parametrize(("r", "expected"), [
    # ITU-T G.109 Table 1: the lower MOS limits of its user-satisfaction categories.
    (90, 4.34), (80, 4.03), (70, 3.60), (60, 3.10), (50, 2.58)])
def test_mos_at_the_g109_category_limits(r, expected):
    assert mos(r) == pytest.approx(expected, abs=0.01)


def test_mos_is_bounded():
    assert mos(-5) == 1.0 and mos(120) == 4.5 and mos(0) == 1.0 and mos(100) == 4.5


def test_packet_loss_follows_ie_eff():
    # G.107 §7.4: Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl).
    base = rating()
    for ppl in (0.5, 1, 2, 5, 10):
        lossy = rating(replace(Parameters(), ppl=ppl, bpl=G711_BPL))
        assert base - lossy == pytest.approx(95 * ppl / (ppl + G711_BPL), abs=1e-9)
    # Bursty loss hurts more than the same random loss.
    assert rating(replace(Parameters(), ppl=2, bpl=G711_BPL, burst_r=2)) < rating(
        replace(Parameters(), ppl=2, bpl=G711_BPL))


def test_absolute_delay_costs_nothing_up_to_100_ms():
    # G.107 §7.3: Idd = 0 for Ta <= 100 ms; then it grows with Ta.
    assert rating(replace(Parameters(), ta=100)) == rating()
    at = [rating(replace(Parameters(), ta=ta)) for ta in (150, 200, 300, 400)]
    assert at == sorted(at, reverse=True) and rating() - at[-1] > 10


def test_call_estimate_is_monotonic_in_loss_and_delay():
    assert estimate(0, 0) == (rating(), mos(rating()))
    r = [estimate(loss, 60)[0] for loss in (0, 1, 3, 10)]
    assert r == sorted(r, reverse=True)
    d = [estimate(0, delay)[0] for delay in (20, 150, 300, 500)]
    assert d == sorted(d, reverse=True)
