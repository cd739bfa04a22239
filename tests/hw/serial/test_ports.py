"""The port model's additions for the serial board, and ports built from an inventory."""

import dataclasses

import pytest

from branchline.hw.ports import (
    E1_VOICE_TIMESLOTS,
    ClearSignal,
    LineState,
    PolarityReversal,
    Port,
    PortInService,
    PortKind,
    PortOutOfService,
    SpanAlarm,
)
from branchline.hw.protocol.endpoint import HookEvent, InventoryKind, LineEvent, RingEvent
from branchline.hw.serial.ports import BoardPorts, describe, ports_of

NEW_EVENTS = [
    PortOutOfService(0, 1.0, "board board0 stopped answering"),
    PortInService(0, 2.0),
    LineState(1, 3.0, True, 24.5, -9.0),
    PolarityReversal(1, 4.0),
    SpanAlarm(0, 5.0, 0, frozenset({"los"}), 0),
]


@pytest.mark.parametrize("event", NEW_EVENTS, ids=lambda e: type(e).__name__)
def test_new_events_are_frozen_slotted_values(event):
    assert event == dataclasses.replace(event)
    assert not hasattr(event, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.port = 3


def test_e1_has_thirty_voice_timeslots():
    assert len(E1_VOICE_TIMESLOTS) == 30
    assert 0 not in E1_VOICE_TIMESLOTS and 16 not in E1_VOICE_TIMESLOTS


def test_an_e1_port_needs_its_span_and_a_voice_timeslot():
    assert Port(0, PortKind.E1, "e1s1t1", span=0, timeslot=1).is_trunk
    with pytest.raises(ValueError, match=r"Port 0 \(e1\): an E1 port needs span and timeslot "
                                         r"\(got span=0, timeslot=16\); voice timeslots are "
                                         r"1-15 and 17-31"):
        Port(0, PortKind.E1, "e1", span=0, timeslot=16)
    with pytest.raises(ValueError, match=r"span/timeslot are for E1 ports only, not FXO"):
        Port(0, PortKind.FXO, "fxo1", span=0)
    assert Port(0, PortKind.FXO, "fxo1").span is None


def test_span_alarms_are_named():
    with pytest.raises(ValueError, match=r"unknown alarms \['red'\]; expected some of "
                                         r"\['ais', 'lof', 'los', 'rai'\]"):
        SpanAlarm(0, 0.0, 0, frozenset({"los", "red"}), 0)


def test_ports_from_an_inventory():
    inventory = ((InventoryKind.FXO, 2), (InventoryKind.E1, 2), (InventoryKind.FXS, 1),
                 (InventoryKind.FXO, 1))
    ports = ports_of(inventory, {1: ClearSignal.LOOP_CURRENT_DROP, 63: ClearSignal.NONE})
    assert len(ports) == 2 + 60 + 1 + 1
    assert [p.index for p in ports] == list(range(64))
    assert [p.name for p in ports[:3]] == ["fxo1", "fxo2", "e1s1t1"]
    assert ports[1].clear_signal is ClearSignal.LOOP_CURRENT_DROP
    assert (ports[32].span, ports[32].timeslot, ports[32].name) == (1, 1, "e1s2t1")
    assert (ports[62].kind, ports[62].name) == (PortKind.FXS, "fxs1")
    assert (ports[63].kind, ports[63].name) == (PortKind.FXO, "fxo3")
    assert describe(inventory) == "2 FXO, 2 E1, 1 FXS, 1 FXO"
    assert describe(()) == "no ports"


def test_audio_is_on_for_off_hook_looped_and_e1_ports():
    board = BoardPorts(ports_of(((InventoryKind.FXO, 2), (InventoryKind.FXS, 2),
                                 (InventoryKind.E1, 1)), {}))
    assert board.audio_ports() == list(range(4, 34))
    board.set_off_hook(1, True)
    board.handle(HookEvent(2, True), 0.0)
    board.set_loopback(3, True)
    assert board.audio_ports()[:3] == [1, 2, 3]
    board.reset()
    assert board.audio_ports() == list(range(4, 34))


def test_a_ring_after_answering_starts_a_new_count():
    board = BoardPorts(ports_of(((InventoryKind.FXO, 1),), {}))
    assert [e.count for e in board.handle(RingEvent(0, True, 0), 1.0)] == [1]
    board.handle(RingEvent(0, False, 1000), 2.0)
    board.set_off_hook(0, True)
    assert board.handle(RingEvent(0, False, 50), 2.1) == []  # no RingOff after answering
    board.set_off_hook(0, False)
    assert [e.count for e in board.handle(RingEvent(0, True, 4000), 6.0)] == [1]


def test_a_line_cut_is_a_line_state_not_a_hangup_on_a_chinese_line():
    board = BoardPorts(ports_of(((InventoryKind.FXO, 1),), {}))
    board.set_off_hook(0, True)
    board.handle(LineEvent(0, True, 30.0, -8.0), 1.0)
    events = board.handle(LineEvent(0, False, 0.0, 0.0), 2.0)
    assert events == [LineState(0, 2.0, False, 0.0, 0.0)]
