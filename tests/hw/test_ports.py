"""The port model: events and port descriptions are frozen values; cadences are checked."""

import dataclasses

import numpy as np
import pytest

from branchline.hw.ports import (
    ABSENT_PRIVATE,
    BLOCK_SECONDS,
    CN_STATION_RING,
    BlockError,
    CallerId,
    ClearSignal,
    FarEndHangup,
    HookFlash,
    OffHook,
    OnHook,
    Port,
    PortEvent,
    PortKind,
    Ring,
    RingCadence,
    RingOff,
    check_block,
)

EVENTS = [
    Ring(0, 1.0, 1),
    RingOff(0, 2.0, 1),
    CallerId(0, 2.6, "13800138000"),
    CallerId(1, 2.6, None, None, ABSENT_PRIVATE, ABSENT_PRIVATE),
    OffHook(4, 3.0),
    OnHook(4, 4.0),
    HookFlash(4, 5.0),
    FarEndHangup(0, 6.0, ClearSignal.LOOP_CURRENT_DROP),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_events_are_frozen_slotted_values(event):
    assert isinstance(event, PortEvent)
    assert event == dataclasses.replace(event)
    assert not hasattr(event, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.time = 0.0


def test_events_of_different_kinds_differ_even_with_equal_fields():
    assert OffHook(4, 3.0) != OnHook(4, 3.0)
    assert Ring(0, 1.0, 1) != RingOff(0, 1.0, 1)


def test_port_kinds_are_trunks_or_stations():
    assert [k.is_trunk for k in PortKind] == [True, True, True, False]
    fxs = Port(3, PortKind.FXS, "fxs1")
    assert fxs.is_station and not fxs.is_trunk
    assert Port(0, PortKind.FXO, "fxo1").clear_signal is ClearSignal.NONE


def test_china_rings_stations_at_25_hz_one_on_four_off():
    assert RingCadence(25.0, (1.0, 4.0)) == CN_STATION_RING
    assert CN_STATION_RING.period == 5.0
    assert BLOCK_SECONDS == 0.02


@pytest.mark.parametrize("pattern", [(), (1.0,), (1.0, 0.0), (0.4, 0.2, 0.4)])
def test_a_cadence_needs_positive_pairs(pattern):
    with pytest.raises(ValueError, match=r"expected pairs of positive on/off durations"):
        RingCadence(25.0, pattern)


def test_a_ringer_frequency_is_checked():
    with pytest.raises(ValueError, match="ringers work at 15-70 Hz"):
        RingCadence(450.0, (1.0, 4.0))


def test_check_block_names_what_it_got_and_what_it_wants():
    check_block(np.zeros((3, 160), np.int16), 3, "X")
    with pytest.raises(BlockError, match=r"X: block is int16 \(3, 80\); expected an int16 "
                                         r"array of shape \(3, 160\)"):
        check_block(np.zeros((3, 80), np.int16), 3, "X")
    with pytest.raises(ValueError, match="block is list"):
        check_block([[0] * 160] * 3, 3, "X")
