"""The Board contract: what every board driver must do, run against each implementation.

A driver joins by adding a factory to BOARDS that returns a board whose lines carry a call
on a trunk and a staffed station (the sim board does both from its scenario; a real board
on the bench needs a call generator and a phone set to auto-answer). The same contract runs on:

- ``sim``: the simulated board;
- ``loop``: the serial driver on pyserial's ``loop://`` with a board-side stub (the board
  emulator's firmware fed from the port's writes and writing into the port's loop);
- ``pty``: the serial driver and the board emulator over a real pseudo-terminal
  (``EmulatedBoard``).

The serial boards are connected before the test's clock starts (their handshake runs at
negative times), so every test can start at 0.
"""

import numpy as np
import pytest
from hwsim_kit import scenario
from serial.urlhandler.protocol_loop import Serial as LoopSerial

from branchline.hw.emulator import BoardEmulator, EmulatedBoard
from branchline.hw.ports import (
    BLOCK_SAMPLES,
    CN_STATION_RING,
    BlockError,
    Board,
    ClockError,
    OffHook,
    OnHook,
    Port,
    PortError,
    PortEvent,
    PortKind,
    Ring,
)
from branchline.hw.serial.board import SerialBoard
from branchline.hw.sim.board import SimBoard


def _staffed():
    return scenario(
        board={"trunks": 2, "stations": 1},
        arrivals={"default_per_hour": 600},
        agents={
            "answer_delay": {"kind": "fixed", "value": 2},
            "ring_no_answer": 0,
            "handle_time": {"kind": "fixed", "value": 5},
            "roster": [{"id": "1001", "station": 0, "shift": {"start": "09:00",
                                                               "end": "17:00"}}],
        },
    )


def _sim():
    return SimBoard(scenario=_staffed())


class _Stepper:
    """A virtual clock for the handshake: each call is the next 20 ms, from -1 s."""

    def __init__(self):
        self.t = -1.0

    def __call__(self):
        now, self.t = self.t, round(self.t + 0.02, 6)
        return now


class _StubbedLoop(LoopSerial):
    """pyserial's loop:// port whose writes go to the stub board instead of the loop."""

    emulator = None

    def open(self):
        self.buffer_size = 1 << 20  # loop:// holds 4096 bytes; a catch-up tick sends more
        super().open()

    def write(self, data):
        self.emulator.receive(bytes(data))
        return len(data)

    def board_writes(self, data):
        super().write(data)

    def fileno(self):
        raise AttributeError("loop:// has no file descriptor")


class LoopStubBoard:
    """The serial driver on loop:// with the board emulator's firmware as the stub board."""

    def __init__(self):
        self.emulator = BoardEmulator(scenario=_staffed(), seed=1)
        self.port = None
        self.host = SerialBoard("loop://", serial_factory=self._open)
        self.host.connect(_Stepper(), pump=self._pump)

    def _open(self, url, **options):
        self.port = _StubbedLoop(url, **options)
        self.port.emulator = self.emulator
        return self.port

    def _pump(self, now):
        out = self.emulator.tick(now)
        if out and self.port is not None:
            self.port.board_writes(out)

    def tick(self, now):
        self._pump(now)
        return self.host.tick(now)

    def __getattr__(self, name):
        return getattr(self.host, name)


def _loop():
    return LoopStubBoard()


def _pty():
    board = EmulatedBoard(BoardEmulator(scenario=_staffed(), seed=1))
    board.connect(_Stepper())
    return board


BOARDS = {"sim": _sim, "loop": _loop, "pty": _pty}


@pytest.fixture(params=sorted(BOARDS))
def board(request):
    made = BOARDS[request.param]()
    yield made
    close = getattr(made, "close", None)
    if close is not None:
        close()


