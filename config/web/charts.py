"""Small inline SVG charts for the reports page: lines over intervals, bars per queue or agent.

    line_chart(labels, {"offered": [...], "answered": [...]}, title="...", unit="calls")
    bar_chart({"general": 0.82, "vip": 0.95}, title="...", unit="%", target=0.8)

Both return ``Markup`` (escaped labels, numbers formatted here) sized by a viewBox so CSS scales
them; each series gets a CSS class ``s0``, ``s1``, ... so the colours live in app.css. A chart
has an SVG ``<title>`` and a ``<desc>`` listing the values, so a screen reader (and a test) can
read what is drawn. Missing values (None) leave a gap in a line. No data draws an empty frame
with the words ``empty``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

from markupsafe import Markup

__all__ = ["bar_chart", "line_chart", "nice_ceiling"]

W, H = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 30, 42


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above ``value`` (axis top)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value - 1e-12:
            return step * power
    return 10 * power


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value * 100:.0f}%"
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{text} {unit}".rstrip()


def _frame(title: str, desc: str, top: float, unit: str, empty: str) -> list[str]:
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
             f'viewBox="0 0 {W} {H}" preserveAspectRatio="xMidYMid meet">',
             f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>",
             f'<text class="chart-title" x="{LEFT}" y="18">{escape(title)}</text>']
    for i in range(5):
        value = top * i / 4
        y = H - BOTTOM - (H - TOP - BOTTOM) * i / 4
        parts.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" '
                     f'y2="{y:.1f}"/><text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{escape(_fmt(value, unit))}</text>')
    if empty:
        parts.append(f'<text class="empty" x="{W / 2}" y="{H / 2}" text-anchor="middle">'
                     f"{escape(empty)}</text>")
    return parts


def line_chart(labels: Sequence[str], series: Mapping[str, Sequence[float | None]], *,
               title: str, unit: str = "", empty: str = "no data") -> Markup:
    """One line per series over ``labels`` (interval starts, as the reader should see them)."""
    for name, values in series.items():
        if len(values) != len(labels):
            raise ValueError(f"line_chart: series {name!r} has {len(values)} values for "
                             f"{len(labels)} labels; give one value (or None) per label")
    known = [v for values in series.values() for v in values if v is not None]
    top = nice_ceiling(max(known, default=0.0))
    desc = "; ".join(f"{name}: " + ", ".join("-" if v is None else _fmt(v, unit)
                                             for v in values)
                     for name, values in series.items())
    parts = _frame(title, desc, top, unit, "" if known else empty)
    n = len(labels)
    span = W - LEFT - RIGHT

    def x(i: int) -> float:
        return LEFT + (span * (i + 0.5) / n if n else 0)

    def y(v: float) -> float:
        return H - BOTTOM - (H - TOP - BOTTOM) * v / top

    every = max(1, math.ceil(n / 8))
    for i, label in enumerate(labels):
        if i % every == 0:
            parts.append(f'<text class="axis" x="{x(i):.1f}" y="{H - BOTTOM + 16}" '
                         f'text-anchor="middle">{escape(label)}</text>')
    for k, (name, values) in enumerate(series.items()):
        runs: list[list[str]] = [[]]
        for i, v in enumerate(values):
            if v is None:
                runs.append([])
            else:
                runs[-1].append(f"{x(i):.1f},{y(v):.1f}")
        for run in runs:
            if len(run) > 1:
                parts.append(f'<polyline class="line s{k}" points="{" ".join(run)}"/>')
            for point in run:
                px, py = point.split(",")
                parts.append(f'<circle class="dot s{k}" cx="{px}" cy="{py}" r="2.5"/>')
        lx = LEFT + 130 * k
        parts.append(f'<rect class="key s{k}" x="{lx}" y="{H - 16}" width="12" height="8"/>'
                     f'<text class="axis" x="{lx + 16}" y="{H - 8}">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(values: Mapping[str, float | None], *, title: str, unit: str = "",
              target: float | None = None, empty: str = "no data") -> Markup:
    """One bar per name; ``target`` draws a dashed line across (a service-level goal)."""
    known = [v for v in values.values() if v is not None]
    top = nice_ceiling(max([*known, target or 0.0], default=0.0))
    desc = "; ".join(f"{name}: " + ("-" if v is None else _fmt(v, unit))
                     for name, v in values.items())
    if target is not None:
        desc += f"; target {_fmt(target, unit)}"
    parts = _frame(title, desc, top, unit, "" if known else empty)
    n = max(len(values), 1)
    slot = (W - LEFT - RIGHT) / n
    bar = min(56.0, slot * 0.6)
    for i, (name, v) in enumerate(values.items()):
        cx = LEFT + slot * (i + 0.5)
        if v is not None:
            h = (H - TOP - BOTTOM) * v / top
            parts.append(f'<rect class="bar s0" x="{cx - bar / 2:.1f}" '
                         f'y="{H - BOTTOM - h:.1f}" width="{bar:.1f}" height="{h:.1f}"/>'
                         f'<text class="value" x="{cx:.1f}" y="{H - BOTTOM - h - 4:.1f}" '
                         f'text-anchor="middle">{escape(_fmt(v, unit))}</text>')
        parts.append(f'<text class="axis" x="{cx:.1f}" y="{H - BOTTOM + 16}" '
                     f'text-anchor="middle">{escape(name)}</text>')
    if target is not None:
        ty = H - BOTTOM - (H - TOP - BOTTOM) * target / top
        parts.append(f'<line class="target" x1="{LEFT}" y1="{ty:.1f}" x2="{W - RIGHT}" '
                     f'y2="{ty:.1f}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
