"""Calls: trunk call sessions, agent stations and callbacks.

- ``callback``: Calling back: the ACD's ``Callback`` decision dialled out on an analog line.
- ``session``: A call session: one trunk call from the first ring to its call record.
- ``stations``: Agent stations: the FXS phones agents answer calls on and key their state codes at.
"""

from branchline.firmware.calls.session import (
    CallSession,
    ConfigInForce,
)

__all__ = [
    "CallSession",
    "ConfigInForce",
]
