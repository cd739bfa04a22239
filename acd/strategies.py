"""Distribution strategies: which ready agent a waiting call goes to.

A strategy is a sort key over the ready agents of a line; the line's agent heap keeps the
smallest key on top, so choosing is O(log n). The key is taken when the agent becomes ready and
does not change while the agent stays ready (everything it reads changes only when the agent
takes or finishes a call). Every key starts with the agent's penalty in that queue (lower tiers
first) and ends with the agent's position in the configuration, so ties break the same way every
run.

| strategy | the agent chosen |
|---|---|
| longest_idle | ready for the longest time (default) |
| round_robin | offered a call least recently |
| fewest_calls | handled (completed) the fewest calls since the engine started |
| least_talk_time | the least talk time since the engine started |
| linear | first in the configured order |
| random | uniformly at random (the engine's seeded generator) |
| best_skill | highest sum of levels in the call's skills, then longest idle |
"""

from typing import Protocol

from branchline.acd.models import Strategy


class RankedAgent(Protocol):
    ready_since: float
    last_offer: int
    calls: int
    talk_total: float
    order: int
    rnd: float
    skills: dict[str, int]


def agent_key(
    strategy: Strategy, agent: RankedAgent, penalty: int, skills: frozenset[str]
) -> tuple:
    match strategy:
        case Strategy.LONGEST_IDLE:
            return (penalty, agent.ready_since)
        case Strategy.ROUND_ROBIN:
            return (penalty, agent.last_offer)
        case Strategy.FEWEST_CALLS:
            return (penalty, agent.calls, agent.ready_since)
        case Strategy.LEAST_TALK_TIME:
            return (penalty, agent.talk_total, agent.ready_since)
        case Strategy.LINEAR:
            return (penalty,)
        case Strategy.RANDOM:
            return (penalty, agent.rnd)
        case Strategy.BEST_SKILL:
            return (penalty, -sum(agent.skills.get(s, 0) for s in skills), agent.ready_since)
    raise AssertionError(f"strategy {strategy!r} has no key")  # pragma: no cover
