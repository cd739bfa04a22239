"""The serial board driver: transport, link, ports, audio and caller ID.

- ``audio``: Audio over the board link: receive jitter buffers with concealment, transmit framing.
- ``board``: The serial board driver: a telephony board whose controller speaks the board protocol.
- ``callerid``: Caller ID from a board's raw caller-ID audio windows (``CallerIdAudio`` messages).
- ``link``: The host's link to a board: its states and the transitions between them, as a table.
- ``ports``: What the serial driver knows of a board's ports, and board events turned into
  PortEvents.
- ``transport``: One open serial line for the board driver: reads that never wait, writes that never
  block.
"""

from branchline.hw.serial.board import (
    DRIVER_COUNTERS,
    SerialBoard,
)

__all__ = [
    "DRIVER_COUNTERS",
    "SerialBoard",
]
