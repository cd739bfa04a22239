"""Branchline hardware: the port model, the Board interface and the drivers.

See hw/ports.py for the contract every board implements, docs/hw.md for the simulated board
and its scenario files, and docs/board-protocol.md for the serial board (``SerialBoard``) and
the protocol it speaks (``branchline.hw.protocol``).
"""

from branchline.hw.ports import (
    Board,
    BoardError,
    BoardLinkError,
    CallerId,
    FarEndHangup,
    HookFlash,
    LineState,
    OffHook,
    OnHook,
    PolarityReversal,
    Port,
    PortError,
    PortEvent,
    PortInService,
    PortKind,
    PortOutOfService,
    Ring,
    RingCadence,
    RingOff,
    SpanAlarm,
)
from branchline.hw.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from branchline.hw.serial_board import SerialBoard
from branchline.hw.sim import SimBoard, SimCounters

__all__ = [
    "Board",
    "BoardError",
    "BoardLinkError",
    "CallerId",
    "FarEndHangup",
    "HookFlash",
    "LineState",
    "OffHook",
    "OnHook",
    "PolarityReversal",
    "Port",
    "PortError",
    "PortEvent",
    "PortInService",
    "PortKind",
    "PortOutOfService",
    "Ring",
    "RingCadence",
    "RingOff",
    "Scenario",
    "ScenarioError",
    "SerialBoard",
    "SimBoard",
    "SimCounters",
    "SpanAlarm",
    "load_scenario",
    "parse_scenario",
]
