"""The loopback self-test on the emulated board: every port plays DTMF and a sweep to itself."""

import json

import pytest

from branchline.hw.emulator import BoardEmulator, EmulatedBoard
from branchline.hw.emulator.lines import quiet_scenario
from branchline.hw.selftest import (
    DTMF_KEYS,
    SWEEP_DBM0,
    SWEEP_HZ,
    SelfTestError,
    run_loopback_selftest,
)
from branchline.hw.sim.board import SimBoard


class Stepper:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        now, self.t = self.t, round(self.t + 0.02, 6)
        return now


def _board(faults=None):
    board = EmulatedBoard(BoardEmulator(2, 2, seed=1, faults=faults))
    clock = Stepper()
    board.connect(clock)
    return board, clock.t


def test_every_port_hears_its_own_digits_and_the_sweep_comes_back_level():
    board, start = _board()
    try:
        report = run_loopback_selftest(board, start=start)
    finally:
        board.close()
    assert report.ok and report.connected
    assert [p.name for p in report.ports] == ["fxo1", "fxo2", "fxs1", "fxs2"]
    for i, port in enumerate(report.ports):
        assert port.dtmf_sent == DTMF_KEYS[i:] + DTMF_KEYS[:i]  # crossed channels would show
        assert port.dtmf_heard == port.dtmf_sent
        assert [t.frequency_hz for t in port.levels] == list(SWEEP_HZ)
        # A digital loopback at the codec: only A-law quantisation between out and back.
        assert all(abs(t.level_dbm0 - SWEEP_DBM0) < 0.3 for t in port.levels), port.levels
    assert not board.emulator.lines.loopback.any()  # the test undid its loopbacks
    data = report.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["ports"][2]["kind"] == "fxs" and data["ok"]


def test_a_port_that_returns_nothing_fails_with_what_it_heard():
    board, start = _board(faults="drop:1")  # every frame the board sends is lost
    try:
        report = run_loopback_selftest(board, start=start)
    finally:
        board.close()
    assert report.connected and not report.ok  # the link is up: only the audio is missing
    for port in report.ports:
        assert not port.ok
        assert port.dtmf_heard == ""


def test_a_board_that_cannot_loop_back_says_so():
    with pytest.raises(SelfTestError, match="cannot loop its ports back"):
        run_loopback_selftest(SimBoard(scenario=quiet_scenario(1, 1)))


def test_a_board_not_yet_connected_is_connected_first():
    board = EmulatedBoard(BoardEmulator(1, 1, seed=3))
    try:
        assert board.ports == ()  # a serial board learns its ports from the handshake
        report = run_loopback_selftest(board)
    finally:
        board.close()
    assert report.ok and [p.name for p in report.ports] == ["fxo1", "fxs1"]


def test_the_command_runs_it_on_a_board_url(tmp_path, capsys):
    from branchline.firmware.cli.main import main

    code = main(["selftest", "--data", str(tmp_path), "--board",
                 "boardemu://?trunks=1&stations=1", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["ok"]
    assert [p["dtmf_heard"] for p in report["ports"]] == ["0123456789*#", "123456789*#0"]
    code = main(["selftest", "--data", str(tmp_path), "--board",
                 "boardemu://?trunks=1&stations=0&faults=drop:1"])
    out = capsys.readouterr().out
    assert code == 1 and "FAIL" in out and "self-test FAILED" in out
