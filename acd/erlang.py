"""Erlang C, for planning shifts: M/M/N with infinite patience (A. K. Erlang, 1917).

Traffic A = arrival rate x average handle time (Erlangs). With N agents (N > A):

    P(wait) = C(N, A) = N·B / (N − A·(1 − B))      B = Erlang B(N, A), by the stable recursion
                                                    B(0) = 1, B(n) = A·B(n−1) / (n + A·B(n−1))
    ASA     = C · AHT / (N − A)
    SL(t)   = 1 − C · exp(−(N − A) · t / AHT)

Real callers abandon, so Erlang C errs on the safe side (it overstates the agents needed).
"""

import math


def _check(arrivals_per_s: float, aht_s: float, agents: int) -> float:
    if arrivals_per_s < 0 or aht_s <= 0 or agents < 1:
        raise ValueError(
            f"erlang: need arrivals_per_s >= 0, aht_s > 0, agents >= 1; got "
            f"{arrivals_per_s}, {aht_s}, {agents}"
        )
    return arrivals_per_s * aht_s


def erlang_b(agents: int, traffic: float) -> float:
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    return b


def probability_of_waiting(arrivals_per_s: float, aht_s: float, agents: int) -> float:
    """C(N, A); 1.0 when the agents cannot keep up (A >= N): every caller waits."""
    a = _check(arrivals_per_s, aht_s, agents)
    if a >= agents:
        return 1.0
    b = erlang_b(agents, a)
    return agents * b / (agents - a * (1 - b))


def average_speed_of_answer(arrivals_per_s: float, aht_s: float, agents: int) -> float:
    a = _check(arrivals_per_s, aht_s, agents)
    if a >= agents:
        return math.inf
    return probability_of_waiting(arrivals_per_s, aht_s, agents) * aht_s / (agents - a)


def service_level(arrivals_per_s: float, aht_s: float, agents: int, target_s: float) -> float:
    """Share of calls answered within target_s."""
    a = _check(arrivals_per_s, aht_s, agents)
    if a >= agents:
        return 0.0
    c = probability_of_waiting(arrivals_per_s, aht_s, agents)
    return 1.0 - c * math.exp(-(agents - a) * target_s / aht_s)


def agents_needed(arrivals_per_s: float, aht_s: float, target_pct: float, target_s: float) -> int:
    """The fewest agents that answer target_pct % of calls within target_s."""
    if not 0 < target_pct < 100:
        raise ValueError(f"agents_needed: target_pct {target_pct} must be between 0 and 100")
    a = _check(arrivals_per_s, aht_s, 1)
    n = max(1, math.floor(a) + 1)
    while service_level(arrivals_per_s, aht_s, n, target_s) < target_pct / 100:
        n += 1
    return n
