"""The first caller of a scenario: at ``arrivals.first_s`` when given (the demo sets it, so
`make run` shows a call within seconds), else the Poisson draw."""

from pathlib import Path

from hwsim_kit import scenario

from branchline.hw.ports import BLOCK_SECONDS, Ring
from branchline.hw.sim.board import SimBoard
from branchline.hw.sim.scenario import load_scenario

DEMO = Path(__file__).resolve().parents[3] / "config" / "defaults" / "scenario_demo.yaml"


def _first_ring(board: SimBoard, limit_s: float) -> float | None:
    """Board time of the first Ring, ticking 20 ms blocks on a virtual clock from 0."""
    for n in range(round(limit_s / BLOCK_SECONDS) + 1):
        now = n * BLOCK_SECONDS
        if any(isinstance(e, Ring) for e in board.tick(now)):
            return now
        board.read_block()
    return None


def test_the_demo_scenario_rings_within_its_first_five_seconds():
    first = _first_ring(SimBoard(scenario=load_scenario(DEMO)), limit_s=10.0)
    assert first is not None and first <= 5.0, first


def test_first_s_places_the_first_caller_and_poisson_follows():
    arrivals = {"default_per_hour": 60, "first_s": 2.5}
    board = SimBoard(scenario=scenario(arrivals=arrivals))
    assert _first_ring(board, limit_s=10.0) == 2.5
    assert board.counters().offered == 1


def test_first_s_after_the_day_brings_no_caller():
    arrivals = {"default_per_hour": 0, "first_s": 9 * 3600}  # the base day is 8 hours
    board = SimBoard(scenario=scenario(arrivals=arrivals))
    board.tick(0.0)
    board.tick(10 * 3600.0)  # the board takes any later time; every arrival due is made
    assert board.counters().offered == 0
