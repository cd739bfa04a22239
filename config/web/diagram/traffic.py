"""The menus' funnel drawn on the flow diagram: edge widths and node colours for ``flow_svg``.

    traffic = Traffic(report["funnel"], t)
    flow_svg(raw_flow, t, traffic=traffic)

An edge is drawn wider the more visits went along it: class ``traffic-w0`` (none) to
``traffic-w5`` (the busiest edge of the diagram), by the square root of its share so that
small flows still show; app.css gives each class its width (the page's CSP allows no inline
style, and a CSS rule would override a presentation attribute). A node gets the
class ``traffic`` and, by the share of its visits that ended there in a hang-up or an
escalation, ``hangup-mid`` (10 % or more) or ``hangup-high`` (25 % or more) and
``escalation-mid`` / ``escalation-high`` with the same limits (our choice: a menu that loses
one caller in ten deserves a look); its tooltip carries the figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["HIGH", "MID", "WIDTHS", "NodeMarks", "Traffic"]

MID, HIGH = 0.10, 0.25
WIDTHS = 5


@dataclass(frozen=True, slots=True)
class NodeMarks:
    classes: tuple[str, ...]
    lines: tuple[str, ...]   # the tooltip's lines


def _level(rate: float | None) -> str:
    if rate is None or rate < MID:
        return ""
    return "high" if rate >= HIGH else "mid"


class Traffic:
    def __init__(self, funnel: Mapping[str, Any], t: Callable[..., str]):
        self._edges = {(e["source"], e["target"]): e["visits"] for e in funnel["edges"]}
        self._busiest = max(self._edges.values(), default=0)
        self._nodes = {n["node"]: n for n in funnel["nodes"]}
        self._t = t

    def edge_class(self, source: str, target: str) -> str:
        visits = self._edges.get((source, target), 0)
        if not visits:
            return "traffic-w0"
        return f"traffic-w{max(1, math.ceil(WIDTHS * math.sqrt(visits / self._busiest)))}"

    def visits(self, source: str, target: str) -> int:
        return self._edges.get((source, target), 0)

    def node(self, name: str) -> NodeMarks:
        row = self._nodes.get(name)
        if row is None:
            return NodeMarks(("traffic", "no-traffic"), (self._t("menus.no_visits"),))
        classes = ["traffic"]
        for what, rate in (("hangup", row["hang_up_rate"]),
                           ("escalation", row["escalation_rate"])):
            level = _level(rate)
            if level:
                classes.append(f"{what}-{level}")
        t = self._t
        lines = (t("menus.tip_entered", visits=row["entered"], calls=row["calls"]),
                 t("menus.tip_rates", hangup=_percent(row["hang_up_rate"]),
                   escalation=_percent(row["escalation_rate"])),
                 t("menus.tip_time", median=row["median_s"], p90=row["p90_s"]))
        return NodeMarks(tuple(classes), lines)


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f} %"
