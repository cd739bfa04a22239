"""The host driver and the board emulator joined by a real pseudo-terminal.

Two ways to run them, both with the host's real ``SerialBoard`` reading and writing a real
pty through pyserial (``serial_for_url`` on the cable's device path):

- ``EmulatedBoard(emulator)``: for tests, ``simulate`` and the virtual clock. ``tick(now)``
  pumps both ends in lockstep in the caller's thread: the bytes the host wrote since the last
  tick go to the emulator, the emulator runs to ``now`` and its bytes go down the pty, and only
  once they have all arrived on the host's side does the host's ``tick(now)`` read them. No
  thread, no sleep: the same seed gives the same run, byte for byte. Waiting for the kernel to
  move bytes through the pty is bounded (``PTY_TIMEOUT_S``; past it ``LinkError``).
- ``ThreadedEmulatedBoard(emulator)``: for ``branchline run``. The emulator runs on its own
  thread on the monotonic clock, one 20 ms block per boundary, behind the pty; the host is an
  ordinary ``SerialBoard`` driven by the media loop, exactly as it drives a real board.

Both are ``hw.ports.Board``s (the host driver's), with its ``counters`` and ``status()``, and
``close()``. The emulator's ``plugged`` state is followed by the cable: an ``unplug`` fault
closes the pty and removes the device path; plugging back makes a new pty behind the same path.
"""

from __future__ import annotations

import os
import select
import tempfile
import threading
import time
from pathlib import Path

import serial

from branchline.hw.emulator.board import BoardEmulator
from branchline.hw.emulator.pty import PtyCable
from branchline.hw.ports import BLOCK_SECONDS, CN_STATION_RING, BoardError
from branchline.hw.serial.board import SerialBoard

__all__ = ["PTY_TICK_BYTES", "PTY_TIMEOUT_S", "EmulatedBoard", "EmulatorThread", "LinkError",
           "ThreadedEmulatedBoard"]

PTY_TIMEOUT_S = 5.0
# Bytes moved to the host per lockstep tick: under the pty reader's 4096-byte buffer (Linux
# N_TTY_BUF_SIZE). A tick's traffic is about 170 bytes a port, so 20 ports fit in one tick;
# more is spread over the following ticks, the same way every run.
PTY_TICK_BYTES = 4000


class LinkError(BoardError):
    """The pseudo-terminal between host and emulator did not move the bytes in time."""


class _CountedPort:
    """A pyserial port that counts the bytes written through it (the lockstep needs it)."""

    def __init__(self, port):
        self._port = port
        self.written = 0

    def write(self, data):
        n = self._port.write(data)
        self.written += len(data) if n is None else n
        return n

    def __getattr__(self, name):
        return getattr(self._port, name)


class _HostFront:
    """The Board interface, passed to the host driver (whose ``connect`` keeps the events seen
    while connecting for the first tick: a station already off hook must not be lost)."""

    host: SerialBoard

    def close(self) -> None:
        self.host.close()
        self.cable.close()
        if self._holder is not None:
            self._holder.cleanup()

    @property
    def ports(self):
        return self.host.ports

    def read_block(self):
        return self.host.read_block()

    def write_block(self, block):
        self.host.write_block(block)

    def answer(self, port):
        self.host.answer(port)

    def hang_up(self, port):
        self.host.hang_up(port)

    def ring(self, port, cadence=CN_STATION_RING):
        self.host.ring(port, cadence)

    def stop_ring(self, port):
        self.host.stop_ring(port)

    def loopback(self, port, on):
        self.host.loopback(port, on)

    @property
    def trunks(self) -> int:
        return self.emulator.trunks

    @property
    def stations(self) -> int:
        return self.emulator.stations

    @property
    def connected(self) -> bool:
        return self.host.connected

    @property
    def counters(self):
        return self.host.counters

    def status(self):
        return self.host.status()


def _cable_directory(directory):
    if directory is not None:
        return None, Path(directory)
    holder = tempfile.TemporaryDirectory(prefix="boardemu-")
    return holder, Path(holder.name)


