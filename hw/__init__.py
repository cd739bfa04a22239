"""Branchline hardware: the port model, the Board interface and the drivers.

See hw/ports.py for the contract every board implements, docs/hw.md for the simulated board
and its scenario files, and docs/board-protocol.md for the serial board (``SerialBoard``) and
the protocol it speaks (``branchline.hw.protocol.endpoint``).
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
from branchline.hw.serial.board import SerialBoard
from branchline.hw.sim.board import SimBoard, SimCounters
from branchline.hw.sim.scenario import Scenario, ScenarioError, load_scenario, parse_scenario

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
