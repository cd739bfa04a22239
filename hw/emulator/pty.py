"""The emulated board's cable: a real pseudo-terminal behind a stable device path.

``PtyCable(directory, name)`` opens a pseudo-terminal pair in raw mode and points the symlink
``directory/name`` at its slave side, as udev points ``/dev/serial/by-id/...`` at a USB board:
the host opens that path with pyserial like any serial device, the emulator reads and writes
the master side. ``unplug()`` closes the master and removes the path (the host's reads and
writes fail, opening the path fails: a pulled cable); ``plug()`` makes a new pair behind the
same path (the board is back).

``send(data)`` queues bytes for the host and writes what the pty takes (never blocking);
``receive()`` returns what the host has written so far. ``wait_readable(timeout)`` waits until
the host has written something. Errors of the operating system while unplugged are the
unplugged state, not exceptions.
"""

from __future__ import annotations

import errno
import os
import select
import tty
from pathlib import Path

__all__ = ["PtyCable"]

_READ_CHUNK = 65536


class PtyCable:
    """A pseudo-terminal pair behind a symlink; see the module docstring."""

    def __init__(self, directory: str | os.PathLike, name: str = "board0"):
        self.path = Path(directory) / name
        self._master: int | None = None
        self._backlog = bytearray()
        self.plug()

    @property
    def plugged(self) -> bool:
        return self._master is not None

    def plug(self) -> None:
        """Connect a fresh pseudo-terminal behind `path` (a no-op when plugged)."""
        if self._master is not None:
            return
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        target = os.ttyname(slave)
        os.close(slave)  # the host opens the slave through the path
        temporary = self.path.with_name(self.path.name + ".new")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(target)
        os.replace(temporary, self.path)
        self._master = master
        self._backlog.clear()

    def unplug(self) -> None:
        """Pull the cable: the host side hangs up and the path disappears."""
        if self._master is None:
            return
        self.path.unlink(missing_ok=True)
        os.close(self._master)
        self._master = None
        self._backlog.clear()

    def close(self) -> None:
        self.unplug()

    def send(self, data: bytes) -> int:
        """Queue `data` for the host and write as much as the pty takes; bytes still queued."""
        if self._master is None:
            return 0
        self._backlog += data
        while self._backlog:
            try:
                written = os.write(self._master, self._backlog)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno != errno.EIO:  # EIO: the host has not opened its side
                    raise
                break
            del self._backlog[:written]
        return len(self._backlog)

    def receive(self) -> bytes:
        """Everything the host has written since the last call."""
        if self._master is None:
            return b""
        chunks = []
        while True:
            try:
                chunk = os.read(self._master, _READ_CHUNK)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno != errno.EIO:  # EIO: no host has the slave side open
                    raise
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)

    def wait_readable(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for bytes from the host; True if there are some."""
        if self._master is None:
            return False
        ready, _, _ = select.select([self._master], [], [], timeout)
        return bool(ready)
