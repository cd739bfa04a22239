"""One open serial line for the board driver: reads that never wait, writes that never block.

``SerialTransport.open(factory, url, baudrate)`` opens the line through `factory` (pyserial's
``serial_for_url`` or a test's) with ``timeout=0``, so ``read()`` returns at once with what
has arrived (up to ``READ_BYTES``). ``send(data)`` queues whole frames; ``flush()`` writes
what the line takes: on a transport with a file descriptor (a tty, a socket) only once
``select`` says it is writable, non-blocking (``write_timeout=0``), keeping the rest for the
next flush; on one without (``loop://``) in one call. A line that does not drain would grow
the queue without end: past ``TX_LIMIT_BYTES`` the oldest whole frames are dropped and
``send`` returns how many (the driver counts them ``tx_overflow``; the peer resynchronises at
the next delimiter if a dropped frame had been half written).

This is the one place pyserial's exceptions (``SerialException``, ``OSError``) are caught:
they leave as ``hw.ports.BoardLinkError`` (``raise ... from``), whose text names the original.
"""

import contextlib
import select
import threading
from collections import deque

import serial

from branchline.hw.ports import BoardLinkError

__all__ = ["READ_BYTES", "TX_LIMIT_BYTES", "SerialTransport"]

# More than a tick's worth at any rate in docs/board-protocol.md's table.
READ_BYTES = 65536
TX_LIMIT_BYTES = 16384  # about 5 ticks of 10 ports' audio
_IO_ERRORS = (serial.SerialException, OSError)


def _mapped(call):
    try:
        return call()
    except _IO_ERRORS as exc:
        raise BoardLinkError(f"{type(exc).__name__}: {exc}") from exc


class SerialTransport:
    """An open pyserial port (see the module docstring)."""

    def __init__(self, port):
        self._port = port
        try:
            self._fd = port.fileno()
        except (AttributeError, *_IO_ERRORS):
            self._fd = None
        if self._fd is not None:
            port.write_timeout = 0
        self._queue = deque()
        self._queued = 0

    @classmethod
    def open(cls, factory, url, baudrate):
        """Open `url`; BoardLinkError if the line cannot be opened (e.g. the path is gone)."""
        return cls(_mapped(lambda: factory(url, baudrate=baudrate, timeout=0)))

    def read(self):
        """What has arrived (b"" if nothing); BoardLinkError if the line failed."""
        return _mapped(lambda: self._port.read(READ_BYTES))

    def send(self, data):
        """Queue one frame's bytes; the number of old frames dropped to stay under the cap."""
        self._queue.append(data)
        self._queued += len(data)
        dropped = 0
        while self._queued > TX_LIMIT_BYTES and len(self._queue) > 1:
            self._queued -= len(self._queue.popleft())
            dropped += 1
        return dropped

    def flush(self):
        """Write what the line takes now; BoardLinkError if the line failed."""
        if not self._queue:
            return
        if self._fd is not None and not select.select([], [self._fd], [], 0)[1]:
            return
        data = b"".join(self._queue)
        written = _mapped(lambda: self._port.write(data))
        written = len(data) if written is None else written
        self._queue.clear()
        self._queued = len(data) - written
        if self._queued:
            self._queue.append(data[written:])

    def wait(self, seconds):
        """Wait up to `seconds` for bytes to arrive (connect's pace between ticks)."""
        if self._fd is not None:
            select.select([self._fd], [], [], seconds)
        else:
            threading.Event().wait(seconds)

    def close(self):
        with contextlib.suppress(*_IO_ERRORS):
            self._port.close()
        self._queue.clear()
        self._queued = 0
