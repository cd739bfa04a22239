"""Erlang A (M/M/n+M) against an independent numerical solution and against Erlang C.

The reference below shares nothing with acd/erlang_a.py but the model: it builds the birth-death
chain's generator as a matrix, solves π·Q = 0 with a dense linear solve (scipy.linalg), and gets
the service level by running a tagged caller's own Markov chain (position in the queue, served,
abandoned) forward with the matrix exponential, with no Beta-function identity involved.
"""

import numpy as np
import pytest
from scipy import linalg

from branchline.acd import erlang
from branchline.acd.erlang_a import ErlangA, agents_needed


def reference(lam, aht, patience, n, target_s):
    mu, theta = 1 / aht, 1 / patience
    size = n + 400 + int(4 * max(0.0, lam - n * mu) / theta)
    q_matrix = np.zeros((size, size))
    for j in range(size):
        if j + 1 < size:
            q_matrix[j, j + 1] = lam
        if j > 0:
            q_matrix[j, j - 1] = min(j, n) * mu + max(0, j - n) * theta
        q_matrix[j, j] = -q_matrix[j].sum()
    # π·Q = 0 with Σπ = 1: replace one balance equation by the normalisation.
    a = q_matrix.T.copy()
    a[-1, :] = 1.0
    b = np.zeros(size)
    b[-1] = 1.0
    pi = linalg.solve(a, b)
    waiting = pi[n:]
    queue = float(np.arange(waiting.size) @ waiting)
    # The tagged caller: states 0..Q-1 = callers ahead of it, then served, abandoned.
    depth = waiting.size
    g = np.zeros((depth + 2, depth + 2))
    served, gone = depth, depth + 1
    for q in range(depth):
        g[q, q - 1 if q else served] = n * mu + q * theta
        g[q, gone] = theta
        g[q, q] = -(n * mu + q * theta + theta)
    start = np.zeros(depth + 2)
    start[:depth] = waiting
    after = start @ linalg.expm(g * target_s)
    return {
        "p_wait": float(waiting.sum()),
        "p_abandon": theta * queue / lam,
        "sl": float(pi[:n].sum() + after[served]),
        "waiting": waiting,
    }


CASES = [
    # λ (calls/s), AHT s, patience s, agents, SL target s
    (100 / 1800, 180.0, 90.0, 12, 20.0),
    (100 / 1800, 180.0, 300.0, 9, 20.0),  # fewer agents than Erlangs (10): still stable
    (400 / 3600, 240.0, 60.0, 25, 30.0),
    (2000 / 3600, 150.0, 120.0, 80, 20.0),
    (5 / 3600, 300.0, 45.0, 1, 10.0),
]


@pytest.mark.parametrize(("lam", "aht", "patience", "n", "t"), CASES)
def test_erlang_a_matches_an_independent_solution_to_three_decimals(lam, aht, patience, n, t):
    ref = reference(lam, aht, patience, n, t)
    queue = ErlangA(lam, aht, patience, n)
    assert queue.probability_of_waiting == pytest.approx(ref["p_wait"], abs=5e-4)
    assert queue.probability_of_abandon == pytest.approx(ref["p_abandon"], abs=5e-4)
    assert queue.service_level(t) == pytest.approx(ref["sl"], abs=5e-4)


@pytest.mark.parametrize(("lam", "aht", "patience", "n", "t"), CASES)
def test_every_caller_is_answered_or_abandons(lam, aht, patience, n, t):
    queue = ErlangA(lam, aht, patience, n)
    # With no limit on the wait, SL(∞) is the share answered.
    assert queue.service_level(1e7) == pytest.approx(1 - queue.probability_of_abandon, abs=1e-9)
    assert queue.service_level(0) == pytest.approx(1 - queue.probability_of_waiting, abs=1e-12)


def test_with_endless_patience_erlang_a_is_erlang_c():
    lam, aht = 100 / 1800, 180.0
    for n in (11, 12, 14):
        queue = ErlangA(lam, aht, 1e9, n)
        assert queue.probability_of_waiting == pytest.approx(
            erlang.probability_of_waiting(lam, aht, n), abs=1e-5)
        assert queue.service_level(20) == pytest.approx(erlang.service_level(lam, aht, n, 20),
                                                        abs=1e-5)
        assert queue.average_speed_of_answer == pytest.approx(
            erlang.average_speed_of_answer(lam, aht, n), rel=1e-4)


def test_asa_of_answered_callers_matches_the_reference_chain():
    # ASA by the tagged chain: ∫ P(not yet reached an agent and still there) dt over the
    # answered share, from the mean time to absorption split by outcome.
    lam, aht, patience, n = 400 / 3600, 240.0, 60.0, 25
    mu, theta = 1 / aht, 1 / patience
    queue = ErlangA(lam, aht, patience, n)
    ref = reference(lam, aht, patience, n, 1.0)
    waiting = ref["waiting"]
    depth = waiting.size
    # E[V · 1{served}] for a caller with q ahead, by first-step analysis on the tagged chain.
    served_p = [0.0] * depth
    served_t = [0.0] * depth
    for q in range(depth):
        rate = n * mu + q * theta + theta
        ahead = 1.0 if q == 0 else served_p[q - 1]
        ahead_t = 0.0 if q == 0 else served_t[q - 1]
        move = (n * mu + q * theta) / rate
        served_p[q] = move * ahead
        served_t[q] = move * (ahead / rate + ahead_t)
    asa = float(waiting @ np.array(served_t)) / (1 - ref["p_abandon"])
    assert queue.average_speed_of_answer == pytest.approx(asa, rel=1e-6)


def test_agents_needed_is_the_fewest_that_meet_the_target():
    lam, aht, patience = 100 / 1800, 180.0, 90.0
    n = agents_needed(lam, aht, patience, 80, 20)
    assert ErlangA(lam, aht, patience, n).service_level(20) >= 0.80
    assert ErlangA(lam, aht, patience, n - 1).service_level(20) < 0.80
    # Callers who hang up free agents for those who stay: never more than Erlang C asks for.
    assert n <= erlang.agents_needed(lam, aht, 80, 20)
    capped = agents_needed(lam, aht, patience, 50, 20, max_abandon_pct=1)
    assert ErlangA(lam, aht, patience, capped).probability_of_abandon <= 0.01
    assert ErlangA(lam, aht, patience, capped - 1).probability_of_abandon > 0.01
    assert agents_needed(0.0, aht, patience, 80, 20) == 0


def test_bad_figures_say_what_is_wrong():
    with pytest.raises(ValueError, match="patience_s > 0"):
        ErlangA(0.1, 180, 0, 3)
    with pytest.raises(ValueError, match="target_pct 100 must be between 0 and 100"):
        agents_needed(0.1, 180, 60, 100, 20)
