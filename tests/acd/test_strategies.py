"""Each strategy picks the agent its definition says, from the same history."""

import collections

import pytest

from branchline.acd import (
    AgentLogin,
    AgentReady,
    CallArrived,
    CallEnded,
    Offer,
    OfferAnswered,
    QueueModel,
    Strategy,
)

# Built below: at t = 200 all three agents are ready with
#   a: ready since 101, 1 call, 100 s talk, offered first (offer #1), english 3
#   b: ready since 13,  1 call, 10 s talk,  offer #2,                  english 9
#   c: ready since 9,   2 calls, 2 s talk,  offer #4,                  english 6
EXPECTED = {
    Strategy.LONGEST_IDLE: "c",
    Strategy.ROUND_ROBIN: "a",
    Strategy.FEWEST_CALLS: "b",  # a and b have one call each; b has been idle longer
    Strategy.LEAST_TALK_TIME: "c",
    Strategy.LINEAR: "a",  # first in the configuration
    Strategy.BEST_SKILL: "b",
}


def history(make_desk, make_agent, strategy, seed=0):
    queue = QueueModel(name="q", strategy=strategy, wrap_up_s=0, announce={"every_s": 0})
    desk = make_desk([queue], [make_agent("a", "q", skills={"english": 3}),
                               make_agent("b", "q", skills={"english": 9}),
                               make_agent("c", "q", skills={"english": 6})], seed=seed)
    for agent in "abc":
        desk.at(0, AgentLogin(agent))
    script = [(0, AgentReady("a")), (0.5, CallArrived("x1", "q")), (1, OfferAnswered("x1", "a")),
              (2, AgentReady("b")), (2.5, CallArrived("x2", "q")), (3, OfferAnswered("x2", "b")),
              (4, AgentReady("c")), (4.5, CallArrived("x3", "q")), (5, OfferAnswered("x3", "c")),
              (6, CallEnded("x3")), (7, CallArrived("x4", "q")), (8, OfferAnswered("x4", "c")),
              (9, CallEnded("x4")), (13, CallEnded("x2")), (101, CallEnded("x1"))]
    for t, event in script:
        desk.at(t, event)
    assert [d.agent_id for d in desk.decisions if isinstance(d, Offer)] == ["a", "b", "c", "c"]
    return desk


@pytest.mark.parametrize(("strategy", "agent"), EXPECTED.items())
def test_strategy_picks(make_desk, make_agent, strategy, agent):
    desk = history(make_desk, make_agent, strategy)
    out = desk.at(200, CallArrived("new", "q", skills=("english",)))
    assert [d.agent_id for d in out if isinstance(d, Offer)] == [agent]


def test_random_is_seeded_and_spreads_calls(make_desk, make_agent):
    picks = collections.Counter()
    for seed in range(150):
        desk = history(make_desk, make_agent, Strategy.RANDOM, seed=seed)
        out = desk.at(200, CallArrived("new", "q"))
        picks[next(d.agent_id for d in out if isinstance(d, Offer))] += 1
    again = history(make_desk, make_agent, Strategy.RANDOM, seed=3).at(200, CallArrived("n", "q"))
    first = history(make_desk, make_agent, Strategy.RANDOM, seed=3).at(200, CallArrived("n", "q"))
    assert again == first
    # Uniform over three agents: 50 each expected; 25 is more than 5 standard deviations off.
    assert set(picks) == {"a", "b", "c"} and min(picks.values()) > 25, picks


def test_a_higher_penalty_tier_gets_calls_only_when_the_first_tier_is_busy(make_desk,
                                                                          make_agent):
    queue = QueueModel(name="q", wrap_up_s=0, announce={"every_s": 0})
    desk = make_desk([queue], [make_agent("backup", "q", penalty=5), make_agent("main", "q")])
    desk.ready(0, "backup")
    desk.ready(1, "main")  # idle for less time, but in the first tier
    desk.at(2, CallArrived("c1", "q"))
    desk.at(3, CallArrived("c2", "q"))
    assert [(d.call_id, d.agent_id) for d in desk.decisions if isinstance(d, Offer)] == [
        ("c1", "main"), ("c2", "backup")]
