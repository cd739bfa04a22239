"""Erlang A, for planning with callers who hang up: M/M/n+M (C. Palm, 1943; Mandelbaum & Zeltyn).

Poisson arrivals λ, exponential handle time (rate μ = 1/AHT), n agents, and every waiting
caller's patience exponential with rate θ = 1/mean patience. The number in the system is a
birth-death chain; its stationary weights, with A = λ/μ, are

    w_j = A^j / j!                                  j <= n
    w_{n+q} = w_n · Π_{i=1..q} λ / (nμ + iθ)        q >= 1 waiting

(computed in logs and truncated once a term falls 1e-18 below the largest; normalised to π).
Arrivals see π (PASTA). With α = nμ/θ and a caller who finds q already waiting, its wait to
an agent V is the sum of exponential stages of rates nμ + kθ (k = q..0), so e^{-θV} is
Beta(α, q+1); it is served if V comes before its own patience, hence

    P(wait)    = Σ_{q>=0} π_{n+q}
    P(abandon) = θ · E[queue] / λ,                  E[queue] = Σ q · π_{n+q}
    SL(t)      = Σ_{j<n} π_j + Σ_q π_{n+q} · α/(α+q+1) · (1 − I_x(α+1, q+1)),   x = e^{-θt}
    ASA        = Σ_q π_{n+q} · α/(α+q+1) · Σ_{i=1..q+1} 1/(nμ + iθ)  /  P(served)

where I_x(a, m) is the regularised incomplete beta function; for whole m it is the chance
that a negative binomial count (r = a, p = x) is below m, summed here in logs. SL(t) is the
share of *all* offered callers answered within t (docs/kpis.md's variant A: an abandon is a
miss). ASA is over answered callers. Unlike Erlang C, n <= A is allowed: callers who hang up
keep the queue finite.
"""

import math

__all__ = ["ErlangA", "agents_needed", "erlang_a"]

_NEGLIGIBLE = 41.4  # e^-41.4 ≈ 1e-18 of the largest weight
_MAX_WAITING = 2_000_000


class ErlangA:
    """The M/M/n+M queue's stationary figures for one staffing (see the module docstring)."""

    __slots__ = ("_busy_mass", "_log_pi", "agents", "aht_s", "arrivals_per_s", "patience_s")

    def __init__(self, arrivals_per_s: float, aht_s: float, patience_s: float, agents: int):
        if not (arrivals_per_s >= 0 and aht_s > 0 and patience_s > 0 and agents >= 1):
            raise ValueError(
                "erlang_a: need arrivals_per_s >= 0, aht_s > 0, patience_s > 0 and agents >= 1;"
                f" got {arrivals_per_s}, {aht_s}, {patience_s}, {agents}")
        self.agents, self.arrivals_per_s = agents, arrivals_per_s
        self.aht_s, self.patience_s = aht_s, patience_s
        self._log_pi = self._stationary() if arrivals_per_s > 0 else [0.0]
        self._busy_mass = sum(math.exp(v) for v in self._log_pi[agents:])

    def _stationary(self) -> list[float]:
        lam, mu, theta, n = self.arrivals_per_s, 1.0 / self.aht_s, 1.0 / self.patience_s, \
            self.agents
        log_a = math.log(lam / mu)
        logs = [k * log_a - math.lgamma(k + 1) for k in range(n + 1)]
        top = max(logs)
        q = 0
        while q < _MAX_WAITING:
            q += 1
            logs.append(logs[-1] + math.log(lam / (n * mu + q * theta)))
            top = max(top, logs[-1])
            if n * mu + q * theta > lam and logs[-1] < top - _NEGLIGIBLE:
                break
        total = top + math.log(sum(math.exp(v - top) for v in logs))
        return [v - total for v in logs]

    def _waiting(self):
        """(q, π_{n+q}) for every q kept."""
        n = self.agents
        return ((j - n, math.exp(v)) for j, v in enumerate(self._log_pi) if j >= n)

    @property
    def probability_of_waiting(self) -> float:
        return self._busy_mass if self.arrivals_per_s > 0 else 0.0

    @property
    def mean_queue(self) -> float:
        return sum(q * p for q, p in self._waiting()) if self.arrivals_per_s > 0 else 0.0

    @property
    def probability_of_abandon(self) -> float:
        if self.arrivals_per_s == 0:
            return 0.0
        return self.mean_queue / self.patience_s / self.arrivals_per_s

    @property
    def average_wait(self) -> float:
        """Mean time in queue over every caller, answered or not (Little's law)."""
        return self.mean_queue / self.arrivals_per_s if self.arrivals_per_s > 0 else 0.0

    @property
    def average_speed_of_answer(self) -> float:
        """Mean wait of the callers who are answered."""
        if self.arrivals_per_s == 0:
            return 0.0
        n_mu, theta = self.agents / self.aht_s, 1.0 / self.patience_s
        alpha = n_mu / theta
        total, stages = 0.0, 0.0
        for q, p in self._waiting():
            stages += 1.0 / (n_mu + (q + 1) * theta)
            total += p * alpha / (alpha + q + 1) * stages
        served = 1.0 - self.probability_of_abandon
        return total / served if served > 0 else math.inf

    def service_level(self, target_s: float) -> float:
        """Share of offered callers answered within target_s (abandons count as misses)."""
        if target_s < 0:
            raise ValueError(f"service_level: target_s {target_s} must be >= 0")
        if self.arrivals_per_s == 0:
            return 1.0
        met = 1.0 - self._busy_mass
        if target_s == 0:
            return met
        n_mu, theta = self.agents / self.aht_s, 1.0 / self.patience_s
        alpha = n_mu / theta
        log_x = -theta * target_s
        log_1mx = math.log(-math.expm1(log_x))
        # I_x(α+1, q+1) as a running negative binomial sum over k = 0..q.
        log_term = (alpha + 1) * log_x
        late = 0.0
        for q, p in self._waiting():
            if q > 0:
                log_term += math.log((alpha + q) / q) + log_1mx
            late += math.exp(log_term)
            met += p * alpha / (alpha + q + 1) * max(0.0, 1.0 - late)
        return min(met, 1.0)


def erlang_a(arrivals_per_s: float, aht_s: float, patience_s: float, agents: int) -> ErlangA:
    return ErlangA(arrivals_per_s, aht_s, patience_s, agents)


def agents_needed(arrivals_per_s: float, aht_s: float, patience_s: float, target_pct: float,
                  target_s: float, max_abandon_pct: float | None = None) -> int:
    """The fewest agents that answer target_pct % of offered calls within target_s (and keep
    abandons at or under max_abandon_pct %, when given). Both figures improve with every
    agent added, so a doubling then bisection search finds it."""
    if not 0 < target_pct < 100:
        raise ValueError(f"agents_needed: target_pct {target_pct} must be between 0 and 100")
    if max_abandon_pct is not None and not 0 < max_abandon_pct < 100:
        raise ValueError(f"agents_needed: max_abandon_pct {max_abandon_pct} must be between 0 "
                         "and 100")
    if arrivals_per_s == 0:
        return 0

    def enough(n: int) -> bool:
        queue = ErlangA(arrivals_per_s, aht_s, patience_s, n)
        return queue.service_level(target_s) >= target_pct / 100 and (
            max_abandon_pct is None or queue.probability_of_abandon <= max_abandon_pct / 100)

    low, high = 0, 1
    while not enough(high):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle, high)
    return high
