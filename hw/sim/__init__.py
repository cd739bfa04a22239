"""The simulated board: virtual callers and agents, and the scenario files that drive them.

- ``agent``: A virtual agent at a simulated station: works a shift, keys codes, answers and talks.
- ``audio``: Audio for the simulated board's virtual people: a speech-like voice, keys, and hearing.
- ``board``: The simulated board: virtual callers on FXO trunks, virtual agents at FXS stations.
- ``caller``: A virtual caller on a simulated trunk: rings, listens like a person, presses real
  keys.
- ``scenario``: Scenario files for the simulated board: who calls when, what they want, who answers.
"""

from branchline.hw.sim.board import (
    SimBoard,
    SimCounters,
)

__all__ = [
    "SimBoard",
    "SimCounters",
]