class Loop:
    """The media loop on a virtual clock, 20 ms at a time."""

    def __init__(self, board):
        self.board = board
        self.now = 0.0
        self.events = []

    def run(self, seconds, until=None):
        silence = np.zeros((len(self.board.ports), BLOCK_SAMPLES), np.int16)
        for _ in range(round(seconds / 0.02)):
            new = self.board.tick(self.now)
            self.events += new
            self.board.read_block()
            self.board.write_block(silence)
            self.now = round(self.now + 0.02, 6)
            if until and any(until(e) for e in new):
                return next(e for e in new if until(e))
        return None


def test_is_a_board_with_numbered_ports(board):
    assert isinstance(board, Board)
    ports = board.ports
    assert isinstance(ports, tuple) and ports
    assert all(isinstance(p, Port) for p in ports)
    assert [p.index for p in ports] == list(range(len(ports)))
    assert any(p.kind.is_trunk for p in ports)
    assert all(p.is_trunk != p.is_station for p in ports)


def test_blocks_are_int16_channels_by_160(board):
    board.tick(0.0)
    block = board.read_block()
    assert block.dtype == np.int16
    assert block.shape == (len(board.ports), BLOCK_SAMPLES)
    assert block.flags.c_contiguous
    board.write_block(np.zeros_like(block))
    again = board.read_block()
    assert again is not block and not np.shares_memory(again, block)


@pytest.mark.parametrize("bad", [
    np.zeros((1, 160), np.int16),
    np.zeros((99, 160), np.int16),
    "silence",
])
def test_write_block_rejects_wrong_blocks(board, bad):
    board.tick(0.0)
    with pytest.raises(BlockError, match=r"expected an int16 array of shape"):
        board.write_block(bad)


def test_write_block_rejects_wrong_dtype(board):
    board.tick(0.0)
    block = np.zeros((len(board.ports), BLOCK_SAMPLES), np.float32)
    with pytest.raises(BlockError, match="float32"):
        board.write_block(block)


def test_clock_must_not_go_back(board):
    board.tick(10.0)
    with pytest.raises(ClockError, match="must not go back"):
        board.tick(9.98)


def test_commands_check_the_port(board):
    board.tick(0.0)
    trunk = next(p.index for p in board.ports if p.is_trunk)
    station = next((p.index for p in board.ports if p.is_station), None)
    with pytest.raises(PortError, match="does not exist"):
        board.answer(len(board.ports))
    with pytest.raises(PortError, match="does not exist"):
        board.hang_up(-1)
    with pytest.raises(PortError, match="is a trunk"):
        board.ring(trunk)
    if station is not None:
        with pytest.raises(PortError, match="is a station"):
            board.answer(station)


def test_events_are_port_events_in_time_order(board):
    loop = Loop(board)
    loop.run(30)
    assert loop.events
    assert all(isinstance(e, PortEvent) for e in loop.events)
    assert all(0 <= e.port < len(board.ports) for e in loop.events)
    times = [e.time for e in loop.events]
    assert times == sorted(times)
    assert times[-1] <= loop.now


def test_an_answered_call_rings_no_more(board):
    loop = Loop(board)
    ring = loop.run(60, until=lambda e: isinstance(e, Ring))
    assert ring is not None and board.ports[ring.port].is_trunk
    board.answer(ring.port)
    loop.events.clear()
    loop.run(12)
    assert not [e for e in loop.events if isinstance(e, Ring) and e.port == ring.port]
    board.hang_up(ring.port)


def test_a_rung_station_answers_and_hangs_up(board):
    station = next(p.index for p in board.ports if p.kind is PortKind.FXS)
    loop = Loop(board)
    loop.run(10)  # the agent logs in at the start of the shift
    loop.run(30, until=lambda e: isinstance(e, OnHook) and e.port == station)
    board.ring(station, CN_STATION_RING)
    off = loop.run(30, until=lambda e: isinstance(e, OffHook) and e.port == station)
    assert off is not None
    on = loop.run(60, until=lambda e: isinstance(e, OnHook) and e.port == station)
    assert on is not None and on.time > off.time
