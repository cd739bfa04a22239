"""Several boards as one: the SIM board and a SIP board, ports renumbered, commands routed."""

import numpy as np
import pytest
from hwsim_kit import scenario

from branchline.dsp import DtmfEvent
from branchline.hw.composite import CompositeBoard
from branchline.hw.ports import BLOCK_SAMPLES, PortError, PortKind, PortOutOfService
from branchline.hw.sim.board import SimBoard
from branchline.hw.sip.board import SipBoard, SipPhone


@pytest.fixture
def both():
    sim = SimBoard(scenario=scenario(board={"trunks": 2, "stations": 1}))
    sip = SipBoard(2, (), [SipPhone("desk1", "801")], password_for={}.get, secret=b"k" * 16)
    board = CompositeBoard([sim, sip])
    yield sim, sip, board
    board.close()


def test_ports_follow_one_another_and_keep_their_names(both):
    board = both[2]
    assert [(p.index, p.name) for p in board.ports] == [
        (0, "fxo1"), (1, "fxo2"), (2, "fxs1"), (3, "sip1"), (4, "sip2"), (5, "desk1")]
    assert board.ports[3].kind is PortKind.SIP


def test_events_blocks_and_keys_are_renumbered(both):
    board = both[2]
    events = board.tick(0.0)
    assert PortOutOfService(5, 0.0, "unregistered") in events
    assert board.read_block().shape == (6, BLOCK_SAMPLES)
    board.write_block(np.zeros((6, BLOCK_SAMPLES), np.int16))
    heard = [DtmfEvent(1, "5", 0, 800), DtmfEvent(4, "7", 0, 800)]
    assert board.dtmf_events(heard) == heard  # no RFC 4733 call: in-band on both boards


def test_commands_go_to_the_board_that_owns_the_port(both):
    board = both[2]
    board.tick(0.0)
    assert board.dial(0, "13800138000") is False  # an analog line dials in-band
    with pytest.raises(PortError, match=r"SipBoard.answer\(0\)"):
        board.answer(3)
    with pytest.raises(PortError, match="no port 6"):
        board.hang_up(6)


def test_port_names_must_differ_across_boards():
    one = SimBoard(scenario=scenario(board={"trunks": 1, "stations": 0}))
    two = SimBoard(scenario=scenario(board={"trunks": 1, "stations": 0}))
    with pytest.raises(ValueError, match="fxo1"):
        CompositeBoard([one, two])
