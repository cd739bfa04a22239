"""Agents needed per interval: Erlang C and Erlang A, then shrinkage.

For each 15-minute interval of a day's forecast: λ = calls / 900 s, the interval's handle
time and the queue's patience give the fewest agents *on the phones* that answer the queue's
target (its default class's ``service_level_pct`` % within ``service_level_s``): by Erlang C
(nobody hangs up: the safe side) and by Erlang A (M/M/n+M with the patience the records show:
what callers really do). Agents on the phones are fewer than agents on shift: breaks and
not-ready time take a share, the shrinkage, measured from the agent state history as
not-ready time / logged-in time. On shift = ⌈on the phones / (1 − shrinkage)⌉.

Multi-skill queues are staffed one queue at a time, as if each had its own agents: pooling
agents across queues only helps, so the sum over queues is an upper bound of what a pooled
team needs (docs/planning.md has how far off it was against the simulator).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from branchline.acd import erlang
from branchline.acd.erlang_a import ErlangA
from branchline.acd.erlang_a import agents_needed as erlang_a_needed
from branchline.acd.planning.forecast import DayForecast
from branchline.acd.planning.history import INTERVAL_S

__all__ = ["IntervalStaffing", "Prediction", "on_shift", "predict", "shrinkage", "staff_day"]


@dataclass(frozen=True, slots=True)
class IntervalStaffing:
    slot: int
    calls: float
    aht_s: float
    patience_s: float
    erlangs: float
    erlang_c: int  # agents on the phones by Erlang C
    erlang_a: int  # agents on the phones by Erlang A
    on_shift: int  # Erlang A's agents grossed up for shrinkage


@dataclass(frozen=True, slots=True)
class Prediction:
    """Erlang's figures for a given number of agents on the phones in one interval."""

    agents: int
    service_level_c: float | None  # None: no call, or too few agents for Erlang C to hold
    service_level_a: float | None
    abandon_a: float | None


def shrinkage(state_seconds: Iterable[Mapping[str, float]]) -> float:
    """Not-ready time / logged-in time over agent-intervals of ``{state: seconds}``."""
    logged_in = not_ready = 0.0
    for states in state_seconds:
        logged_in += sum(s for name, s in states.items() if name != "logged_out")
        not_ready += states.get("not_ready", 0.0)
    return not_ready / logged_in if logged_in else 0.0


def on_shift(on_phones: int, shrink: float) -> int:
    if not 0 <= shrink < 1:
        raise ValueError(f"on_shift: shrinkage {shrink} must be in [0, 1)")
    return math.ceil(on_phones / (1 - shrink) - 1e-9)


def staff_day(forecast: DayForecast, target_pct: float, target_s: float,
              shrink: float) -> tuple[IntervalStaffing, ...]:
    rows = []
    for slot, (calls, aht) in enumerate(zip(forecast.calls, forecast.aht_s, strict=True)):
        rate = calls / INTERVAL_S
        if calls <= 0:
            rows.append(IntervalStaffing(slot, 0.0, aht, forecast.patience_s, 0.0, 0, 0, 0))
            continue
        needed_c = erlang.agents_needed(rate, aht, target_pct, target_s)
        needed_a = erlang_a_needed(rate, aht, forecast.patience_s, target_pct, target_s)
        rows.append(IntervalStaffing(slot, calls, aht, forecast.patience_s, rate * aht,
                                     needed_c, needed_a, on_shift(needed_a, shrink)))
    return tuple(rows)


def predict(calls: float, aht_s: float, patience_s: float, agents: int,
            target_s: float) -> Prediction:
    rate = calls / INTERVAL_S
    if calls <= 0:
        return Prediction(agents, None, None, None)
    if agents < 1:
        return Prediction(agents, 0.0, 0.0, 1.0)
    queue = ErlangA(rate, aht_s, patience_s, agents)
    return Prediction(agents, erlang.service_level(rate, aht_s, agents, target_s),
                      queue.service_level(target_s), queue.probability_of_abandon)
