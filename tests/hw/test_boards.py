"""Board URLs: which board each names, and the errors for those that name none."""

import pytest
from hwsim_kit import scenario

from branchline.hw.boards import BoardUrlError, open_board
from branchline.hw.emulator import EmulatedBoard, ThreadedEmulatedBoard
from branchline.hw.ports import PortKind
from branchline.hw.serial.board import SerialBoard
from branchline.hw.sim.board import SimBoard


def test_sim_needs_a_scenario_and_takes_the_port_counts():
    board = open_board("sim", scenario=scenario(), trunks=3, stations=2)
    assert isinstance(board, SimBoard)
    assert [p.kind for p in board.ports].count(PortKind.FXO) == 3
    with pytest.raises(BoardUrlError, match="needs a scenario"):
        open_board("sim")


def test_an_emulator_url_opens_the_emulator_behind_a_pty(tmp_path):
    path = tmp_path / "quiet.yaml"
    path.write_text("name: quiet\ncallers: {languages: {m: {share: 1, key: '1'}}, "
                    "accounts: [{card: '4111111111111111', pin: '000000'}], "
                    "goals: {g: {share: 1, steps: [{hang_up: true}]}}}\n")
    board = open_board("boardemu://?trunks=3&stations=1&seed=4&scenario=quiet.yaml"
                       "&faults=drop:0.5", find_scenario=lambda name: tmp_path / name)
    try:
        assert isinstance(board, EmulatedBoard)
        emulator = board.emulator
        assert (emulator.trunks, emulator.stations, emulator.seed) == (3, 1, 4)
        assert emulator.lines.scenario.name == "quiet"
        assert emulator.faults.drop == 0.5
        assert board.cable.path.is_symlink()
    finally:
        board.close()
    assert not board.cable.path.exists()


def test_the_callers_counts_and_seed_fill_in_what_the_url_leaves_out():
    board = open_board("boardemu://?stations=2", trunks=5, stations=9, seed=11)
    try:
        assert (board.emulator.trunks, board.emulator.stations) == (5, 2)
        assert board.emulator.seed == 11
    finally:
        board.close()


def test_serial_and_pyserial_urls_open_the_serial_driver():
    board = open_board("serial:///dev/ttyACM7?baud=115200")
    assert isinstance(board, SerialBoard) and board.url == "/dev/ttyACM7"
    assert board._baudrate == 115200
    loop = open_board("loop://")
    assert isinstance(loop, SerialBoard) and loop.url == "loop://"
    assert isinstance(open_board("/dev/ttyUSB3"), SerialBoard)


@pytest.mark.parametrize(("url", "expected"), [
    ("", "expected one of: sim; boardemu://"),
    ("simulator", "unknown kind of board 'simulator'"),
    ("ftp://board", "unknown kind of board 'ftp'"),
    ("serial://", "write serial:// followed by the device path"),
    ("serial:///dev/ttyACM0?speed=9600", "parameter 'speed' is not known"),
    ("serial:///dev/ttyACM0?baud=fast", "baud='fast'; expected bits per second"),
    ("boardemu://?trunks=99", "parameter trunks='99': expected 1-64"),
])
def test_urls_that_name_no_board_say_what_would(url, expected):
    with pytest.raises(ValueError, match="board URL") as caught:
        open_board(url)
    assert expected in str(caught.value)


def test_realtime_runs_the_emulator_on_its_own_thread():
    board = open_board("boardemu://?trunks=1&stations=1", realtime=True)
    try:
        assert isinstance(board, ThreadedEmulatedBoard)
        ports = board.connect(timeout_s=10.0)  # on the wall clock, waiting on the thread
        assert [p.name for p in ports] == ["fxo1", "fxs1"]
        assert board.status()["connected"] and board.thread.failure is None
    finally:
        board.close()
    assert not board.thread._thread.is_alive() and not board.cable.path.exists()