class EmulatedBoard(_HostFront):
    """Host driver and emulator pumped in lockstep (see the module docstring)."""

    def __init__(self, emulator: BoardEmulator, *, directory: str | os.PathLike | None = None,
                 name: str = "board0", **driver_options):
        self.emulator = emulator
        self._holder, folder = _cable_directory(directory)
        self.cable = PtyCable(folder, name)
        self._port: _CountedPort | None = None
        self._taken = 0
        self._outbox = bytearray()  # the board's bytes not yet through the pty
        self.host = SerialBoard(str(self.cable.path), name=name, serial_factory=self._open,
                                **driver_options)

    def _open(self, url, *args, **kwargs):
        port = _CountedPort(serial.serial_for_url(url, *args, **kwargs))
        self._port, self._taken = port, 0
        return port

    def tick(self, now: float):
        self._pump(now)
        return self.host.tick(now)

    def connect(self, clock, *, timeout_s: float = 5.0):
        """Tick both ends on `clock()` (virtual: each call one step on) until the board is
        up; its ports. Call it before building anything on ``ports``."""
        return self.host.connect(clock, timeout_s=timeout_s, pump=self._pump)

    def _pump(self, now: float) -> None:
        self._to_board()
        self._outbox += self.emulator.tick(now)
        self._follow_cable()
        if not self.cable.plugged:
            self._outbox.clear()
        elif self._outbox:
            self._to_host()


    def _follow_cable(self) -> None:
        if self.emulator.plugged and not self.cable.plugged:
            self.cable.plug()
        elif not self.emulator.plugged and self.cable.plugged:
            self.cable.unplug()

    def _to_board(self) -> None:
        port = self._port
        if port is None or not self.cable.plugged:
            return
        deadline = None
        while self._taken < port.written:
            data = self.cable.receive()
            if data:
                self._taken += len(data)
                self.emulator.receive(data)
                continue
            deadline = deadline or time.monotonic() + PTY_TIMEOUT_S
            if time.monotonic() > deadline:
                raise LinkError(f"emulated board: the host wrote {port.written - self._taken} "
                                f"bytes the pty did not deliver within {PTY_TIMEOUT_S} s")
            self.cable.wait_readable(PTY_TIMEOUT_S)

    def _to_host(self) -> None:
        port = self._port
        try:
            reading = port is not None and port.is_open
            before = port.in_waiting if reading else 0
        except (serial.SerialException, OSError):
            reading, before = False, 0
        if not reading:
            # Nobody reads the pty: what the board sends now is lost, as on a real line.
            self.cable.send(bytes(self._outbox))
            self._outbox.clear()
            return
        # The kernel moves bytes from the master to the slave side on a work queue and holds
        # at most a page of them for the reader: send what fits this tick (the rest goes next
        # tick) and wait until all of it is readable, so the host's tick sees exactly it.
        size = max(0, PTY_TICK_BYTES - before)
        chunk = bytes(self._outbox[:size])
        del self._outbox[:size]
        self.cable.send(chunk)
        target = before + len(chunk)
        deadline = time.monotonic() + PTY_TIMEOUT_S
        while port.in_waiting < target:
            if time.monotonic() > deadline:
                raise LinkError(f"emulated board: {target - port.in_waiting} bytes sent to the "
                                f"host did not arrive within {PTY_TIMEOUT_S} s")
            select.select([port.fileno()], [], [], 0.001)


class EmulatorThread:
    """The emulator on its own thread, one 20 ms block per boundary of `clock`, behind a cable.

    ``start()``; ``stop()`` joins the thread. ``failure`` holds what stopped it, if anything.
    """

    def __init__(self, emulator: BoardEmulator, cable: PtyCable, *, clock=time.monotonic):
        self.emulator = emulator
        self.cable = cable
        self._clock = clock
        self._stop = threading.Event()
        self.failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="boardemu", daemon=True)

    def start(self) -> EmulatorThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=PTY_TIMEOUT_S)

    def wait(self, seconds: float) -> None:
        """Wait up to `seconds`, or until stopped."""
        self._stop.wait(seconds)

    def _run(self) -> None:
        start = self._clock()
        due = start
        try:
            while not self._stop.is_set():
                data = self.cable.receive()
                if data:
                    self.emulator.receive(data)
                out = self.emulator.tick(self._clock() - start)
                if self.emulator.plugged and not self.cable.plugged:
                    self.cable.plug()
                elif not self.emulator.plugged and self.cable.plugged:
                    self.cable.unplug()
                self.cable.send(out)
                due += BLOCK_SECONDS
                self._stop.wait(max(0.0, due - self._clock()))
        except BaseException as exc:  # kept for the log; the host sees the board go quiet
            self.failure = exc
            raise


class ThreadedEmulatedBoard(_HostFront):
    """The emulator on its own real-time thread behind a pty; the host driver in front."""

    def __init__(self, emulator: BoardEmulator, *, directory: str | os.PathLike | None = None,
                 name: str = "board0", clock=time.monotonic, **driver_options):
        self.emulator = emulator
        self._holder, folder = _cable_directory(directory)
        self.cable = PtyCable(folder, name)
        self.thread = EmulatorThread(emulator, self.cable, clock=clock).start()
        self.host = SerialBoard(str(self.cable.path), name=name, **driver_options)

    def tick(self, now: float):
        return self.host.tick(now)

    def connect(self, clock=time.monotonic, *, timeout_s: float = 5.0):
        """Wait (on the real clock) until the board is up; its ports."""
        return self.host.connect(clock, timeout_s=timeout_s)

    def close(self) -> None:
        self.thread.stop()
        super().close()
