"""Branchline hardware: the port model, the Board interface and the drivers (`sim` today).

See hw/ports.py for the contract every board implements and docs/hw.md for the simulated
board and its scenario files.
"""

from branchline.hw.ports import (
    Board,
    BoardError,
    CallerId,
    FarEndHangup,
    HookFlash,
    OffHook,
    OnHook,
    Port,
    PortError,
    PortEvent,
    PortKind,
    Ring,
    RingCadence,
    RingOff,
)
from branchline.hw.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from branchline.hw.sim import SimBoard, SimCounters

__all__ = [
    "Board",
    "BoardError",
    "CallerId",
    "FarEndHangup",
    "HookFlash",
    "OffHook",
    "OnHook",
    "Port",
    "PortError",
    "PortEvent",
    "PortKind",
    "Ring",
    "RingCadence",
    "RingOff",
    "Scenario",
    "ScenarioError",
    "SimBoard",
    "SimCounters",
    "load_scenario",
    "parse_scenario",
]
