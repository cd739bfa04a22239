"""How legible a drawn flow diagram is, measured on the SVG markup the page gets.

    drawing = Drawing.of(svg)
    crossings(drawing)         # points where two edges cross, away from any node
    label_overlaps(drawing)    # ["label '1' on label '2'", "label 'ok' on node hours", ...]

It reads what is drawn, not the layout's numbers: node boxes (``rect.box`` inside an element
with ``data-node``), edges (``path.edge``: "M x,y C" then cubic pieces of three points) and
label boxes (the ``rect`` of ``g.edge-label``). Each cubic piece is cut into ``STEPS`` straight
segments. Two edges cross where their segments properly intersect; a meeting inside a node box
(grown by ``NODE_SLACK``) is where edges leave or enter that node, not a crossing, and points
of one pair of edges closer than ``SAME_POINT`` are one crossing. Labels overlap when their
boxes share area with another label's box or a node's box; touching edges do not count.
"""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from itertools import combinations, pairwise

STEPS = 16
CELL = 32.0
NODE_SLACK = 3.0
SAME_POINT = 4.0
SVG = "{http://www.w3.org/2000/svg}"

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    def overlaps(self, other: Box) -> bool:
        return (min(self.x + self.w, other.x + other.w) - max(self.x, other.x) > 0
                and min(self.y + self.h, other.y + other.h) - max(self.y, other.y) > 0)

    def holds(self, p: Point, slack: float = 0.0) -> bool:
        return (self.x - slack <= p[0] <= self.x + self.w + slack
                and self.y - slack <= p[1] <= self.y + self.h + slack)


@dataclass(frozen=True, slots=True)
class Drawing:
    nodes: dict[str, Box]
    edges: list[list[Point]]            # each line drawn, as a polyline
    labels: list[tuple[str, Box]]

    @classmethod
    def of(cls, svg: str) -> Drawing:
        root = ET.fromstring(svg)
        nodes, edges, labels, seen = {}, [], [], set()
        for el in root.iter():
            name = el.get("data-node")
            if name is not None:
                nodes[name] = _box(el.find(f"{SVG}rect[@class='box']"))
            classes = (el.get("class") or "").split()
            if el.tag == f"{SVG}path" and "edge" in classes:
                controls = _controls(el.get("d"))
                # Two edges drawn on one route (one each way) are one line to the eye.
                if controls not in seen and controls[::-1] not in seen:
                    seen.add(controls)
                    edges.append(_polyline(controls))
            if el.tag == f"{SVG}g" and "edge-label" in classes:
                labels.append((el.find(f"{SVG}text").text or "", _box(el.find(f"{SVG}rect"))))
        return cls(nodes, edges, labels)


def crossings(drawing: Drawing) -> int:
    total = 0
    for points in _meetings(drawing.edges).values():
        found: list[Point] = []
        for p in points:
            if any(box.holds(p, NODE_SLACK) for box in drawing.nodes.values()):
                continue
            if all(abs(p[0] - q[0]) + abs(p[1] - q[1]) > SAME_POINT for q in found):
                found.append(p)
        total += len(found)
    return total


def label_overlaps(drawing: Drawing) -> list[str]:
    found = [f"label {a!r} on label {b!r}"
             for (a, box_a), (b, box_b) in combinations(drawing.labels, 2)
             if box_a.overlaps(box_b)]
    found += [f"label {text!r} on node {name}" for text, box in drawing.labels
              for name, node in drawing.nodes.items() if box.overlaps(node)]
    return found


def _box(rect: ET.Element | None) -> Box:
    assert rect is not None, "a node or label without its rect"
    return Box(*(float(rect.get(k)) for k in ("x", "y", "width", "height")))


def _controls(d: str | None) -> tuple[Point, ...]:
    """The start and the cubic pieces' points of an edge's path."""
    match = re.fullmatch(r"\s*M\s*([^C]+)C(.*)", d or "", re.S)
    assert match, f"an edge path this measure cannot read: {d!r}"
    numbers = _numbers(match.group(1)) + _numbers(match.group(2))
    assert len(numbers) >= 8 and (len(numbers) - 2) % 6 == 0, f"not M + cubic pieces: {d!r}"
    return tuple(zip(numbers[::2], numbers[1::2], strict=True))


