"""The board emulator (``boardemu://``): our board's firmware, emulated, on virtual lines.

A complete emulation of the board side of the board protocol (docs/board-protocol.md) over a
real pseudo-terminal: FXO lines on which the simulated board's virtual callers ring in with
the Chinese cadence, send Bell 202 FSK caller ID between the first and second ring, talk and
press keys as real audio and hang up with the exchange's busy tone; FXS stations with the
simulated board's virtual agents; faults on demand. docs/boardemu.md is the user's guide.

- ``BoardEmulator`` (hw/emulator/board.py): the sans-I/O board side, ``receive(data)`` /
  ``tick(now) -> bytes``.
- ``EmulatedBoard`` / ``ThreadedEmulatedBoard`` (hw/emulator/link.py): the host's
  ``SerialBoard`` and the emulator joined by a pty, in lockstep on the caller's clock or with
  the emulator on its own real-time thread (``EmulatorThread``).
- ``parse_emulator_url`` (hw/emulator/options.py), ``parse_faults`` (hw/emulator/faults.py).
- ``emulator_for(options, scenario=None)``: the ``BoardEmulator`` a parsed URL describes.
"""

from branchline.hw.emulator.board import FIRMWARE, BoardEmulator
from branchline.hw.emulator.faults import FaultPlan, FaultSpecError, TimedFault, parse_faults
from branchline.hw.emulator.link import (
    EmulatedBoard,
    EmulatorThread,
    LinkError,
    ThreadedEmulatedBoard,
)
from branchline.hw.emulator.options import EmulatorOptions, EmulatorUrlError, parse_emulator_url

__all__ = [
    "FIRMWARE",
    "BoardEmulator",
    "EmulatedBoard",
    "EmulatorOptions",
    "EmulatorThread",
    "EmulatorUrlError",
    "FaultPlan",
    "FaultSpecError",
    "LinkError",
    "ThreadedEmulatedBoard",
    "TimedFault",
    "emulator_for",
    "parse_emulator_url",
    "parse_faults",
]


def emulator_for(options: EmulatorOptions, scenario=None) -> BoardEmulator:
    """The emulator a boardemu:// URL's options describe; `scenario` is the loaded scenario
    (a Scenario or a path) when the URL names one, else the quiet one is used."""
    echo = None if options.echo_rl_db is None else (options.echo_rl_db, options.echo_tail_ms)
    return BoardEmulator(options.trunks, options.stations, scenario=scenario,
                         seed=options.seed, faults=options.faults, echo=echo,
                         serial_number=options.serial_number)