def _polyline(controls: tuple[Point, ...]) -> list[Point]:
    points = [controls[0]]
    for i in range(1, len(controls), 3):
        p0 = points[-1]
        p1, p2, p3 = controls[i:i + 3]
        for step in range(1, STEPS + 1):
            s = step / STEPS
            u = 1 - s
            points.append((u ** 3 * p0[0] + 3 * u * u * s * p1[0] + 3 * u * s * s * p2[0]
                           + s ** 3 * p3[0],
                           u ** 3 * p0[1] + 3 * u * u * s * p1[1] + 3 * u * s * s * p2[1]
                           + s ** 3 * p3[1]))
    return points


def _numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", text)]


def _meetings(edges: list[list[Point]]) -> dict[tuple[int, int], list[Point]]:
    """Every point where segments of two different edges cross, by pair of edges; segments
    are bucketed on a grid of ``CELL`` px so only near ones are compared."""
    cells: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for e, points in enumerate(edges):
        for i, (p, q) in enumerate(pairwise(points)):
            for cx in range(int(min(p[0], q[0]) // CELL), int(max(p[0], q[0]) // CELL) + 1):
                for cy in range(int(min(p[1], q[1]) // CELL), int(max(p[1], q[1]) // CELL) + 1):
                    cells.setdefault((cx, cy), []).append((e, i))
    seen = set()
    found: dict[tuple[int, int], list[Point]] = {}
    for members in cells.values():
        for (e1, i1), (e2, i2) in combinations(members, 2):
            if e1 == e2 or (e1, i1, e2, i2) in seen:
                continue
            seen.add((e1, i1, e2, i2))
            a, b = edges[e1], edges[e2]
            hit = _intersection(a[i1], a[i1 + 1], b[i2], b[i2 + 1])
            if hit is not None:
                found.setdefault((min(e1, e2), max(e1, e2)), []).append(hit)
    return found


def _intersection(p: Point, q: Point, r: Point, s: Point) -> Point | None:
    """Where segments pq and rs properly cross, or None (parallel ones never do)."""
    dx1, dy1 = q[0] - p[0], q[1] - p[1]
    dx2, dy2 = s[0] - r[0], s[1] - r[1]
    denominator = dx1 * dy2 - dy1 * dx2
    if denominator == 0:
        return None
    t = ((r[0] - p[0]) * dy2 - (r[1] - p[1]) * dx2) / denominator
    u = ((r[0] - p[0]) * dy1 - (r[1] - p[1]) * dx1) / denominator
    if 0 < t < 1 and 0 < u < 1:
        return p[0] + t * dx1, p[1] + t * dy1
    return None


def dense_flow(seed: int, menus: int = 6, leaves: int = 14) -> dict:
    """A flow denser than any branch's, as the draft's YAML would hold it: every menu has six
    keys to random menus, plays and bank host steps, 9 back to the start, # to itself and an
    escalation to a person; host steps have three outcomes; plays go on to a random menu."""
    rnd = random.Random(seed)
    menu_names = [f"menu_{i}" for i in range(menus)]
    leaf_names = [f"leaf_{i}" for i in range(leaves)]
    hosts = [f"host_{i}" for i in range(3)]
    nodes: dict[str, dict] = {
        "start": {"kind": "menu", "prompt": "p",
                  "options": {"1": "menu_0", "2": "menu_1", "3": "host_0"}},
        "agent": {"kind": "queue", "queue": "general"}}
    for name in menu_names:
        options = {str(k): rnd.choice(menu_names + leaf_names + hosts) for k in range(1, 7)}
        nodes[name] = {"kind": "menu", "prompt": "p", "escalate_to": "agent",
                       "options": {**options, "9": "start", "#": name}}
    for name in hosts:
        nodes[name] = {"kind": "host", "endpoint": "x", "on_ok": rnd.choice(leaf_names),
                       "on_error": rnd.choice(leaf_names), "on_timeout": "agent"}
    for name in leaf_names:
        nodes[name] = {"kind": "play", "items": ["p"], "next": rnd.choice([*menu_names, "agent"])}
    return {"flow": "dense", "start": "start", "nodes": nodes}
